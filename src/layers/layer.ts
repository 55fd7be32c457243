import { noGrad } from '../autograd/tape.js';
import { globalRandom } from '../tensor/random.js';
import { Shape, SymbolicShape, formatShape } from '../tensor/shape.js';
import { DType, Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';
import { InitializerLike, getInitializer } from './initializers.js';
import { Regularizer } from './regularizers.js';
import { LayerNode, SymbolicTensor, isSymbolic } from './symbolic.js';

export interface LayerConfig {
  name?: string;
  trainable?: boolean;
  /** Batch-less input shape of a first layer (Keras `input_shape`), e.g. [32, 32, 3]. */
  inputShape?: readonly number[];
}

export interface CallOptions {
  /** Training mode: batch statistics in BatchNormalization, active Dropout. Keras's default is inference. */
  training?: boolean;
}

export type LayerInput = Tensor | readonly Tensor[];
export type SymbolicInput = SymbolicTensor | readonly SymbolicTensor[];

// ---- Layer names: 'conv2d', 'conv2d_1', ... as Keras makes them, unique per process until reset. ----
const nameCounts = new Map<string, number>();

/** Forgets generated names, so the next Conv2D is 'conv2d' again (keras.backend.clear_session). */
export function resetLayerNames(): void {
  nameCounts.clear();
}

export function uniqueName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** Keras's to_snake_case: 'BatchNormalization' -> 'batch_normalization', 'Conv2D' -> 'conv2d'. */
export function toSnakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

// ---- A hook on every concrete layer output, for diagnosing where values go non-finite. ----
let outputHook: ((layer: Layer, y: Tensor) => void) | null = null;
export function setLayerOutputHook(hook: ((layer: Layer, y: Tensor) => void) | null): void {
  outputHook = hook;
}
/** Whether a hook watches layer outputs (fused layer pairs then run one by one, so each output is seen). */
export function layerOutputHookActive(): boolean {
  return outputHook !== null;
}

// ---- A bound on the weights layers may create, while a model is built from a file's config. ----
let weightBudget: { left: number; why: string } | null = null;
/**
 * Runs fn with at most `floats` weight values creatable: a hostile or corrupt config (units: 1e9) then fails
 * naming the layer before anything huge is allocated. `why` says where the bound comes from.
 */
export function withWeightBudget<T>(floats: number, why: string, fn: () => T): T {
  const saved = weightBudget;
  weightBudget = { left: floats, why };
  try {
    return fn();
  } finally {
    weightBudget = saved;
  }
}

// ---- Weight dtype for newly built layers (keras.config.set_floatx). ----
let floatX: DType = 'float32';
export function setFloatX(dtype: DType): void {
  floatX = dtype;
}
export function getFloatX(): DType {
  return floatX;
}

/**
 * A layer: validated config, weights made in `build` from the first input shape, and `call`, a few ops.
 * A user's composite block is a subclass whose fields hold other layers: they are found and tracked
 * automatically (weights, training mode, regularizers), as in Keras, and its output shape is inferred by
 * running `call` on placeholders.
 */
export abstract class Layer {
  readonly name: string;
  trainable: boolean;
  built = false;
  /** Keras `batch_input_shape`: [null, ...inputShape] when the layer was given an inputShape. */
  readonly batchInputShape?: SymbolicShape;
  private readonly ownWeights: Variable[] = [];
  private readonly regularized: [Variable, Regularizer][] = [];
  /** Output shape of the last symbolic call, for summary(). */
  lastOutputShape?: SymbolicShape;
  /** Symbolic calls of this layer (one per use in a functional graph). */
  readonly inboundNodes: LayerNode[] = [];

  constructor(config: LayerConfig = {}) {
    this.name = config.name ?? uniqueName(toSnakeCase(this.className));
    this.trainable = config.trainable ?? true;
    if (config.inputShape) this.batchInputShape = [null, ...config.inputShape];
  }

  /** Keras's class name, shown by summary(): 'Conv2D', 'BatchNormalization', ... */
  get className(): string {
    return this.constructor.name;
  }

  /** "Conv2D 'conv2d_1'", the prefix of every error this layer raises. */
  get who(): string {
    return `${this.className} '${this.name}'`;
  }

  /** Creates weights for this input shape (batch may be null). Composite layers build lazily on first call. */
  build(_inputShape: SymbolicShape | SymbolicShape[]): void {
    this.built = true;
  }

  /** The computation on concrete tensors (or placeholders, during shape inference). */
  abstract call(inputs: LayerInput, opts: CallOptions): Tensor;

  /**
   * Output shape (batch null) for an input shape. Layers with a closed-form rule override this; the default
   * traces `call` on placeholders, which is exact for any composite block.
   */
  computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const asConcrete = (s: SymbolicShape): Shape => s.map((d) => (d === null ? 1 : d));
    const ph = Array.isArray(inputShape[0]) || inputShape.length === 0
      ? (inputShape as SymbolicShape[]).map((s) => Tensor.placeholder(asConcrete(s), floatX))
      : Tensor.placeholder(asConcrete(inputShape as SymbolicShape), floatX);
    const y = noGrad(() => this.call(ph, { training: false }));
    const batchUnknown = (Array.isArray(inputShape[0]) ? (inputShape as SymbolicShape[])[0][0] : (inputShape as SymbolicShape)[0]) === null;
    return batchUnknown ? [null, ...y.shape.slice(1)] : y.shape;
  }

  /**
   * Calls the layer. On tensors, builds on first use and computes. On symbolic tensors (functional API),
   * builds, checks, and returns the symbolic output, recording the call in the graph.
   */
  apply(inputs: SymbolicInput, opts?: CallOptions): SymbolicTensor;
  apply(inputs: LayerInput, opts?: CallOptions): Tensor;
  apply(inputs: LayerInput | SymbolicInput, opts: CallOptions = {}): Tensor | SymbolicTensor {
    if (isSymbolic(inputs)) {
      const list = Array.isArray(inputs) ? [...inputs] : [inputs as SymbolicTensor];
      const shapes = Array.isArray(inputs) ? list.map((t) => t.shape) : list[0].shape;
      if (!this.built) this.build(shapes);
      const outShape = this.computeOutputShape(shapes);
      const output = new SymbolicTensor(outShape);
      const node: LayerNode = { layer: this, inputs: list, output };
      output.node = node;
      this.inboundNodes.push(node);
      this.lastOutputShape = outShape;
      return output;
    }
    const tensors = inputs as LayerInput;
    if (!this.built) this.build(Array.isArray(tensors) ? tensors.map((t) => t.shape) : (tensors as Tensor).shape);
    const y = this.call(tensors, opts);
    // Layers used outside a functional graph (inside a subclassed model) still report a shape in summary().
    if (this.inboundNodes.length === 0) this.lastOutputShape = [null, ...y.shape.slice(1)];
    if (outputHook) outputHook(this, y);
    return y;
  }

  // ---- Weights ----

  /** Adds a weight named `${layer}/${name}`, initialised from the global seeded generator. */
  protected addWeight(name: string, shape: Shape, opts: { initializer: InitializerLike; trainable?: boolean; regularizer?: Regularizer | null }): Variable {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`${this.who}: weight '${name}' expected a shape of positive integers, received ${formatShape(shape)}`);
    }
    if (weightBudget) {
      const n = shape.reduce((a, b) => a * b, 1);
      if (n > weightBudget.left) this.fail(name, `at most ${weightBudget.left} more values (${weightBudget.why})`, `shape ${formatShape(shape)}, ${n} values`);
      weightBudget.left -= n;
    }
    const init = getInitializer(opts.initializer, this.who, `${name}Initializer`)(shape, floatX, globalRandom);
    const v = new Variable(`${this.name}/${name}`, init.data, shape, opts.trainable ?? true);
    this.ownWeights.push(v);
    if (opts.regularizer) this.regularized.push([v, opts.regularizer]);
    return v;
  }

  /** Layers held in this layer's fields (and arrays of them), in declaration order. */
  get layers(): Layer[] {
    const found: Layer[] = [];
    for (const value of Object.values(this)) {
      if (value instanceof Layer) found.push(value);
      else if (Array.isArray(value)) for (const v of value) if (v instanceof Layer) found.push(v);
    }
    return found;
  }

  /** Every weight of this layer and its sub-layers, each once, in creation order of the tree. */
  get weights(): Variable[] {
    const seen = new Set<Variable>();
    const out: Variable[] = [];
    const visit = (layer: Layer, stack: Set<Layer>): void => {
      if (stack.has(layer)) return;
      stack.add(layer);
      for (const w of layer.ownWeights) if (!seen.has(w)) (seen.add(w), out.push(w));
      for (const sub of layer.layers) visit(sub, stack);
    };
    visit(this, new Set());
    return out;
  }

  /** Weights the optimizer updates: trainable ones of trainable layers (a frozen layer freezes its sub-layers). */
  get trainableWeights(): Variable[] {
    if (!this.trainable) return [];
    const frozen = new Set<Variable>();
    const visit = (layer: Layer): void => {
      for (const sub of layer.layers) {
        if (!sub.trainable) for (const w of sub.weights) frozen.add(w);
        else visit(sub);
      }
    };
    visit(this);
    return this.weights.filter((w) => w.trainable && !frozen.has(w));
  }

  get nonTrainableWeights(): Variable[] {
    const trainable = new Set(this.trainableWeights);
    return this.weights.filter((w) => !trainable.has(w));
  }

  countParams(): number {
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  /** Regularization penalties of this layer and its sub-layers, to add to the training loss. */
  regularizationLosses(): Tensor[] {
    const out: Tensor[] = this.regularized.map(([w, r]) => r.penalty(w));
    for (const sub of this.layers) out.push(...sub.regularizationLosses());
    return out;
  }

  /** Keras-style config: name, trainable and the layer's arguments. */
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable, ...(this.batchInputShape ? { batchInputShape: this.batchInputShape } : {}) };
  }

  // ---- Shared checks, so every layer words its errors the same way ----

  protected fail(arg: string, expected: string, received: unknown): never {
    const r = typeof received === 'string' ? received : JSON.stringify(received);
    throw new Error(`${this.who}: argument '${arg}' expected ${expected}, received ${r}`);
  }

  protected positiveInt(arg: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(arg, 'a positive integer', v);
    return v;
  }

  /** An int or a pair of positive ints, as Keras's kernel_size / strides / pool_size. */
  protected positivePair(arg: string, v: unknown): [number, number] {
    const p = typeof v === 'number' ? [v, v] : v;
    if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d > 0)) this.fail(arg, 'a positive integer or a pair of them', v);
    return [p[0], p[1]];
  }

  protected oneOf<T extends string>(arg: string, v: unknown, options: readonly T[]): T {
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(arg, `one of ${options.map((o) => `'${o}'`).join(', ')}`, v);
    return v as T;
  }

  /** Checks an input's rank (and optionally its last axis), naming this layer. */
  protected expectInput(shape: SymbolicShape, rank: number, layout: string, channels?: number): void {
    if (shape.length !== rank) this.fail('input', `rank ${rank} ${layout}`, `shape ${formatShape(shape)}`);
    if (channels !== undefined && shape[rank - 1] !== channels) {
      this.fail('input', `last dimension ${channels}`, `shape ${formatShape(shape)}`);
    }
  }

  /** A single input; a list of one is accepted, as Keras does. */
  protected single(inputs: LayerInput): Tensor {
    if (Array.isArray(inputs)) {
      if (inputs.length !== 1) this.fail('inputs', 'a single tensor', `${inputs.length} tensors`);
      return inputs[0];
    }
    return inputs as Tensor;
  }

  protected singleShape(shape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    if (Array.isArray(shape[0])) {
      const list = shape as SymbolicShape[];
      if (list.length !== 1) this.fail('inputs', 'a single tensor', `${list.length} tensors`);
      return list[0];
    }
    return shape as SymbolicShape;
  }
}
