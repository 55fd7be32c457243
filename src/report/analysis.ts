/**
 * Per-layer analysis of any model: output shape, parameters, MACs and FLOPs, elementwise ops, activation memory,
 * receptive field and jump, and totals. Conventions are in costs.ts and docs/maths.md.
 *
 * Functional models are walked through their graph, Sequential models through their stack; composite blocks
 * (InceptionBlock, ResnetBlock, a user's subclassed layer or model) are traced (trace.ts) and appear as a
 * 'block' row followed by their inner rows, branches and shortcuts included.
 */
import { InputLayer } from '../layers/input.js';
import type { Layer } from '../layers/layer.js';
import type { SymbolicTensor } from '../layers/symbolic.js';
import { Model } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import type { SymbolicShape } from '../tensor/shape.js';
import { Cost, ReceptiveField, applyRf, layerCost, opCost } from './costs.js';
import { Ref, TracedScope, isComposite, traceLayer } from './trace.js';

export type { ReceptiveField } from './costs.js';

export interface LayerAnalysis {
  /** Index in `rows`. */
  id: number;
  /** Layer name; for a plain op inside a block, the op ('add', 'relu', 'concat'). */
  name: string;
  /** Keras class name ('Conv2D', 'InceptionBlk'), or 'op' for a plain op. */
  type: string;
  kind: 'input' | 'layer' | 'block' | 'op';
  /** Nesting: 0 for the model's own layers, 1 inside a block, ... */
  depth: number;
  /** The enclosing block row, or null. */
  parent: number | null;
  /** Rows whose values this one reads (a block row: what its inner rows read from outside). */
  inputs: number[];
  /** Block rows: the inner row whose value the block returns. */
  output?: number;
  /** Batch null, as Keras prints it. */
  outputShape: SymbolicShape;
  /** This layer's parameters (a block: all of its sub-layers'); 0 for ops and inputs. */
  params: number;
  /** Multiply-accumulates per image (a block: the sum over its inner rows). */
  macs: number;
  /** 2 * macs. */
  flops: number;
  /** Per image, as executed in a training step: forward + backprop-filter + backprop-input where needed. */
  trainingFlops: number;
  /** Other arithmetic per image (bias, activations, BN, pooling, Add), see costs.ts. */
  elementwiseOps: number;
  /** Bytes of the output per image, float32 (a block: the sum over its inner rows). */
  activationBytes: number;
  /** Null where a layer's effect is unknown (a plain strided op inside a custom block). */
  receptiveField: ReceptiveField | null;
  /** Window and width in a few words: '3x3 /2 same, 64'. */
  detail: string;
}

export interface AnalysisTotals {
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  flops: number;
  trainingFlops: number;
  /** 3 * flops: the usual estimate (forward + backprop-input + backprop-filter for every conv/dense layer). */
  trainingFlops3x: number;
  elementwiseOps: number;
  /** Sum over all (non-block) rows of their output bytes: what a training step keeps for backward. */
  activationBytes: number;
  /** float32 weights. */
  paramBytes: number;
  /** The largest receptive field of a spatial (4-D) output. */
  maxReceptiveField: ReceptiveField | null;
  /** Conv2D, DepthwiseConv2D and Dense rows. */
  weightedLayers: number;
}

export interface ModelAnalysis {
  name: string;
  /** Batch null. */
  inputShapes: SymbolicShape[];
  rows: LayerAnalysis[];
  totals: AnalysisTotals;
}

export interface AnalyzeOptions {
  /** Batch-less input shape, for a model that does not know it (a Sequential without inputShape, a subclassed model). */
  inputShape?: readonly number[];
}

const BYTES = 4; // float32
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const concrete = (s: SymbolicShape, who: string): number[] =>
  s.map((d) => {
    if (d === null) throw new Error(`analyzeModel: ${who} has an unknown dimension in ${JSON.stringify(s)}; give options.inputShape`);
    return d;
  });

/** Collects rows, keeping what later rows need: receptive fields and whether a gradient flows. */
class Rows {
  readonly rows: LayerAnalysis[] = [];
  /** Whether the value of a row depends on trainable weights (its consumers then compute backprop-input). */
  private readonly gradFlows: boolean[] = [];

  private push(row: Omit<LayerAnalysis, 'id'>, gradFlows: boolean): number {
    const id = this.rows.length;
    this.rows.push({ id, ...row });
    this.gradFlows.push(gradFlows);
    return id;
  }

  input(name: string, shape: readonly number[]): number {
    return this.push({ name, type: 'InputLayer', kind: 'input', depth: 0, parent: null, inputs: [], outputShape: [null, ...shape], params: 0, macs: 0, flops: 0, trainingFlops: 0, elementwiseOps: 0, activationBytes: BYTES * prod(shape), receptiveField: { size: [1, 1], jump: [1, 1] }, detail: '' }, false);
  }

  /** A leaf layer or plain op. */
  leaf(name: string, type: string, kind: 'layer' | 'op', cost: Cost, trainable: boolean, params: number, inputs: number[], inputShapes: number[][], output: number[], depth: number, parent: number | null): number {
    const upstream = inputs.some((i) => this.gradFlows[i]);
    const f = 2 * cost.macs;
    // Forward, then backprop-filter for trainable weights, backprop-input unless the input needs no gradient.
    const trainingFlops = cost.weighted ? f + (trainable ? f : 0) + (upstream ? f : 0) : 0;
    const rf = applyRf(cost.rf, inputs.map((i) => this.rows[i].receptiveField), inputShapes[0] ?? []);
    return this.push({ name, type, kind, depth, parent, inputs, outputShape: [null, ...output], params, macs: cost.macs, flops: f, trainingFlops, elementwiseOps: cost.elementwiseOps, activationBytes: BYTES * prod(output), receptiveField: rf, detail: cost.detail }, upstream || trainable);
  }

  layer(layer: Layer, inputs: number[], inputShapes: number[][], output: number[], depth: number, parent: number | null): number {
    const cost = layerCost(layer, inputShapes, output);
    return this.leaf(layer.name, layer.className, 'layer', cost, layer.trainableWeights.length > 0, layer.countParams(), inputs, inputShapes, output, depth, parent);
  }

  /** A composite layer: its row, then its traced inside, then the row completed with sums. */
  block(layer: Layer, inputs: number[], inputShapes: number[][], depth: number, parent: number | null): number {
    const id = this.push({ name: layer.name, type: layer.className, kind: 'block', depth, parent, inputs, outputShape: [], params: layer.countParams(), macs: 0, flops: 0, trainingFlops: 0, elementwiseOps: 0, activationBytes: 0, receptiveField: null, detail: '' }, false);
    const out = this.scope(traceLayer(layer, inputShapes), inputs, depth + 1, id);
    const row = this.rows[id];
    for (const r of this.rows.slice(id + 1)) {
      if (r.parent !== id) continue;
      row.macs += r.macs;
      row.flops += r.flops;
      row.trainingFlops += r.trainingFlops;
      row.elementwiseOps += r.elementwiseOps;
      row.activationBytes += r.activationBytes;
    }
    const o = this.rows[out];
    Object.assign(row, { output: out, outputShape: o.outputShape, receptiveField: o.receptiveField });
    this.gradFlows[id] = this.gradFlows[out];
    return id;
  }

  /** Rows for a traced inside; returns the row holding its output. */
  private scope(s: TracedScope, inputs: number[], depth: number, parent: number): number {
    const ids = new Map<object, number>();
    const idOf = (r: Ref): number => (r.kind === 'input' ? inputs[r.index] : (ids.get(r.node) as number));
    for (const n of s.nodes) {
      const ins = n.inputs.map(idOf);
      let id: number;
      if (n.layer && n.inner) id = this.block(n.layer, ins, n.inputShapes, depth, parent);
      else if (n.layer) id = this.layer(n.layer, ins, n.inputShapes, n.outputShape, depth, parent);
      else id = this.leaf(n.op as string, 'op', 'op', opCost(n.op as string, n.inputShapes, n.weightShapes, n.outputShape), false, 0, ins, n.inputShapes, n.outputShape, depth, parent);
      ids.set(n, id);
    }
    return idOf(s.output);
  }

  /** A top-level layer (of a graph or a stack): leaf or block. */
  any(layer: Layer, inputs: number[], inputShapes: number[][], output: number[]): number {
    return isComposite(layer) ? this.block(layer, inputs, inputShapes, 0, null) : this.layer(layer, inputs, inputShapes, output, 0, null);
  }
}

/** Layer calls of a functional model, producers first. */
function graphNodes(model: Model): SymbolicTensor['node'][] {
  const order: SymbolicTensor['node'][] = [];
  const done = new Set<object>();
  const visit = (t: SymbolicTensor): void => {
    if (done.has(t.node)) return;
    done.add(t.node);
    for (const i of t.node.inputs) visit(i);
    order.push(t.node);
  };
  for (const t of model.inputs) visit(t);
  for (const t of model.outputs) visit(t);
  return order;
}

/** The batch-less input shape a Sequential was given (first layer's inputShape, an Input(), or a build()). */
function sequentialInput(model: Sequential, opts: AnalyzeOptions): number[] {
  if (opts.inputShape) return [...opts.inputShape];
  const stack = model.layers;
  const declared = stack[0]?.batchInputShape ?? (model as unknown as { inputShape?: SymbolicShape | null }).inputShape;
  if (!declared) throw new Error(`analyzeModel: Sequential '${model.name}' does not know its input shape; give options.inputShape, e.g. [32, 32, 3]`);
  return concrete(declared.slice(1), `Sequential '${model.name}'`);
}

/** The per-layer analysis of a model, with totals. */
export function analyzeModel(model: Model, opts: AnalyzeOptions = {}): ModelAnalysis {
  const b = new Rows();
  const inputShapes: number[][] = [];
  if (model instanceof Sequential) {
    let shape = sequentialInput(model, opts);
    inputShapes.push(shape);
    let prev = b.input(`${model.name}_input`, shape);
    for (const layer of model.layers) {
      const out = concrete(layer.computeOutputShape([null, ...shape]).slice(1), layer.who);
      prev = b.any(layer, [prev], [shape], out);
      shape = out;
    }
  } else if (model.inputs.length > 0) {
    const ids = new Map<SymbolicTensor, number>();
    for (const node of graphNodes(model)) {
      const out = concrete(node.output.shape.slice(1), node.layer.who);
      if (node.layer instanceof InputLayer) {
        inputShapes.push(out);
        ids.set(node.output, b.input(node.layer.name, out));
        continue;
      }
      const shapes = node.inputs.map((t) => concrete(t.shape.slice(1), node.layer.who));
      ids.set(node.output, b.any(node.layer, node.inputs.map((t) => ids.get(t) as number), shapes, out));
    }
  } else {
    if (!opts.inputShape) throw new Error(`analyzeModel: subclassed model '${model.name}' has no graph to read its input shape from; give options.inputShape, e.g. [32, 32, 3]`);
    const shape = [...opts.inputShape];
    inputShapes.push(shape);
    b.block(model, [b.input(`${model.name}_input`, shape)], [shape], 0, null);
  }
  return { name: model.name, inputShapes: inputShapes.map((s) => [null, ...s]), rows: b.rows, totals: totalsOf(model, b.rows) };
}

function totalsOf(model: Model, rows: LayerAnalysis[]): AnalysisTotals {
  const leaves = rows.filter((r) => r.kind !== 'block');
  const sum = (f: (r: LayerAnalysis) => number): number => leaves.reduce((a, r) => a + f(r), 0);
  const params = model.countParams();
  const trainable = model.trainableWeights.reduce((n, w) => n + w.size, 0);
  let maxRf: ReceptiveField | null = null;
  for (const r of leaves) {
    if (r.outputShape.length === 4 && r.receptiveField && (!maxRf || r.receptiveField.size[0] * r.receptiveField.size[1] > maxRf.size[0] * maxRf.size[1])) maxRf = r.receptiveField;
  }
  const flops = sum((r) => r.flops);
  return {
    params,
    trainableParams: trainable,
    nonTrainableParams: params - trainable,
    macs: sum((r) => r.macs),
    flops,
    trainingFlops: sum((r) => r.trainingFlops),
    trainingFlops3x: 3 * flops,
    elementwiseOps: sum((r) => r.elementwiseOps),
    activationBytes: sum((r) => r.activationBytes),
    paramBytes: BYTES * params,
    maxReceptiveField: maxRf,
    weightedLayers: leaves.filter((r) => ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(r.type)).length,
  };
}

export interface ModelFlopsOptions {
  /** Training step (forward + backward) instead of inference; default false. */
  training?: boolean;
  inputShape?: readonly number[];
}

/**
 * FLOPs per image, the numbers the benchmark reports. Forward: 2 * MACs of every Conv2D, DepthwiseConv2D
 * and Dense. Training: for each of them, the forward, the backprop-filter (when it has trainable weights) and
 * the backprop-input (when its input depends on trainable weights: not for a first layer reading the images,
 * whose gradient convkit never computes), each 2 * MACs, so a little under 3x forward. Elementwise work (bias,
 * activations, BatchNormalization, pooling, Add) and the optimizer update are not counted.
 */
export function modelFlops(model: Model, opts: ModelFlopsOptions = {}): number {
  const t = analyzeModel(model, { inputShape: opts.inputShape }).totals;
  return opts.training ? t.trainingFlops : t.flops;
}
