/**
 * What one layer (or one anonymous op inside a composite block) costs and how it grows the receptive field.
 *
 * Conventions (docs/maths.md says the same, with examples):
 *   MACs        multiply-accumulates of Conv2D, DepthwiseConv2D and Dense, per image:
 *                 Conv2D  oh*ow*K * kh*kw*D_in     DepthwiseConv2D  oh*ow*D_in*M * kh*kw     Dense  rows*in*units
 *   FLOPs       2 * MACs (a multiply and an add), conv/dense only; bias adds and activations are not FLOPs here,
 *               as in the papers' counts (ResNet, MobileNet) and the benchmark.
 *   elementwise everything else, counted apart as "elementwise ops" per image: 1 per output value for a bias add,
 *               an activation, each extra Add input; 3 for softmax (exp, sum, divide); 2 for BatchNormalization
 *               (inference, folded to x*a + b); kh*kw per output for pooling; h*w*c for global pooling;
 *               0 for Concatenate, Flatten, Reshape, ZeroPadding2D, Dropout and Input (data movement only).
 *   receptive field (per axis, Araujo et al. 2019): a window of kernel k, dilation d, stride s maps
 *               r_out = r_in + ((k - 1) * d) * j_in,   j_out = j_in * s   (j: the jump, the effective stride);
 *               global pooling and Flatten of an h x w map act as a window of k = s = h; elementwise layers
 *               keep r and j; at a join (Add, Concatenate) r and j are the maximum over the inputs.
 */
import { conv2dInfo, pool2dInfo } from '../backend/geometry.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { Activation, Dense, Dropout, Flatten, ReLU, Reshape } from '../layers/core.js';
import { InputLayer } from '../layers/input.js';
import type { Layer } from '../layers/layer.js';
import { Add, Concatenate, ZeroPadding2D } from '../layers/merge.js';
import { BatchNormalization } from '../layers/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.js';

export interface ReceptiveField {
  /** Receptive field [height, width] in input pixels. */
  size: [number, number];
  /** Jump [height, width]: input pixels between neighbouring outputs (the effective stride). */
  jump: [number, number];
}

/** How a layer maps its inputs' receptive fields to its output's. */
export type RfRule =
  | { kind: 'window'; k: [number, number]; s: [number, number]; d: [number, number] }
  | { kind: 'global' }
  | { kind: 'neutral' }
  | { kind: 'unknown' };

export interface Cost {
  macs: number;
  elementwiseOps: number;
  /** Conv2D / DepthwiseConv2D / Dense: their MACs repeat in backward (backprop-input, backprop-filter). */
  weighted: boolean;
  rf: RfRule;
  /** A few words for tables and the diagram: '3x3 /2 same, 64'. */
  detail: string;
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const pairText = (p: readonly number[]): string => (p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`);
const windowText = (k: readonly number[], s: readonly number[], padding: string): string => `${k[0]}x${k[1]}${s[0] > 1 || s[1] > 1 ? ` /${pairText(s)}` : ''} ${padding}`;

/**
 * Cost of a layer without sub-layers, per image. Shapes have no batch axis: [h, w, c] or [features].
 * Convolution geometry is asked of geometry.ts, never recomputed here.
 */
export function layerCost(layer: Layer, inputs: readonly (readonly number[])[], output: readonly number[]): Cost {
  const out = prod(output);
  const x = inputs[0] ?? [];
  const neutral: RfRule = { kind: 'neutral' };
  if (layer instanceof Conv2D || layer instanceof DepthwiseConv2D) {
    const depthwise = layer instanceof DepthwiseConv2D;
    const g = conv2dInfo({
      inputShape: [1, x[0], x[1], x[2]],
      kernelSize: layer.kernelSize,
      strides: layer.strides,
      dilation: layer.dilationRate,
      padding: layer.padding,
      ...(depthwise ? { depthMultiplier: layer.depthMultiplier } : { filters: layer.filters }),
      who: layer.who,
    });
    const perOutput = g.kh * g.kw * (depthwise ? 1 : g.c);
    const act = layer.activation === 'linear' ? 0 : layer.activation === 'softmax' ? 3 : 1;
    const dil = layer.dilationRate[0] > 1 || layer.dilationRate[1] > 1 ? ` d${pairText(layer.dilationRate)}` : '';
    return {
      macs: g.oh * g.ow * g.outC * perOutput,
      elementwiseOps: ((layer.useBias ? 1 : 0) + act) * g.oh * g.ow * g.outC,
      weighted: true,
      rf: { kind: 'window', k: [g.kh, g.kw], s: [g.sh, g.sw], d: [g.dh, g.dw] },
      detail: `${windowText([g.kh, g.kw], [g.sh, g.sw], layer.padding)}${dil}, ${depthwise ? `x${layer.depthMultiplier}` : g.outC}${act ? `, ${layer.activation}` : ''}`,
    };
  }
  if (layer instanceof Dense) {
    const act = layer.activation === 'linear' ? 0 : layer.activation === 'softmax' ? 3 : 1;
    return {
      macs: prod(x) * layer.units,
      elementwiseOps: ((layer.useBias ? 1 : 0) + act) * out,
      weighted: true,
      rf: neutral,
      detail: `${layer.units}${act ? `, ${layer.activation}` : ''}`,
    };
  }
  if (layer instanceof MaxPooling2D || layer instanceof AveragePooling2D) {
    const g = pool2dInfo({ inputShape: [1, x[0], x[1], x[2]], kernelSize: layer.poolSize, strides: layer.strides, padding: layer.padding, who: layer.who });
    return { macs: 0, elementwiseOps: g.kh * g.kw * out, weighted: false, rf: { kind: 'window', k: [g.kh, g.kw], s: [g.sh, g.sw], d: [1, 1] }, detail: windowText([g.kh, g.kw], [g.sh, g.sw], layer.padding) };
  }
  if (layer instanceof GlobalAveragePooling2D || layer instanceof GlobalMaxPooling2D) return { macs: 0, elementwiseOps: prod(x), weighted: false, rf: { kind: 'global' }, detail: 'global' };
  if (layer instanceof BatchNormalization) return { macs: 0, elementwiseOps: 2 * out, weighted: false, rf: neutral, detail: '' };
  if (layer instanceof Activation) return { macs: 0, elementwiseOps: (layer.activation === 'softmax' ? 3 : layer.activation === 'linear' ? 0 : 1) * out, weighted: false, rf: neutral, detail: layer.activation };
  if (layer instanceof ReLU) return { macs: 0, elementwiseOps: out, weighted: false, rf: neutral, detail: layer.maxValue === null ? 'relu' : `relu${layer.maxValue}` };
  if (layer instanceof Add) return { macs: 0, elementwiseOps: (inputs.length - 1) * out, weighted: false, rf: neutral, detail: `${inputs.length} inputs` };
  if (layer instanceof Concatenate) return { macs: 0, elementwiseOps: 0, weighted: false, rf: neutral, detail: `${inputs.length} inputs` };
  if (layer instanceof Dropout) return { macs: 0, elementwiseOps: 0, weighted: false, rf: neutral, detail: `rate ${layer.rate}` };
  if (layer instanceof ZeroPadding2D) {
    const [[t, b], [l, r]] = layer.padding;
    return { macs: 0, elementwiseOps: 0, weighted: false, rf: neutral, detail: t === b && b === l && l === r ? `pad ${t}` : `pad t${t} b${b} l${l} r${r}` };
  }
  if (layer instanceof InputLayer) return { macs: 0, elementwiseOps: 0, weighted: false, rf: neutral, detail: '' };
  if (layer instanceof Flatten || layer instanceof Reshape) {
    // Mixing spatial positions into features: every output sees the whole map, like a global window.
    const mixes = x.length === 3 && (x[0] > 1 || x[1] > 1) && output.length !== 3;
    return { macs: 0, elementwiseOps: 0, weighted: false, rf: mixes ? { kind: 'global' } : neutral, detail: '' };
  }
  return unknownCost(inputs, output, '');
}

/** A layer or op convkit has no rule for: elementwise when it keeps the spatial size, else unknown. */
function unknownCost(inputs: readonly (readonly number[])[], output: readonly number[], detail: string): Cost {
  const x = inputs[0] ?? [];
  const sameGrid = x.length === output.length && (x.length !== 3 || (x[0] === output[0] && x[1] === output[1]));
  return { macs: 0, elementwiseOps: prod(output), weighted: false, rf: sameGrid ? { kind: 'neutral' } : { kind: 'unknown' }, detail };
}

const ACTIVATION_OPS = new Set(['relu', 'relu6', 'sigmoid', 'tanh', 'add', 'sub', 'mul', 'scale', 'biasAdd']);

/**
 * Cost of an op called directly inside a composite block (relu, add, concat, ...), from its operand shapes.
 * `weights` are the shapes of its weight operands (a raw conv2d's kernel). A raw strided op's geometry is not
 * recorded, so its receptive field is unknown (wrap it in a layer to see it).
 */
export function opCost(op: string, inputs: readonly (readonly number[])[], weights: readonly (readonly number[])[], output: readonly number[]): Cost {
  const out = prod(output);
  const base = { macs: 0, weighted: false, detail: op };
  if (op === 'conv2d' || op === 'depthwiseConv2d') {
    const k = weights[0] ?? [1, 1, 1, 1];
    return { ...base, macs: out * k[0] * k[1] * (op === 'conv2d' ? k[2] : 1), weighted: true, elementwiseOps: 0, rf: { kind: 'unknown' } };
  }
  if (op === 'matmul') return { ...base, macs: out * (weights[0]?.[0] ?? inputs[0]?.[inputs[0].length - 1] ?? 0), weighted: true, elementwiseOps: 0, rf: { kind: 'neutral' } };
  // One op per output value for an activation or a bias add; one per extra operand for add/sub/mul.
  if (ACTIVATION_OPS.has(op)) return { ...base, elementwiseOps: out * Math.max(1, inputs.length - 1), rf: { kind: 'neutral' } };
  if (op === 'softmax') return { ...base, elementwiseOps: 3 * out, rf: { kind: 'neutral' } };
  if (op.startsWith('batchNorm')) return { ...base, elementwiseOps: 2 * out, rf: { kind: 'neutral' } };
  if (op === 'globalAvgPool2d' || op === 'globalMaxPool2d') return { ...base, elementwiseOps: prod(inputs[0] ?? []), rf: { kind: 'global' } };
  if (op === 'maxPool2d' || op === 'avgPool2d') return { ...base, elementwiseOps: prod(inputs[0] ?? []), rf: { kind: 'unknown' } };
  if (op === 'concat' || op === 'reshape' || op === 'zeroPad2d') return { ...base, elementwiseOps: 0, rf: { kind: 'neutral' } };
  return unknownCost(inputs, output, op);
}

/** The receptive field after a layer, from its inputs' fields; `input` is the layer's first input shape [h, w, c]. */
export function applyRf(rule: RfRule, inputs: readonly (ReceptiveField | null)[], input: readonly number[]): ReceptiveField | null {
  if (rule.kind === 'unknown' || inputs.length === 0 || inputs.some((r) => r === null)) return null;
  const rs = inputs as ReceptiveField[];
  const size: [number, number] = [Math.max(...rs.map((r) => r.size[0])), Math.max(...rs.map((r) => r.size[1]))];
  const jump: [number, number] = [Math.max(...rs.map((r) => r.jump[0])), Math.max(...rs.map((r) => r.jump[1]))];
  if (rule.kind === 'window') {
    return {
      size: [size[0] + (rule.k[0] - 1) * rule.d[0] * jump[0], size[1] + (rule.k[1] - 1) * rule.d[1] * jump[1]],
      jump: [jump[0] * rule.s[0], jump[1] * rule.s[1]],
    };
  }
  if (rule.kind === 'global' && input.length === 3) {
    const [h, w] = input;
    return { size: [size[0] + (h - 1) * jump[0], size[1] + (w - 1) * jump[1]], jump: [jump[0] * h, jump[1] * w] };
  }
  return { size, jump };
}
