import type { Layer } from '../layers/layer.js';
import type { SymbolicTensor } from '../layers/symbolic.js';
import { Model } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import { ConvBNRelu, InceptionBlock, ResnetBlock } from '../zoo/blocks.js';
import { ConvertContext, activate, emit, registerOnnxConverter } from './onnx-layers.js';
import type { Value } from './onnx-graph.js';

/**
 * Converters for layers made of layers: the zoo's composite blocks (each mirrors its `call`), and models used
 * as layers (a functional graph or a Sequential stack, walked layer by layer).
 */

registerOnnxConverter(ConvBNRelu, (ctx, l, [x]) => activate(ctx.g, ctx.convert(l.bn, [ctx.convert(l.conv, [x])]), 'relu', l.name));

registerOnnxConverter(InceptionBlock, (ctx, l, [x]) => {
  const c = (layer: Layer, v: Value): Value => ctx.convert(layer, [v]);
  const branches = [c(l.c1, x), c(l.c2_2, c(l.c2_1, x)), c(l.c3_2, c(l.c3_1, x)), c(l.c4_2, c(l.p4_1, x))].map((b) => ctx.g.nchw(b));
  return emit(ctx.g, l, [x], 'nchw', 'Concat', branches.map((b) => b.name), { axis: 1 });
});

registerOnnxConverter(ResnetBlock, (ctx, l, [x]) => {
  const g = ctx.g;
  const c = (layer: Layer, v: Value): Value => ctx.convert(layer, [v]);
  const y = g.nchw(c(l.b2, c(l.c2, activate(g, c(l.b1, c(l.c1, x)), 'relu', `${l.name}_a1`))));
  const shortcut = g.nchw(l.downC1 && l.downB1 ? c(l.downB1, c(l.downC1, x)) : x);
  return activate(g, emit(g, l, [x], 'nchw', 'Add', [y.name, shortcut.name]), 'relu', l.name);
});

/** The calls of a functional model, each after the calls it reads from (outputs' ancestors, depth first). */
export function graphCalls(model: Model): { layer: Layer; inputs: SymbolicTensor[]; output: SymbolicTensor }[] {
  const order: { layer: Layer; inputs: SymbolicTensor[]; output: SymbolicTensor }[] = [];
  const done = new Set<SymbolicTensor>(model.inputs);
  const visit = (t: SymbolicTensor): void => {
    if (done.has(t)) return;
    done.add(t);
    for (const i of t.node.inputs) visit(i);
    order.push({ layer: t.node.layer, inputs: [...t.node.inputs], output: t });
  };
  for (const t of model.outputs) visit(t);
  return order;
}

/** Runs a model's layers on values: a functional graph node by node, or a Sequential stack in order. */
export function convertModel(ctx: ConvertContext, model: Model, inputs: Value[]): Value[] {
  if (model instanceof Sequential) return [model.layers.reduce((v, layer) => ctx.convert(layer, [v]), inputs[0])];
  if (model.inputs.length === 0) {
    throw new Error(`ONNX export: ${model.who} is a subclassed model with its own call(); register a converter for it with registerOnnxConverter`);
  }
  if (inputs.length !== model.inputs.length) throw new Error(`ONNX export: ${model.who} expected ${model.inputs.length} inputs, received ${inputs.length}`);
  const values = new Map<SymbolicTensor, Value>(model.inputs.map((s, i) => [s, inputs[i]]));
  for (const call of graphCalls(model)) values.set(call.output, ctx.convert(call.layer, call.inputs.map((s) => values.get(s) as Value)));
  return model.outputs.map((s) => values.get(s) as Value);
}

registerOnnxConverter(Model, (ctx, l, xs) => single(l, convertModel(ctx, l, xs)));
registerOnnxConverter(Sequential, (ctx, l, xs) => single(l, convertModel(ctx, l, xs)));

function single(model: Model, outs: Value[]): Value {
  if (outs.length !== 1) throw new Error(`ONNX export: ${model.who} used as a layer must have one output, it has ${outs.length}`);
  return outs[0];
}
