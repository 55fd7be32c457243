import { ACTIVATIONS, ActivationName, activation } from '../ops/activations.js';
import { dropout } from '../ops/dropout.js';
import { flatten, reshape } from '../ops/layout.js';
import { dense } from '../ops/linalg.js';
import { globalRandom } from '../tensor/random.js';
import { SymbolicShape, formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';
import { InitializerLike } from './initializers.js';
import { CallOptions, Layer, LayerConfig, LayerInput } from './layer.js';
import { Regularizer } from './regularizers.js';

export interface DenseConfig extends LayerConfig {
  units: number;
  activation?: ActivationName | null;
  useBias?: boolean;
  kernelInitializer?: InitializerLike;
  biasInitializer?: InitializerLike;
  kernelRegularizer?: Regularizer | null;
  biasRegularizer?: Regularizer | null;
}

/**
 * Dense (keras.layers.Dense): y = activation(x W + b) over the last axis.
 * Params inFeatures * units + units.
 */
export class Dense extends Layer {
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  kernel!: Variable;
  bias: Variable | null = null;

  constructor(private readonly config: DenseConfig) {
    super(config);
    this.units = this.positiveInt('units', config.units);
    this.activation = this.oneOf('activation', config.activation ?? 'linear', ACTIVATIONS);
    this.useBias = config.useBias ?? true;
  }

  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    const s = this.singleShape(inputShape);
    if (s.length < 2) this.fail('input', 'rank >= 2 [batch, ..., features]', `shape ${formatShape(s)}`);
    const features = s[s.length - 1];
    if (features === null) this.fail('input', 'a known last dimension', `shape ${formatShape(s)}`);
    this.kernel = this.addWeight('kernel', [features, this.units], {
      initializer: this.config.kernelInitializer ?? 'glorotUniform', // keras/src/layers/core/dense.py
      regularizer: this.config.kernelRegularizer,
    });
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], { initializer: this.config.biasInitializer ?? 'zeros', regularizer: this.config.biasRegularizer });
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    if (this.built) this.expectInput(s, s.length, '[batch, ..., features]', this.kernel.shape[0]);
    return [...s.slice(0, -1), this.units];
  }

  call(inputs: LayerInput, _opts: CallOptions = {}): Tensor {
    return activation(dense(this.single(inputs), this.kernel, this.bias, this.who), this.activation);
  }

  override getConfig(): Record<string, unknown> {
    const c = this.config;
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: c.kernelInitializer ?? 'glorotUniform',
      biasInitializer: c.biasInitializer ?? 'zeros',
      kernelRegularizer: c.kernelRegularizer ?? null,
      biasRegularizer: c.biasRegularizer ?? null,
    };
  }
}

/** Activation (keras.layers.Activation): applies a named activation; no weights. */
export class Activation extends Layer {
  readonly activation: ActivationName;

  constructor(config: LayerConfig & { activation: ActivationName }) {
    super(config);
    this.activation = this.oneOf('activation', config.activation, ACTIVATIONS);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    return this.singleShape(inputShape);
  }

  call(inputs: LayerInput): Tensor {
    return activation(this.single(inputs), this.activation);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }
}

/** ReLU (keras.layers.ReLU) with maxValue: none gives relu, 6 gives relu6 (MobileNet's ReLU(6.)). */
export class ReLU extends Layer {
  readonly maxValue: number | null;

  constructor(config: LayerConfig & { maxValue?: number | null } = {}) {
    super(config);
    this.maxValue = config.maxValue ?? null;
    if (this.maxValue !== null && this.maxValue !== 6) this.fail('maxValue', 'null or 6 (the capped ReLUs convkit implements)', this.maxValue);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    return this.singleShape(inputShape);
  }

  call(inputs: LayerInput): Tensor {
    return activation(this.single(inputs), this.maxValue === 6 ? 'relu6' : 'relu');
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), maxValue: this.maxValue };
  }
}

/** Dropout (keras.layers.Dropout): inverted dropout in training, identity in inference. */
export class Dropout extends Layer {
  readonly rate: number;

  constructor(config: LayerConfig & { rate: number }) {
    super(config);
    if (typeof config.rate !== 'number' || !(config.rate >= 0 && config.rate < 1)) this.fail('rate', 'a number in [0, 1)', config.rate);
    this.rate = config.rate;
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    return this.singleShape(inputShape);
  }

  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    const x = this.single(inputs);
    return opts.training ? dropout(x, this.rate, globalRandom) : x;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/** Flatten (keras.layers.Flatten): [n, d1, d2, ...] -> [n, d1 * d2 * ...]. */
export class Flatten extends Layer {
  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    if (s.length < 1) this.fail('input', 'rank >= 1', `shape ${formatShape(s)}`);
    const rest = s.slice(1);
    return [s[0], rest.some((d) => d === null) ? null : rest.reduce<number>((a, b) => a * (b as number), 1)];
  }

  call(inputs: LayerInput): Tensor {
    return flatten(this.single(inputs), this.who);
  }
}

/** Reshape (keras.layers.Reshape): to targetShape (batch excluded); one entry may be -1. */
export class Reshape extends Layer {
  readonly targetShape: readonly number[];

  constructor(config: LayerConfig & { targetShape: readonly number[] }) {
    super(config);
    const t = config.targetShape;
    if (!Array.isArray(t) || !t.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) || t.filter((d) => d === -1).length > 1) {
      this.fail('targetShape', 'positive integers with at most one -1', t);
    }
    this.targetShape = [...t];
  }

  /** Resolves -1 for an input of `size` values per sample. */
  private resolve(size: number, inputShape: SymbolicShape): number[] {
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.targetShape.map((d) => (d === -1 ? size / known : d));
    if (out.some((d) => !Number.isInteger(d)) || out.reduce((a, b) => a * b, 1) !== size) {
      this.fail('targetShape', `a shape of ${size} values per sample (input ${formatShape(inputShape)})`, this.targetShape);
    }
    return out;
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    const size = s.slice(1).reduce<number>((a, b) => a * (b ?? NaN), 1);
    return [s[0], ...this.resolve(size, s)];
  }

  call(inputs: LayerInput): Tensor {
    const x = this.single(inputs);
    return reshape(x, [x.shape[0], ...this.resolve(x.size / x.shape[0], x.shape)], this.who);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: this.targetShape };
  }
}
