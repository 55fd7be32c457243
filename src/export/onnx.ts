import { writeFileAtomic } from '../io/atomic.js';
import type { Layer } from '../layers/layer.js';
import { Model } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import type { SymbolicShape } from '../tensor/shape.js';
import { ZOO_PREPROCESSING } from '../images/preprocess.js';
import { convertModel } from './onnx-blocks.js';
import { ConvertContext, converterFor } from './onnx-layers.js';
import { GraphBuilder, TO_NCHW, Value, ValueInfoProto, onnx, onnxShape } from './onnx-graph.js';
import { foldBatchNorm, foldPadIntoConv } from './onnx-passes.js';

/**
 * convkit model -> ONNX model (IR 7, opset 13, weights embedded as initializers), encoded with the official
 * ONNX schema (onnx.proto compiled by protobufjs, the onnx-proto package): no hand-written protobuf.
 *
 *   input   'input', NHWC [batch, h, w, c] like Keras (inputLayout 'NCHW': [batch, c, h, w]), batch symbolic
 *   output  'output' ('output_<i>' for several), in Keras's layout (with inputLayout 'NCHW', a rank-4 output
 *           stays channels-first)
 *   graph   inference: Dropout is gone, BatchNormalization uses its moving statistics and, by default, is folded
 *           into the convolution before it (batchNorm 'keep' leaves BatchNormalization nodes)
 * Metadata records the model name, the input layout and, for zoo models, the zoo entry and its preprocessing.
 */
export interface OnnxExportOptions {
  inputLayout?: 'NHWC' | 'NCHW';
  batchNorm?: 'fold' | 'keep';
  /** A fixed batch size; the default leaves it symbolic ('batch'). */
  batchSize?: number | null;
  /** Input [h, w, c] for a Sequential model that was not given one. */
  inputShape?: readonly number[];
}

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

function inputShapes(model: Model, opts: OnnxExportOptions): SymbolicShape[] {
  if (model.inputs.length > 0) return model.inputs.map((s) => s.shape);
  const declared = opts.inputShape ? [null, ...opts.inputShape] : (model.layers[0]?.batchInputShape ?? (model as unknown as { inputShape?: SymbolicShape }).inputShape);
  if (!declared) throw new Error(`ONNX export: ${model.who} has no known input shape; pass the option inputShape [height, width, channels]`);
  return [declared];
}

function check(opts: OnnxExportOptions): void {
  if (opts.inputLayout !== undefined && !['NHWC', 'NCHW'].includes(opts.inputLayout)) throw new Error(`toOnnx: argument 'inputLayout' expected 'NHWC' or 'NCHW', received '${String(opts.inputLayout)}'`);
  if (opts.batchNorm !== undefined && !['fold', 'keep'].includes(opts.batchNorm)) throw new Error(`toOnnx: argument 'batchNorm' expected 'fold' or 'keep', received '${String(opts.batchNorm)}'`);
  const b = opts.batchSize;
  if (b !== undefined && b !== null && !(Number.isInteger(b) && b > 0)) throw new Error(`toOnnx: argument 'batchSize' expected a positive integer or null, received ${String(b)}`);
}

function valueInfo(name: string, shape: SymbolicShape): ValueInfoProto {
  const dim = shape.map((d) => (d === null ? { dimParam: 'batch' } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

/** Renames a tensor everywhere (node outputs and inputs, shapes). */
function rename(g: GraphBuilder, from: string, to: string): void {
  for (const n of g.nodes) {
    n.output = n.output?.map((o) => (o === from ? to : o));
    n.input = n.input?.map((i) => (i === from ? to : i));
  }
  const s = g.shapes.get(from);
  g.shapes.delete(from);
  if (s) g.shapes.set(to, s);
}

/** The ONNX model as bytes (a ModelProto). */
export function toOnnx(model: Model, opts: OnnxExportOptions = {}): Uint8Array {
  check(opts);
  const nchwIn = opts.inputLayout === 'NCHW';
  const g = new GraphBuilder();
  const ctx: ConvertContext = {
    g,
    convert(layer: Layer, inputs: Value[]): Value {
      const convert = converterFor(layer);
      if (!convert) throw new Error(`ONNX export: no converter for ${layer.who}; register one with registerOnnxConverter(${layer.constructor.name}, ...)`);
      return convert(ctx, layer, inputs);
    },
  };
  const shapes = inputShapes(model, opts).map((s) => [opts.batchSize ?? null, ...s.slice(1)]);
  const inputs: Value[] = shapes.map((shape, i) => ({
    name: g.unique(shapes.length === 1 ? 'input' : `input_${i}`),
    shape,
    layout: nchwIn && shape.length === 4 ? 'nchw' : 'keras',
  }));
  const outs = model instanceof Sequential || model.inputs.length > 0 ? convertModel(ctx, model, inputs) : [ctx.convert(model, inputs)];
  const outputs = outs.map((v, i) => {
    let o = nchwIn ? v : g.keras(v);
    const name = g.unique(outs.length === 1 ? 'output' : `output_${i}`);
    // An output that is an input, or that several outputs share, gets its own Identity; else its node is renamed.
    const producer = g.nodes.find((n) => n.output?.[0] === o.name);
    const shared = outs.some((w, j) => j !== i && (nchwIn ? w : g.keras(w)).name === o.name);
    if (!producer || shared) o = { ...o, name: g.node('Identity', [o.name], {}, name, onnxShape(o)) };
    else rename(g, o.name, name);
    return { ...o, name };
  });
  if (opts.batchNorm !== 'keep') foldBatchNorm(g);
  foldPadIntoConv(g);
  const ioNames = new Set([...inputs, ...outputs].map((v) => v.name));
  const used = new Set(g.nodes.flatMap((n) => n.input ?? []));
  const spec = model.spec;
  const metadata: Record<string, string> = {
    'convkit.model': model.name,
    'convkit.input_layout': nchwIn ? 'NCHW' : 'NHWC',
    ...(spec ? { 'convkit.zoo': spec.zoo, 'convkit.zoo_options': JSON.stringify(spec.options) } : {}),
    ...(spec && ZOO_PREPROCESSING[spec.zoo] ? { 'convkit.preprocessing': ZOO_PREPROCESSING[spec.zoo] } : {}),
  };
  const proto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'convkit',
    producerVersion: '0.1.0',
    docString: `${model.name}, exported by convkit`,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers.filter((t) => used.has(t.name as string)),
      input: inputs.map((v) => valueInfo(v.name, nchwIn && v.shape.length === 4 ? TO_NCHW.map((i) => v.shape[i]) : v.shape)),
      output: outputs.map((v) => valueInfo(v.name, onnxShape(v))),
      valueInfo: [...g.shapes].filter(([name]) => !ioNames.has(name)).map(([name, shape]) => valueInfo(name, shape)),
    },
  };
  return onnx.ModelProto.encode(proto).finish();
}

/** Writes the ONNX model to `path` atomically (temporary file, fsync, rename). */
export function exportOnnx(model: Model, path: string, opts: OnnxExportOptions = {}): Uint8Array {
  const bytes = toOnnx(model, opts);
  writeFileAtomic(path, [bytes]);
  return bytes;
}
