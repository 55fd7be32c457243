/**
 * The course's shape and parameter formulas as worked examples, with the numbers filled in:
 *
 *   output size   same:  ceil(H / S)            valid: ceil((H - F + 1) / S)
 *                 with dilation D the window is F_eff = (F - 1) * D + 1 wide, and F_eff replaces F
 *   parameters    Conv2D K*F*F*D_in + K         DepthwiseConv2D F*F*D_in*M + D_in*M         pooling 0
 *
 * The numbers come from geometry.ts (conv2dInfo / pool2dInfo), the code the layers and kernels use; the
 * formula text is evaluated separately and checked against it, so a worked example can never disagree
 * with what the library computes.
 */
import { Padding, conv2dInfo, pool2dInfo } from '../backend/geometry.js';
import { thousands as n } from './format.js';

export interface ConvDimsArgs {
  /** [H, W, D_in]. */
  input: readonly [number, number, number];
  /** K, the number of filters (ignored when depthwise). */
  filters?: number;
  kernel: readonly [number, number];
  strides?: readonly [number, number];
  padding?: Padding;
  dilation?: readonly [number, number];
  useBias?: boolean;
  /** DepthwiseConv2D instead of Conv2D: every input channel gets depthMultiplier filters of its own. */
  depthwise?: boolean;
  depthMultiplier?: number;
}

export interface PoolDimsArgs {
  input: readonly [number, number, number];
  poolSize: readonly [number, number];
  /** Defaults to poolSize (Keras). */
  strides?: readonly [number, number];
  padding?: Padding;
}

export interface Dims {
  /** Keras's output shape, batch null: [null, H_out, W_out, D_out]. */
  outputShape: [null, number, number, number];
  params: number;
  /** The worked example, one line per step. */
  steps: string[];
}


/** Output size along one axis as the course writes it, checked against geometry's answer. */
function axisSteps(axis: 'height' | 'width', size: number, k: number, s: number, d: number, padding: Padding, out: number): string[] {
  const H = axis === 'height' ? 'H' : 'W';
  const lines: string[] = [];
  const kEff = (k - 1) * d + 1;
  const F = d > 1 ? 'F_eff' : 'F';
  if (d > 1) lines.push(`  F_eff = (F - 1) * D + 1 = (${k} - 1) * ${d} + 1 = ${kEff}`);
  let value: number;
  if (padding === 'same') {
    value = Math.ceil(size / s);
    lines.push(`  ${axis.padEnd(6)} (same):  ceil(${H} / S) = ceil(${size} / ${s}) = ${value}`);
  } else {
    const inner = size - kEff + 1;
    value = Math.max(0, Math.ceil(inner / s));
    lines.push(`  ${axis.padEnd(6)} (valid): ceil((${H} - ${F} + 1) / S) = ceil((${size} - ${kEff} + 1) / ${s}) = ceil(${inner} / ${s}) = ${value}`);
  }
  if (value !== out) throw new Error(`dims: internal disagreement on the ${axis}: formula ${value}, geometry.ts ${out}`);
  return lines;
}

function checkInput(input: readonly number[]): void {
  if (input.length !== 3 || !input.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`dims: argument 'input' expected H,W,C positive integers, received ${JSON.stringify(input)}`);
  }
}

function windowLine(kind: string, kernel: readonly [number, number], strides: readonly [number, number], padding: Padding, dilation?: readonly [number, number]): string {
  const d = dilation && (dilation[0] > 1 || dilation[1] > 1) ? `, dilation ${dilation.join('x')}` : '';
  return `${kind} ${kernel.join("x")}, strides ${strides[0] === strides[1] ? strides[0] : strides.join("x")}, padding '${padding}'${d}`;
}

/** Conv2D or DepthwiseConv2D: output shape and parameters, as a worked example. */
export function convDims(a: ConvDimsArgs): Dims {
  checkInput(a.input);
  const [h, w, c] = a.input;
  const strides = a.strides ?? [1, 1];
  const dilation = a.dilation ?? [1, 1];
  const padding = a.padding ?? 'valid';
  const useBias = a.useBias ?? true;
  const m = a.depthMultiplier ?? 1;
  if (!a.depthwise && (a.filters === undefined || !Number.isInteger(a.filters) || a.filters <= 0)) {
    throw new Error(`dims: argument 'filters' expected a positive integer, received ${String(a.filters)}`);
  }
  if (!Number.isInteger(m) || m <= 0) throw new Error(`dims: argument 'depthMultiplier' expected a positive integer, received ${m}`);
  const g = conv2dInfo({
    inputShape: [1, h, w, c],
    kernelSize: [a.kernel[0], a.kernel[1]],
    strides: [strides[0], strides[1]],
    dilation: [dilation[0], dilation[1]],
    padding,
    ...(a.depthwise ? { depthMultiplier: m } : { filters: a.filters }),
    who: 'dims',
  });
  const [kh, kw] = a.kernel;
  const title = a.depthwise
    ? `DepthwiseConv2D: input ${h}x${w}x${c}, depth multiplier ${m}, ${windowLine('kernel', a.kernel, strides, padding, dilation)}`
    : `Conv2D: input ${h}x${w}x${c}, ${g.outC} filters (K), ${windowLine('kernel', a.kernel, strides, padding, dilation)}`;
  const steps = [title, '', 'Output shape:'];
  steps.push(...axisSteps('height', h, kh, strides[0], dilation[0], padding, g.oh));
  const sameWindow = kh === kw && dilation[0] === dilation[1];
  steps.push(...axisSteps('width', w, kw, strides[1], dilation[1], padding, g.ow).filter((l) => !(sameWindow && l.includes('F_eff ='))));
  steps.push(a.depthwise ? `  depth:  D_in * M = ${c} * ${m} = ${g.outC}` : `  depth:  K = ${g.outC}`);
  steps.push(`  = (null, ${g.oh}, ${g.ow}, ${g.outC})`, '', 'Parameters:');
  const fxf = kh === kw ? `F*F` : `F_h*F_w`;
  const kk = `${kh}*${kw}`;
  let params: number;
  if (a.depthwise) {
    const weights = kh * kw * c * m;
    params = weights + (useBias ? c * m : 0);
    steps.push(useBias
      ? `  ${fxf}*D_in*M + D_in*M = ${kk}*${c}*${m} + ${c}*${m} = ${n(weights)} + ${n(c * m)} = ${n(params)}`
      : `  ${fxf}*D_in*M (no bias) = ${kk}*${c}*${m} = ${n(params)}`);
  } else {
    const k = g.outC;
    const weights = kh * kw * c * k;
    params = weights + (useBias ? k : 0);
    steps.push(useBias
      ? `  K*${fxf}*D_in + K = ${k}*${kk}*${c} + ${k} = ${n(weights)} + ${n(k)} = ${n(params)}`
      : `  K*${fxf}*D_in (no bias) = ${k}*${kk}*${c} = ${n(params)}`);
  }
  return { outputShape: [null, g.oh, g.ow, g.outC], params, steps };
}

/** MaxPooling2D / AveragePooling2D: output shape (depth unchanged) and no parameters. */
export function poolDims(a: PoolDimsArgs): Dims {
  checkInput(a.input);
  const [h, w, c] = a.input;
  const strides = a.strides ?? a.poolSize;
  const padding = a.padding ?? 'valid';
  const g = pool2dInfo({ inputShape: [1, h, w, c], kernelSize: [a.poolSize[0], a.poolSize[1]], strides: [strides[0], strides[1]], padding, who: 'dims' });
  const steps = [`Pooling: input ${h}x${w}x${c}, ${windowLine('pool', a.poolSize, strides, padding)}`, '', 'Output shape:'];
  steps.push(...axisSteps('height', h, a.poolSize[0], strides[0], 1, padding, g.oh));
  steps.push(...axisSteps('width', w, a.poolSize[1], strides[1], 1, padding, g.ow));
  steps.push(`  depth:  D_in = ${c} (pooling works on each channel alone)`, `  = (null, ${g.oh}, ${g.ow}, ${c})`, '', 'Parameters:', '  0 (pooling has no weights)');
  return { outputShape: [null, g.oh, g.ow, c], params: 0, steps };
}
