import { getBackend } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';

/** What a checkpoint stores of an optimizer: its step count, hyper-parameters and per-variable slots. */
export interface OptimizerState {
  className: string;
  iterations: number;
  config: Record<string, number | boolean>;
  /** slot name -> variable name -> values. */
  slots: Record<string, Record<string, Float32Array | Float64Array>>;
}

/**
 * An optimizer updates variables in place from their gradients. Slots (Adam's m and v, SGD's velocity) are
 * made lazily per variable, keyed by the variable's name so they survive a checkpoint round trip.
 */
export abstract class Optimizer {
  learningRate: number;
  iterations = 0;
  protected readonly slots = new Map<string, Map<Variable, Tensor>>();

  constructor(learningRate: number, who: string) {
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new Error(`${who}: argument 'learningRate' expected a positive number, received ${learningRate}`);
    }
    this.learningRate = learningRate;
  }

  abstract get className(): string;
  /** The per-variable state this optimizer keeps, in the order Keras creates it (Adam: m, v). */
  abstract slotNames(): string[];
  protected abstract update(v: Variable, grad: Tensor, slot: (name: string) => Tensor, step: number): void;
  abstract getConfig(): Record<string, number | boolean>;

  /** One optimizer step over (variable, gradient) pairs. */
  applyGradients(pairs: readonly [Variable, Tensor][]): void {
    this.iterations++;
    for (const [v, g] of pairs) {
      this.update(v, g, (name) => this.slot(name, v), this.iterations);
      v.markChanged();
    }
  }

  private slot(name: string, v: Variable): Tensor {
    let byVar = this.slots.get(name);
    if (!byVar) this.slots.set(name, (byVar = new Map()));
    let t = byVar.get(v);
    if (!t) byVar.set(v, (t = Tensor.zeros(v.shape, v.dtype)));
    return t;
  }

  getState(variables: readonly Variable[]): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const name of this.slotNames()) {
      slots[name] = {};
      for (const v of variables) {
        const t = this.slots.get(name)?.get(v);
        if (t) slots[name][v.name] = t.data;
      }
    }
    return { className: this.className, iterations: this.iterations, config: this.getConfig(), slots };
  }

  /** Restores slots by variable name; every stored slot must match a variable of the same size. */
  setState(state: OptimizerState, variables: readonly Variable[]): void {
    if (state.className !== this.className) {
      throw new Error(`${this.className}.setState: expected a ${this.className} state, received ${state.className}`);
    }
    const byName = new Map(variables.map((v) => [v.name, v]));
    this.slots.clear();
    for (const [slotName, values] of Object.entries(state.slots)) {
      for (const [varName, data] of Object.entries(values)) {
        const v = byName.get(varName);
        if (!v) throw new Error(`${this.className}.setState: slot '${slotName}' names variable '${varName}', which the model does not have`);
        if (data.length !== v.size) throw new Error(`${this.className}.setState: slot '${slotName}' of '${varName}' expected ${v.size} values, received ${data.length}`);
        this.slot(slotName, v).data.set(data);
      }
    }
    this.iterations = state.iterations;
  }
}

/** Adam (Kingma & Ba 2014) with Keras defaults (keras/src/optimizers/adam.py): lr 0.001, 0.9, 0.999, epsilon 1e-7. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(config: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } = {}) {
    super(config.learningRate ?? 0.001, 'Adam');
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.epsilon = config.epsilon ?? 1e-7;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new Error(`Adam: argument '${k}' expected a number in [0, 1), received ${v}`);
    }
  }

  get className(): string {
    return 'Adam';
  }
  slotNames(): string[] {
    return ['m', 'v'];
  }
  protected update(v: Variable, g: Tensor, slot: (name: string) => Tensor, step: number): void {
    getBackend(v.data).adamUpdate(v.data, g.data, slot('m').data, slot('v').data, this.learningRate, this.beta1, this.beta2, this.epsilon, step);
  }
  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/** SGD with optional (Nesterov) momentum, Keras defaults (keras/src/optimizers/sgd.py): lr 0.01, momentum 0. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(config: { learningRate?: number; momentum?: number; nesterov?: boolean } = {}) {
    super(config.learningRate ?? 0.01, 'SGD');
    this.momentum = config.momentum ?? 0;
    this.nesterov = config.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`SGD: argument 'momentum' expected a number in [0, 1], received ${this.momentum}`);
  }

  get className(): string {
    return 'SGD';
  }
  slotNames(): string[] {
    return this.momentum > 0 ? ['momentum'] : [];
  }
  protected update(v: Variable, g: Tensor, slot: (name: string) => Tensor): void {
    const velocity = this.momentum > 0 ? slot('momentum').data : null;
    getBackend(v.data).sgdUpdate(v.data, g.data, velocity, this.learningRate, this.momentum, this.nesterov);
  }
  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }
}

/**
 * RMSprop with Keras defaults (keras/src/optimizers/rmsprop.py): lr 0.001, rho 0.9, momentum 0, epsilon 1e-7:
 *   v = rho v + (1 - rho) g^2;  w -= lr g / sqrt(v + epsilon)   (epsilon inside the root, as Keras 3 has it).
 * Elementwise in TypeScript: it exists so Keras files compiled with it train on where Keras stopped.
 */
export class RMSprop extends Optimizer {
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;

  constructor(config: { learningRate?: number; rho?: number; momentum?: number; epsilon?: number } = {}) {
    super(config.learningRate ?? 0.001, 'RMSprop');
    this.rho = config.rho ?? 0.9;
    this.momentum = config.momentum ?? 0;
    this.epsilon = config.epsilon ?? 1e-7;
    if (!(this.rho >= 0 && this.rho < 1)) throw new Error(`RMSprop: argument 'rho' expected a number in [0, 1), received ${this.rho}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`RMSprop: argument 'momentum' expected a number in [0, 1], received ${this.momentum}`);
  }

  get className(): string {
    return 'RMSprop';
  }
  slotNames(): string[] {
    return this.momentum > 0 ? ['velocity', 'momentum'] : ['velocity'];
  }
  protected update(v: Variable, g: Tensor, slot: (name: string) => Tensor): void {
    const w = v.data;
    const grad = g.data;
    const vel = slot('velocity').data;
    const mom = this.momentum > 0 ? slot('momentum').data : null;
    const { rho, epsilon, learningRate: lr, momentum } = this;
    for (let i = 0; i < w.length; i++) {
      vel[i] = rho * vel[i] + (1 - rho) * grad[i] * grad[i];
      const step = (lr * grad[i]) / Math.sqrt(vel[i] + epsilon);
      if (mom) {
        mom[i] = momentum * mom[i] + step;
        w[i] -= mom[i];
      } else w[i] -= step;
    }
  }
  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, rho: this.rho, momentum: this.momentum, epsilon: this.epsilon };
  }
}

export type OptimizerLike = Optimizer | 'adam' | 'sgd' | 'rmsprop';

export function getOptimizer(o: OptimizerLike): Optimizer {
  if (o instanceof Optimizer) return o;
  if (o === 'adam') return new Adam();
  if (o === 'sgd') return new SGD();
  if (o === 'rmsprop') return new RMSprop();
  throw new Error(`compile: argument 'optimizer' expected 'adam', 'sgd', 'rmsprop' or an Optimizer, received ${JSON.stringify(o)}`);
}
