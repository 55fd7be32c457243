import { noGrad } from '../autograd/tape.js';
import { BufferArena, inArena } from '../backend/arena.js';
import { backendName } from '../backend/index.js';
import { InferencePlan } from '../backend/plan/index.js';
import { CallOptions, Layer, LayerConfig, LayerInput } from '../layers/layer.js';
import { InputLayer } from '../layers/input.js';
import { applyFusedPair } from '../layers/fusion.js';
import { LayerNode, SymbolicTensor } from '../layers/symbolic.js';
import { SymbolicShape, formatShape } from '../tensor/shape.js';
import { Tensor, allocate } from '../tensor/tensor.js';
import { ModelSummary, formatSummary, summarize } from './summary.js';

export interface FunctionalConfig {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  name?: string;
}

interface Graph {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Layer calls in an order where every node's inputs come first. */
  nodes: LayerNode[];
  layers: Layer[];
  /** How many node inputs and graph outputs read each tensor. */
  readers: Map<SymbolicTensor, number>;
}

/**
 * A model is a layer with a graph of layers: functional (`new Model({ inputs, outputs })`) or subclassed
 * (override `call`, hold layers in fields). Either can be used as a layer inside another model.
 */
export class Model extends Layer {
  protected readonly graph: Graph | null;
  /** How to rebuild this model without user code (set for zoo models); stored in checkpoints. */
  spec?: { zoo: string; options: Record<string, unknown> };
  /** Buffers reused from one inference batch to the next (src/backend/arena.ts). */
  private readonly inferenceArena = new BufferArena();
  /** Inference plans by backend and input shape (src/backend/plan); null where this model cannot be planned. */
  private readonly plans = new Map<string, InferencePlan | null>();
  /** Plans built so far (inferenceBatch drops its pooled buffers after a batch that built one). */
  private planBuilds = 0;
  /**
   * Whether predict / evaluate / validation may run the compiled inference plan (batch norm folded, bias and
   * activation fused, one native call per batch) instead of layer by layer. Same numbers within 1e-5
   * relative; off also with CONVKIT_PLAN=0.
   */
  useInferencePlan = true;

  constructor(config: FunctionalConfig | LayerConfig = {}) {
    super('outputs' in config ? { name: config.name } : config);
    this.graph = 'outputs' in config ? buildGraph(this.name, config) : null;
    if (this.graph) this.built = true;
  }

  override get layers(): Layer[] {
    return this.graph ? this.graph.layers : super.layers;
  }

  get inputs(): SymbolicTensor[] {
    return this.graph?.inputs ?? [];
  }

  get outputs(): SymbolicTensor[] {
    return this.graph?.outputs ?? [];
  }

  /** A functional model's layer calls, inputs first, each after the calls it reads (empty otherwise). */
  get graphNodes(): readonly LayerNode[] {
    return this.graph?.nodes ?? [];
  }

  /** Builds a subclassed model's weights by tracing `call` on an input shape (batch may be null). */
  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    if (!this.built && !this.graph) {
      this.built = true;
      this.lastOutputShape = this.computeOutputShape(inputShape);
    }
    this.built = true;
  }

  /** Runs the graph (functional) on concrete tensors; subclasses override with their own computation. */
  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    const outs = this.run(inputs, opts);
    if (outs.length !== 1) throw new Error(`${this.who}: call returns one tensor; this model has ${outs.length} outputs, use run()`);
    return outs[0];
  }

  /** Every output of a functional model. */
  run(inputs: LayerInput, opts: CallOptions = {}): Tensor[] {
    const g = this.graph;
    if (!g) throw new Error(`${this.who}: a subclassed model must override call(inputs, { training })`);
    const xs = Array.isArray(inputs) ? (inputs as Tensor[]) : [inputs as Tensor];
    if (xs.length !== g.inputs.length) throw new Error(`${this.who}: argument 'inputs' expected ${g.inputs.length} tensor(s), received ${xs.length}`);
    const values = new Map<SymbolicTensor, Tensor>();
    g.inputs.forEach((s, i) => values.set(s, s.node.layer.apply(xs[i], opts)));
    const nodes = g.nodes;
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k];
      if (node.layer instanceof InputLayer) continue;
      const args = node.inputs.map((s) => values.get(s) as Tensor);
      const x = args.length === 1 ? args[0] : args;
      // A layer whose only reader is the layer right after it may fuse with it (layers/fusion.ts).
      const next = nodes[k + 1];
      if (next && args.length === 1 && next.inputs.length === 1 && next.inputs[0] === node.output && g.readers.get(node.output) === 1) {
        const fused = applyFusedPair(node.layer, next.layer, args[0], opts);
        if (fused) {
          values.set(next.output, fused);
          k++;
          continue;
        }
      }
      values.set(node.output, node.layer.apply(x, opts));
    }
    return g.outputs.map((s) => values.get(s) as Tensor);
  }

  /** Inference over x in batches (training off, no gradient tape); outputs concatenated along the batch. */
  predict(x: Tensor, opts: { batchSize?: number } = {}): Tensor {
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`${this.who}.predict: argument 'batchSize' expected a positive integer, received ${batchSize}`);
    const n = x.shape[0];
    // One batch whose plan is ready (a server's single image, a batch that fits): x as it is, the plan's output as
    // it comes. Slicing it and "concatenating" the one part were 0.1-0.15 ms of MobileNet's 4 ms at batch 1: the
    // first JavaScript after a plan run finds its objects gone from the caches.
    const ready = n <= batchSize ? this.readyPlan(x) : null;
    if (ready) return new Tensor(ready.run(x.data as Float32Array), ready.outputShape);
    const parts: Tensor[] = [];
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const batch = sliceBatch(x, start, Math.min(n, start + batchSize));
        // A ready plan writes a fresh output array and touches no activation of ours: no arena, no copy.
        const plan = this.readyPlan(batch);
        if (plan) {
          parts.push(new Tensor(plan.run(batch.data as Float32Array), plan.outputShape));
          continue;
        }
        parts.push(this.inferenceBatch(() => {
          const out = this.inferForward(batch);
          return new Tensor(out.data.slice(), out.shape);
        }));
      }
    });
    return concatBatch(parts);
  }

  /**
   * One batch in inference mode (training off; call it under noGrad): through this input shape's inference
   * plan when there is one, built on first use and again after any weight changed, else layer by layer.
   */
  inferForward(x: Tensor): Tensor {
    const layerByLayer = () => this.apply(x, { training: false });
    if (!this.plansAllowed()) return layerByLayer();
    const key = `${backendName()} ${x.shape.join('x')}`;
    const known = this.plans.get(key);
    if (known === null) return layerByLayer();
    if (known && known.fresh) return new Tensor(known.run(x.data as Float32Array), known.outputShape);
    const { result, plan } = InferencePlan.build(x, (input) => this.apply(input, { training: false }), this.weights);
    if (plan) this.planBuilds++;
    this.plans.delete(key);
    // A handful of shapes at most (the batch size and a last partial batch); the oldest goes first.
    if (this.plans.size >= 4) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(key, plan);
    return result;
  }

  private plansAllowed(): boolean {
    return this.useInferencePlan && process.env.CONVKIT_PLAN !== '0' && this.inputs.length <= 1 && this.outputs.length <= 1;
  }

  /** This input's plan when it is built and no weight changed since (else null: inferForward builds it). */
  private readyPlan(x: Tensor): InferencePlan | null {
    if (!this.plansAllowed() || !(x.data instanceof Float32Array)) return null;
    const plan = this.plans.get(`${backendName()} ${x.shape.join('x')}`);
    return plan && plan.fresh ? plan : null;
  }

  /** The inference plan built for this input shape, if any (for tests and the bench). */
  inferencePlanFor(shape: readonly number[]): InferencePlan | null {
    return this.plans.get(`${backendName()} ${shape.join('x')}`) ?? null;
  }

  /**
   * Runs one inference batch with its activations taken from (and given back to) this model's buffers, so
   * predict and evaluate do not fault in fresh memory on every batch. fn must not let an activation escape:
   * return numbers or a copy. Weights built lazily inside fn are kept.
   */
  inferenceBatch<T>(fn: () => T): T {
    const builds = this.planBuilds;
    const result = inArena(this.inferenceArena, fn, () => new Set(this.weights.map((w) => w.data)));
    // A plan was built in this batch (its trace ran layer by layer): from now on the plan holds its own
    // buffers, so the layer-by-layer activations pooled for the next batch are only memory.
    if (this.planBuilds !== builds) this.inferenceArena.clear();
    return result;
  }

  /** The per-layer table as data. */
  summaryData(): ModelSummary {
    return summarize(this);
  }

  /** Keras's summary table; printed with `print` (console.log by default) and returned. */
  summary(print: ((line: string) => void) | null = console.log): string {
    const text = formatSummary(this.summaryData(), this.graph !== null);
    if (print) print(text);
    return text;
  }

  /** For summary(): each layer's call sites in the graph. */
  inboundLayerNames(layer: Layer): string[] {
    if (!this.graph) return [];
    return this.graph.nodes.filter((n) => n.layer === layer).flatMap((n) => n.inputs.map((s) => `${s.node.layer.name}[0][0]`));
  }
}

function buildGraph(name: string, config: FunctionalConfig): Graph {
  const inputs = Array.isArray(config.inputs) ? [...config.inputs] : [config.inputs as SymbolicTensor];
  const outputs = Array.isArray(config.outputs) ? [...config.outputs] : [config.outputs as SymbolicTensor];
  for (const t of [...inputs, ...outputs]) {
    if (!(t instanceof SymbolicTensor)) throw new Error(`Model '${name}': expected inputs and outputs made with Input() and layer calls, received ${String(t)}`);
  }
  for (const t of inputs) {
    if (!(t.node.layer instanceof InputLayer)) throw new Error(`Model '${name}': argument 'inputs' expected tensors from Input(), received the output of ${t.node.layer.who}`);
  }
  const nodes: LayerNode[] = [];
  const done = new Set<LayerNode>();
  const visit = (t: SymbolicTensor, path: Set<LayerNode>): void => {
    const node = t.node;
    if (done.has(node)) return;
    if (path.has(node)) throw new Error(`Model '${name}': the graph has a cycle through ${node.layer.who}`);
    path.add(node);
    if (node.layer instanceof InputLayer && !inputs.includes(t)) {
      throw new Error(`Model '${name}': output depends on input '${node.layer.name}' ${formatShape(t.shape)}, which is not among the model's inputs`);
    }
    for (const i of node.inputs) visit(i, path);
    path.delete(node);
    done.add(node);
    nodes.push(node);
  };
  for (const t of inputs) visit(t, new Set());
  for (const t of outputs) visit(t, new Set());
  const layers: Layer[] = [];
  for (const n of nodes) if (!layers.includes(n.layer)) layers.push(n.layer);
  const readers = new Map<SymbolicTensor, number>();
  for (const t of [...nodes.flatMap((n) => n.inputs), ...outputs]) readers.set(t, (readers.get(t) ?? 0) + 1);
  return { inputs, outputs, nodes, layers, readers };
}

/** Rows [start, end) of the batch axis, sharing memory. */
export function sliceBatch(x: Tensor, start: number, end: number): Tensor {
  const row = x.size / x.shape[0];
  return new Tensor(x.data.subarray(start * row, end * row), [end - start, ...x.shape.slice(1)]);
}

/** Concatenates along the batch axis. */
export function concatBatch(parts: readonly Tensor[]): Tensor {
  if (parts.length === 1) return parts[0].detach();
  const n = parts.reduce((a, p) => a + p.shape[0], 0);
  const data = allocate(parts.reduce((a, p) => a + p.size, 0), parts[0].dtype);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.size;
  }
  return new Tensor(data, [n, ...parts[0].shape.slice(1)]);
}
