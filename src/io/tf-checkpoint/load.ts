import type { Layer } from '../../layers/layer.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Variable } from '../../tensor/variable.js';
import { TfCheckpoint, TfTensorEntry, readTfCheckpoint, toFloat32 } from './bundle.js';
import { OBJECT_GRAPH_KEY, TfObjectGraph, optimizerNode, readObjectGraph, variableKey, variableOwners } from './object-graph.js';
import { resolveTfCheckpointPrefix } from './paths.js';

/**
 * A TensorFlow 2 checkpoint (Keras `save_weights` / `ModelCheckpoint(save_weights_only=True)` in the TF
 * format) into a convkit model. Such a checkpoint has no architecture; its object graph says which object
 * owns which variable. As Keras's own `load_weights` restores a checkpoint into a model built by the same code,
 * objects are matched by position: the objects that own variables, in tracking order (for the course's
 * subclassed models, the attribute order c1, b1, f1, ...), are paired with the model's layers that own weights,
 * in model order, so the zoo's `conv2d`, `batch_normalization`, `dense` take them whatever their names. Within a
 * pair, variables go by local name (kernel, bias, gamma, beta, moving_mean, moving_variance,
 * depthwise_kernel) against the last part of convkit's `<layer>/<name>`.
 *
 * Every pair's shape and dtype is checked, then every tensor read and its CRC checked, before anything is
 * written: a checkpoint that does not fit, or is corrupt, leaves the model (and its optimizer) as they were.
 * With an optimizer target, Adam's (or SGD's) slots, the step count and the learning rate are restored too, so
 * a resumed `fit` continues Keras's optimizer state.
 */

/** What loadTfCheckpoint needs of an optimizer (train/optimizers.ts Optimizer has it; io cannot import train). */
export interface TfOptimizerTarget {
  readonly className: string;
  learningRate: number;
  getConfig(): Record<string, number | boolean>;
  getState(variables: readonly Variable[]): { slots: Record<string, Record<string, Float32Array | Float64Array>> };
  setState(
    state: { className: string; iterations: number; config: Record<string, number | boolean>; slots: Record<string, Record<string, Float32Array | Float64Array>> },
    variables: readonly Variable[],
  ): void;
}

export interface LoadTfCheckpointOptions {
  /** Also restore this optimizer's slots, iterations and learning rate (model.loadWeights passes the compiled one). */
  optimizer?: TfOptimizerTarget;
}

export interface TfLoadReport {
  prefix: string;
  /** Model variables assigned. */
  arrays: number;
  /** How checkpoint objects were paired with model layers, in order. */
  layers: { checkpoint: string; layer: string }[];
  optimizer?: { iterations: number; learningRate: number | null; slots: number; hyper: Record<string, number> };
}

interface Pair {
  variable: Variable;
  entry: TfTensorEntry;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const shortName = (v: Variable): string => v.name.slice(v.name.lastIndexOf('/') + 1);
const describeVars = (vs: readonly Variable[]): string => vs.map((v) => `${v.name} ${formatShape(v.shape)}`).join(', ');
const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/** Loads the TF checkpoint `path` (prefix, `.index` file or folder) into `model`; nothing changes unless all fits. */
export function loadTfCheckpoint(model: Layer, path: string, opts: LoadTfCheckpointOptions = {}): TfLoadReport {
  if (model.weights.length === 0) throw new Error(`TF checkpoint '${path}': model '${model.name}' has no weights yet; build it (call it once) before loading`);
  const prefix = resolveTfCheckpointPrefix(path);
  const ckpt = readTfCheckpoint(prefix);
  const graph = readObjectGraph(ckpt);
  const problems: string[] = [];
  const { pairs, byNode, layers } = pairLayers(model, ckpt, graph, problems);
  const opt = opts.optimizer ? planOptimizer(opts.optimizer, model, ckpt, graph, byNode, problems) : null;
  if (problems.length > 0) {
    const n = problems.length;
    const shown = n > 30 ? [...problems.slice(0, 25), `... and ${n - 25} more`] : problems;
    throw new Error(`TF checkpoint '${prefix}' does not fit model '${model.name}' (${plural(n, 'problem')}, objects paired with layers by order):\n  ${shown.join('\n  ')}`);
  }
  // Read (and CRC-check) everything before writing anything.
  const values = pairs.map(({ entry }) => toFloat32(entry.read(), `TF checkpoint data '${entry.shard}': tensor '${entry.key}'`));
  const slots: Record<string, Record<string, Float32Array>> = {};
  for (const s of opt?.slots ?? []) (slots[s.slot] ??= {})[s.variable.name] = toFloat32(s.entry.read(), `TF checkpoint data '${s.entry.shard}': tensor '${s.entry.key}'`);
  const iterations = opt ? readCount(opt.iterations) : 0;
  const hyper: Record<string, number> = {};
  for (const [name, entry] of opt?.hyper ?? []) hyper[name] = toFloat32(entry.read(), `TF checkpoint data '${entry.shard}': tensor '${entry.key}'`)[0];
  // The tensors not loaded (optimizer state, when not asked for) are checked too: a corrupt file is refused
  // whole, as a later load with { optimizer: true } would be, rather than half-trusted.
  const used = new Set<TfTensorEntry>([...pairs.map((p) => p.entry), ...(opt?.slots.map((s) => s.entry) ?? []), ...(opt ? [opt.iterations] : []), ...(opt?.hyper.map(([, e]) => e) ?? [])]);
  for (const e of ckpt.entries) if (!used.has(e) && e.key !== OBJECT_GRAPH_KEY) e.verify();

  pairs.forEach(({ variable }, i) => variable.assign(values[i]));
  let report: TfLoadReport['optimizer'];
  if (opts.optimizer && opt) {
    const target = opts.optimizer;
    target.setState({ className: target.className, iterations, config: target.getConfig(), slots }, model.trainableWeights);
    const lr = hyper.learning_rate;
    const learningRate = Number.isFinite(lr) && lr > 0 ? lr : null;
    if (learningRate !== null) target.learningRate = learningRate;
    report = { iterations, learningRate, slots: opt.slots.length, hyper };
  }
  return { prefix, arrays: pairs.length, layers, ...(report ? { optimizer: report } : {}) };
}

function pairLayers(model: Layer, ckpt: TfCheckpoint, graph: TfObjectGraph, problems: string[]): { pairs: Pair[]; byNode: Map<number, Variable>; layers: TfLoadReport['layers'] } {
  const owners = variableOwners(graph);
  const modelLayers = model.layers.filter((l) => l.weights.length > 0);
  const pairs: Pair[] = [];
  const byNode = new Map<number, Variable>();
  const layers: TfLoadReport['layers'] = [];
  const describeOwner = (o: (typeof owners)[number]): string => o.variables.map((v) => `${v.name} ${shapeOf(ckpt, v.key)}`).join(', ');
  for (let i = 0; i < Math.max(owners.length, modelLayers.length); i++) {
    const o = owners[i];
    const l = modelLayers[i];
    if (!l) {
      problems.push(`extra object '${o.path}' in the checkpoint (${plural(o.variables.length, 'variable')}: ${describeOwner(o)}): the model has no layer left to take it`);
      continue;
    }
    if (!o) {
      problems.push(`missing layer '${l.name}' (${l.className}, ${plural(l.weights.length, 'weight')}: ${describeVars(l.weights)}): the checkpoint has no object left for it`);
      continue;
    }
    layers.push({ checkpoint: o.path, layer: l.name });
    const where = `layer '${l.name}' (${l.className}, checkpoint object '${o.path}')`;
    const byName = new Map(o.variables.map((v) => [v.name, v]));
    const seen = new Set<string>();
    for (const v of l.weights) {
      const name = shortName(v);
      const cv = byName.get(name);
      if (seen.has(name)) {
        problems.push(`${where}: two weights named '${name}'; convkit pairs a layer's variables by name, so nested layers are not supported here`);
        continue;
      }
      seen.add(name);
      if (!cv) {
        problems.push(`${where} weight '${v.name}' ${formatShape(v.shape)}: the checkpoint object has no variable '${name}' (it has: ${describeOwner(o)})`);
        continue;
      }
      const entry = ckpt.get(cv.key);
      if (!entry) problems.push(`${where} weight '${v.name}': the object graph names key '${cv.key}', which the index does not hold`);
      else if (!FLOATS.has(entry.dtypeName)) problems.push(`${where} weight '${v.name}': expected a floating-point tensor, checkpoint dtype ${entry.dtypeName} (key '${cv.key}')`);
      else if (!shapesEqual(v.shape, entry.shape)) problems.push(`${where} weight '${v.name}': expected shape ${formatShape(v.shape)}, checkpoint shape ${formatShape(entry.shape)} (key '${cv.key}')`);
      else {
        pairs.push({ variable: v, entry });
        byNode.set(cv.nodeId, v);
      }
    }
    for (const cv of o.variables) {
      if (!seen.has(cv.name)) problems.push(`${where}: extra checkpoint variable '${cv.name}' ${shapeOf(ckpt, cv.key)} (key '${cv.key}'): the layer has no weight of that name`);
    }
  }
  return { pairs, byNode, layers };
}

const shapeOf = (ckpt: TfCheckpoint, key: string): string => {
  const e = ckpt.get(key);
  return e ? formatShape(e.shape) : '(not in the index)';
};

interface OptimizerPlan {
  slots: { slot: string; variable: Variable; entry: TfTensorEntry }[];
  iterations: TfTensorEntry;
  hyper: [string, TfTensorEntry][];
}

/**
 * The optimizer's tensors to restore, checked against the target: Keras's (legacy, TF <= 2.10) optimizer keeps
 * `iter` and its hyper-parameters as variables and lists its slots, each naming the variable it belongs to by
 * node id, which pairLayers has mapped to a model variable.
 */
function planOptimizer(target: TfOptimizerTarget, model: Layer, ckpt: TfCheckpoint, graph: TfObjectGraph, byNode: Map<number, Variable>, problems: string[]): OptimizerPlan | null {
  const node = optimizerNode(graph);
  if (!node) {
    problems.push(`optimizer: the checkpoint holds no optimizer (no root object 'optimizer', no slot variables)`);
    return null;
  }
  const accepted = Object.keys(target.getState([]).slots);
  const trainable = new Set(model.trainableWeights);
  const slots: OptimizerPlan['slots'] = [];
  for (const ref of node.slotVariables) {
    const key = variableKey(graph.nodes[ref.slotVariableNodeId]);
    const variable = byNode.get(ref.originalVariableNodeId);
    const original = variableKey(graph.nodes[ref.originalVariableNodeId]) ?? `node ${ref.originalVariableNodeId}`;
    const where = `optimizer slot '${ref.slotName}' of '${original}'`;
    if (!accepted.includes(ref.slotName)) {
      problems.push(`${where}: the model's compiled ${target.className} keeps ${accepted.length ? `slots ${accepted.map((s) => `'${s}'`).join(', ')}` : 'no slots'}; compile with the optimizer the checkpoint was trained with (Adam: 'm', 'v')`);
      continue;
    }
    const entry = key === null ? undefined : ckpt.get(key);
    if (!variable) problems.push(`${where}: that variable was not paired with a model weight`);
    else if (!trainable.has(variable)) problems.push(`${where}: model weight '${variable.name}' is not trainable`);
    else if (!entry) problems.push(`${where}: the object graph names key '${key}', which the index does not hold`);
    else if (!FLOATS.has(entry.dtypeName) || !shapesEqual(entry.shape, variable.shape)) {
      problems.push(`${where}: expected a floating-point tensor of shape ${formatShape(variable.shape)} (weight '${variable.name}'), checkpoint ${entry.dtypeName} ${formatShape(entry.shape)} (key '${key}')`);
    } else slots.push({ slot: ref.slotName, variable, entry });
  }
  const child = (name: string): TfTensorEntry | undefined => {
    const ref = node.children.find((c) => c.localName === name);
    const key = ref ? variableKey(graph.nodes[ref.nodeId]) : null;
    return key === null ? undefined : ckpt.get(key);
  };
  const iterations = child('iter') ?? child('iterations');
  if (!iterations || iterations.dtypeName !== 'int64' || iterations.shape.length !== 0) {
    problems.push(`optimizer: expected an int64 scalar 'iter' (the step count), received ${iterations ? `${iterations.dtypeName} ${formatShape(iterations.shape)} (key '${iterations.key}')` : 'none'}`);
  }
  const hyper: [string, TfTensorEntry][] = [];
  for (const name of ['learning_rate', 'beta_1', 'beta_2', 'decay', 'momentum', 'epsilon']) {
    const e = child(name);
    if (e && FLOATS.has(e.dtypeName) && e.shape.length === 0) hyper.push([name, e]);
  }
  return iterations ? { slots, iterations, hyper } : null;
}

function readCount(entry: TfTensorEntry): number {
  const [v] = entry.read() as BigInt64Array;
  const n = Number(v);
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error(`TF checkpoint data '${entry.shard}': tensor '${entry.key}': expected a step count from 0 to 2^53, received ${v}`);
  return n;
}
