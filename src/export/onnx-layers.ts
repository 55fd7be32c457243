import { conv2dInfo, pool2dInfo } from '../backend/geometry.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { Activation, Dense, Dropout, Flatten, ReLU, Reshape } from '../layers/core.js';
import { InputLayer } from '../layers/input.js';
import type { Layer } from '../layers/layer.js';
import { Add, Concatenate, ZeroPadding2D } from '../layers/merge.js';
import { BatchNormalization } from '../layers/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.js';
import type { ActivationName } from '../ops/activations.js';
import type { SymbolicShape } from '../tensor/shape.js';
import { GraphBuilder, Value, depthwiseToOihw, hwioToOihw, onnxShape } from './onnx-graph.js';

/**
 * Layer -> ONNX (opset 13) converters. Convolution and pooling run channels-first in ONNX, so their inputs
 * are transposed to NCHW once (GraphBuilder.as caches the Transpose) and their outputs stay NCHW until a layer
 * needs Keras's order (Flatten, Reshape, Dense on a rank-4 tensor): consecutive convolutions pay no transposes.
 * Padding is always written out explicitly from convkit's geometry (the `same` rule puts the odd pixel
 * bottom/right), never as ONNX auto_pad.
 */
export interface ConvertContext {
  g: GraphBuilder;
  /** Converts a (sub-)layer applied to `inputs`. */
  convert(layer: Layer, inputs: Value[]): Value;
}

export type OnnxConverter<L extends Layer = Layer> = (ctx: ConvertContext, layer: L, inputs: Value[]) => Value;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LayerClass<L extends Layer> = abstract new (...args: any[]) => L;
const registry = new Map<LayerClass<Layer>, OnnxConverter>();

/**
 * Registers how a layer class exports (by exact class: a subclass that overrides `call` needs its own). Users
 * add converters for their own composite layers this way.
 */
export function registerOnnxConverter<L extends Layer>(cls: LayerClass<L>, convert: OnnxConverter<L>): void {
  registry.set(cls, convert as OnnxConverter);
}

export function converterFor(layer: Layer): OnnxConverter | undefined {
  return registry.get(layer.constructor as LayerClass<Layer>);
}

/** Output value of `layer` for these inputs: Keras shape from the layer itself, ONNX tensor from a node. */
export function emit(
  g: GraphBuilder,
  layer: Layer,
  inputs: Value[],
  layout: Value['layout'],
  opType: string,
  names: string[],
  attrs: Record<string, number | number[] | string> = {},
  shape?: SymbolicShape,
): Value {
  const v: Value = { name: '', shape: shape ?? layer.computeOutputShape(inputs.length === 1 ? inputs[0].shape : inputs.map((i) => [...i.shape])), layout };
  v.name = g.node(opType, names, attrs, layer.name, onnxShape(v));
  return v;
}

const relu6Bounds = new WeakMap<GraphBuilder, [string, string]>();

/** An activation as a node after `v` (none for linear); softmax on the channel axis. */
export function activate(g: GraphBuilder, v: Value, kind: ActivationName, base: string): Value {
  if (kind === 'linear') return v;
  const out: Value = { name: '', shape: v.shape, layout: v.layout };
  if (kind === 'relu6') {
    let bounds = relu6Bounds.get(g);
    if (!bounds) {
      bounds = [g.floats('relu6_min', [0], []), g.floats('relu6_max', [6], [])];
      relu6Bounds.set(g, bounds);
    }
    out.name = g.node('Clip', [v.name, ...bounds], {}, `${base}_relu6`, onnxShape(v));
    return out;
  }
  const op = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' }[kind];
  const attrs: Record<string, number> = kind === 'softmax' ? { axis: v.layout === 'nchw' ? 1 : -1 } : {};
  out.name = g.node(op, [v.name], attrs, `${base}_${kind}`, onnxShape(v));
  return out;
}

function spatial(layer: Layer, x: Value): [number, number, number] {
  const [, h, w, c] = x.shape;
  if (x.shape.length !== 4 || h === null || w === null || c === null) {
    throw new Error(`ONNX export: ${layer.who} needs a rank-4 input of known height, width and channels, received ${JSON.stringify(x.shape)}`);
  }
  return [h, w, c];
}

function convLike(ctx: ConvertContext, l: Conv2D | DepthwiseConv2D, x: Value): Value {
  const g = ctx.g;
  const [h, w, c] = spatial(l, x);
  const [kh, kw] = l.kernelSize;
  const info = conv2dInfo({ inputShape: [1, h, w, c], kernelSize: l.kernelSize, strides: l.strides, dilation: l.dilationRate, padding: l.padding, who: l.who });
  const depthwise = l instanceof DepthwiseConv2D;
  const outC = depthwise ? c * l.depthMultiplier : (l as Conv2D).filters;
  const weight = depthwise
    ? g.floats(`${l.name}/depthwise_kernel`, depthwiseToOihw(l.depthwiseKernel.data, kh, kw, c, l.depthMultiplier), [outC, 1, kh, kw])
    : g.floats(`${l.name}/kernel`, hwioToOihw((l as Conv2D).kernel.data, kh, kw, c, outC), [outC, c, kh, kw]);
  const names = [g.nchw(x).name, weight];
  if (l.bias) names.push(g.floats(`${l.name}/bias`, l.bias.data, [outC]));
  const y = emit(g, l, [x], 'nchw', 'Conv', names, {
    kernel_shape: [kh, kw],
    strides: [...l.strides],
    dilations: [...l.dilationRate],
    pads: [info.padTop, info.padLeft, info.padBottom, info.padRight],
    group: depthwise ? c : 1,
  });
  return activate(g, y, l.activation, l.name);
}

registerOnnxConverter(Conv2D, (ctx, l, [x]) => convLike(ctx, l, x));
registerOnnxConverter(DepthwiseConv2D, (ctx, l, [x]) => convLike(ctx, l, x));

registerOnnxConverter(Dense, ({ g }, l, [x]) => {
  const [features, units] = l.kernel.shape;
  const kernel = g.floats(`${l.name}/kernel`, l.kernel.data, [features, units]);
  const xk = g.keras(x);
  let y: Value;
  if (x.shape.length === 2) {
    y = emit(g, l, [x], 'keras', 'Gemm', l.bias ? [xk.name, kernel, g.floats(`${l.name}/bias`, l.bias.data, [units])] : [xk.name, kernel]);
  } else {
    // Dense on the last axis of a higher-rank tensor: MatMul broadcasts over the leading axes.
    y = emit(g, l, [x], 'keras', 'MatMul', [xk.name, kernel]);
    if (l.bias) y = { ...y, name: g.node('Add', [y.name, g.floats(`${l.name}/bias`, l.bias.data, [units])], {}, `${l.name}_bias`, y.shape) };
  }
  return activate(g, y, l.activation, l.name);
});

registerOnnxConverter(BatchNormalization, ({ g }, l, [x]) => {
  if (x.shape.length !== 4 && x.shape.length !== 2) throw new Error(`ONNX export: ${l.who} on rank ${x.shape.length}: convkit exports BatchNormalization on rank 2 or 4`);
  const xi = x.shape.length === 4 ? g.nchw(x) : x;
  const c = l.movingMean.shape[0];
  const params = [l.gamma, l.beta, l.movingMean, l.movingVariance].map((v) => g.floats(v.name, v.data, [c]));
  return emit(g, l, [x], xi.layout, 'BatchNormalization', [xi.name, ...params], { epsilon: l.epsilon });
});

registerOnnxConverter(Activation, ({ g }, l, [x]) => activate(g, x, l.activation, l.name));
registerOnnxConverter(ReLU, ({ g }, l, [x]) => activate(g, x, l.maxValue === 6 ? 'relu6' : 'relu', l.name));
registerOnnxConverter(Dropout, (_ctx, _l, [x]) => x); // identity at inference
registerOnnxConverter(InputLayer, (_ctx, _l, [x]) => x);

registerOnnxConverter(Flatten, ({ g }, l, [x]) => (x.shape.length === 2 ? x : emit(g, l, [x], 'keras', 'Flatten', [g.keras(x).name], { axis: 1 })));

registerOnnxConverter(Reshape, ({ g }, l, [x]) => {
  // Keras reshapes the channels-last order; 0 keeps the batch dimension.
  const shape = g.int64s(`${l.name}/shape`, [0, ...l.targetShape]);
  return emit(g, l, [x], 'keras', 'Reshape', [g.keras(x).name, shape]);
});

function pool(ctx: ConvertContext, l: MaxPooling2D | AveragePooling2D, x: Value, op: 'MaxPool' | 'AveragePool'): Value {
  const [h, w, c] = spatial(l, x);
  const info = pool2dInfo({ inputShape: [1, h, w, c], kernelSize: l.poolSize, strides: l.strides, padding: l.padding, who: l.who });
  const attrs = { kernel_shape: [...l.poolSize], strides: [...l.strides], pads: [info.padTop, info.padLeft, info.padBottom, info.padRight] };
  // Keras averages the real pixels of a padded window: count_include_pad 0 (ONNX's default, written out).
  return emit(ctx.g, l, [x], 'nchw', op, [ctx.g.nchw(x).name], op === 'AveragePool' ? { ...attrs, count_include_pad: 0 } : attrs);
}

registerOnnxConverter(MaxPooling2D, (ctx, l, [x]) => pool(ctx, l, x, 'MaxPool'));
registerOnnxConverter(AveragePooling2D, (ctx, l, [x]) => pool(ctx, l, x, 'AveragePool'));

function globalPool(ctx: ConvertContext, l: GlobalAveragePooling2D | GlobalMaxPooling2D, x: Value, op: string): Value {
  const g = ctx.g;
  spatial(l, x);
  const kept = [x.shape[0], 1, 1, x.shape[3]];
  const y = emit(g, l, [x], 'nchw', op, [g.nchw(x).name], {}, kept);
  return l.keepdims ? y : emit(g, l, [y], 'keras', 'Flatten', [y.name], { axis: 1 }, [x.shape[0], x.shape[3]]);
}

registerOnnxConverter(GlobalAveragePooling2D, (ctx, l, [x]) => globalPool(ctx, l, x, 'GlobalAveragePool'));
registerOnnxConverter(GlobalMaxPooling2D, (ctx, l, [x]) => globalPool(ctx, l, x, 'GlobalMaxPool'));

registerOnnxConverter(ZeroPadding2D, ({ g }, l, [x]) => {
  spatial(l, x);
  const [[t, b], [left, r]] = l.padding;
  const pads = g.int64s(`${l.name}/pads`, [0, 0, t, left, 0, 0, b, r]);
  return emit(g, l, [x], 'nchw', 'Pad', [g.nchw(x).name, pads], { mode: 'constant' });
});

/** Brings every input to the first one's layout. */
function sameLayout(g: GraphBuilder, xs: Value[]): Value[] {
  return xs.map((x) => g.as(x, xs[0].layout));
}

registerOnnxConverter(Add, ({ g }, l, xs) => {
  const ys = sameLayout(g, xs);
  let acc = ys[0];
  for (const y of ys.slice(1)) acc = emit(g, l, [acc, y], ys[0].layout, 'Add', [acc.name, y.name]);
  return acc;
});

registerOnnxConverter(Concatenate, ({ g }, l, xs) => {
  const ys = sameLayout(g, xs);
  return emit(g, l, ys, ys[0].layout, 'Concat', ys.map((y) => y.name), { axis: ys[0].layout === 'nchw' ? 1 : -1 });
});
