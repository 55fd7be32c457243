import type { ClipActivation } from '../backend/backend.js';
import { activation } from '../ops/activations.js';
import { batchNormInference, batchNormTraining } from '../ops/normalization.js';
import { SymbolicShape, formatShape } from '../tensor/shape.js';
import { Tensor, allocate } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';
import { InitializerLike } from './initializers.js';
import { Activation, ReLU } from './core.js';
import { CallOptions, Layer, LayerConfig, LayerInput, getFloatX, layerOutputHookActive } from './layer.js';
import { Regularizer } from './regularizers.js';

export interface BatchNormalizationConfig extends LayerConfig {
  /** The channel axis: -1, or its index (3 for NHWC images), alone or in a list as Keras 2 files write it. */
  axis?: number | readonly number[];
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerLike;
  gammaInitializer?: InitializerLike;
  movingMeanInitializer?: InitializerLike;
  movingVarianceInitializer?: InitializerLike;
  betaRegularizer?: Regularizer | null;
  gammaRegularizer?: Regularizer | null;
}

/**
 * BatchNormalization (keras.layers.BatchNormalization) over the channel (last) axis.
 * Training: y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta with batch statistics, then
 *   moving = moving * momentum + batch * (1 - momentum)   (the biased batch variance, as Keras stores it).
 * Inference, or when the layer is frozen (Keras 3): the moving statistics instead.
 * Params 4 * C, of which 2 * C (moving mean and variance) are non-trainable.
 */
export class BatchNormalization extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma!: Variable;
  beta!: Variable;
  movingMean!: Variable;
  movingVariance!: Variable;

  constructor(private readonly config: BatchNormalizationConfig = {}) {
    super(config);
    const axis = config.axis ?? -1;
    const list = typeof axis === 'number' ? [axis] : axis;
    if (!Array.isArray(list) || list.length !== 1 || !Number.isInteger(list[0])) this.fail('axis', 'one integer axis (-1, the channels)', axis);
    // Defaults from keras/src/layers/normalization/batch_normalization.py.
    this.momentum = config.momentum ?? 0.99;
    this.epsilon = config.epsilon ?? 1e-3;
    if (!(this.momentum >= 0 && this.momentum <= 1)) this.fail('momentum', 'a number in [0, 1]', this.momentum);
    if (!(this.epsilon > 0)) this.fail('epsilon', 'a positive number', this.epsilon);
    this.center = config.center ?? true;
    this.scale = config.scale ?? true;
  }

  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    const s = this.singleShape(inputShape);
    const c = s[s.length - 1];
    if (s.length < 2 || c === null) this.fail('input', 'rank >= 2 with a known last (channel) axis', `shape ${formatShape(s)}`);
    const cfg = this.config;
    // Keras normalises any axis; convkit the channels (last) axis, which a channels-last file names -1 or rank - 1.
    const axis = typeof cfg.axis === 'number' || cfg.axis === undefined ? (cfg.axis ?? -1) : cfg.axis[0];
    if (axis !== -1 && axis !== s.length - 1) {
      this.fail('axis', `the channel axis (-1 or ${s.length - 1} for this rank-${s.length} input ${formatShape(s)}); convkit normalises over channels only`, cfg.axis);
    }
    // gamma/beta stay fixed at one/zero when scale/center are off; they are then not weights, as in Keras.
    this.gamma = this.scale ? this.addWeight('gamma', [c], { initializer: cfg.gammaInitializer ?? 'ones', regularizer: cfg.gammaRegularizer }) : fixed(`${this.name}/gamma`, c, 1);
    this.beta = this.center ? this.addWeight('beta', [c], { initializer: cfg.betaInitializer ?? 'zeros', regularizer: cfg.betaRegularizer }) : fixed(`${this.name}/beta`, c, 0);
    this.movingMean = this.addWeight('moving_mean', [c], { initializer: cfg.movingMeanInitializer ?? 'zeros', trainable: false });
    this.movingVariance = this.addWeight('moving_variance', [c], { initializer: cfg.movingVarianceInitializer ?? 'ones', trainable: false });
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    if (this.built) this.expectInput(s, s.length, '[..., channels]', this.movingMean.shape[0]);
    return s;
  }

  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    return this.forward(this.single(inputs), 'linear', opts);
  }

  /**
   * act(this(x)) for the ReLU or ReLU6 that follows this layer (a ReLU or Activation layer, or a block's relu
   * op), as one fused op (ops/normalization.ts): the same numbers, one pass over the activations fewer each
   * way in training and one fewer in inference. The activation's own layer, if any, is then not called: it
   * has no weights and no state. Two steps while a layer-output hook must see this layer's own output.
   */
  applyActivated(inputs: LayerInput, act: 'relu' | 'relu6', opts: CallOptions = {}): Tensor {
    const x = this.single(inputs);
    if (x.isPlaceholder || layerOutputHookActive()) return activation(this.apply(x, opts), act);
    if (!this.built) this.build(x.shape);
    const y = this.forward(x, act, opts);
    if (this.inboundNodes.length === 0) this.lastOutputShape = [null, ...y.shape.slice(1)];
    return y;
  }

  private forward(x: Tensor, act: ClipActivation, opts: CallOptions): Tensor {
    if (opts.training && this.trainable) return this.trainingStep(x, act);
    this.checkChannels(x);
    return batchNormInference(x, this.gamma, this.beta, this.movingMean, this.movingVariance, this.epsilon, act);
  }

  private checkChannels(x: Tensor): void {
    const c = this.movingMean.shape[0];
    if (x.shape[x.rank - 1] !== c) this.fail('input', `last dimension ${c}`, `shape ${formatShape(x.shape)}`);
  }

  /** Batch statistics, moving averages updated in place, and act applied in the same op. */
  private trainingStep(x: Tensor, act: ClipActivation): Tensor {
    this.checkChannels(x);
    const c = this.movingMean.shape[0];
    const { y, mean, variance } = batchNormTraining(x, this.gamma, this.beta, this.epsilon, act);
    if (!x.isPlaceholder) {
      const m = this.momentum;
      for (let j = 0; j < c; j++) {
        this.movingMean.data[j] = this.movingMean.data[j] * m + mean.data[j] * (1 - m);
        this.movingVariance.data[j] = this.movingVariance.data[j] * m + variance.data[j] * (1 - m);
      }
      this.movingMean.markChanged();
      this.movingVariance.markChanged();
    }
    return y;
  }

  override getConfig(): Record<string, unknown> {
    const c = this.config;
    return {
      ...super.getConfig(),
      axis: -1,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: c.betaInitializer ?? 'zeros',
      gammaInitializer: c.gammaInitializer ?? 'ones',
      movingMeanInitializer: c.movingMeanInitializer ?? 'zeros',
      movingVarianceInitializer: c.movingVarianceInitializer ?? 'ones',
      betaRegularizer: c.betaRegularizer ?? null,
      gammaRegularizer: c.gammaRegularizer ?? null,
    };
  }
}

/**
 * The clip a layer applies when it is a plain ReLU or ReLU6 (a ReLU layer, or Activation 'relu' / 'relu6'):
 * what a BatchNormalization just before it can fuse (Sequential and functional models ask this of the layer
 * after each batch norm whose output goes nowhere else).
 */
export function fusableClip(layer: Layer): 'relu' | 'relu6' | null {
  if (layer instanceof ReLU) return layer.maxValue === 6 ? 'relu6' : 'relu';
  if (layer instanceof Activation && (layer.activation === 'relu' || layer.activation === 'relu6')) return layer.activation;
  return null;
}

function fixed(name: string, c: number, value: number): Variable {
  return new Variable(name, allocate(c, getFloatX()).fill(value), [c], false);
}
