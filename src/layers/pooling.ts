import { Padding, pool2dInfo } from '../backend/geometry.js';
import { Pair } from '../ops/conv.js';
import { avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d } from '../ops/pool.js';
import { SymbolicShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { CallOptions, Layer, LayerConfig, LayerInput } from './layer.js';

export interface Pooling2DConfig extends LayerConfig {
  poolSize?: Pair;
  /** Defaults to poolSize (Keras: strides=None). */
  strides?: Pair | null;
  padding?: Padding;
}

/** Shared window arguments and output-shape rule of the 2-D pooling layers; no weights. */
abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;

  constructor(config: Pooling2DConfig = {}) {
    super(config);
    this.poolSize = this.positivePair('poolSize', config.poolSize ?? 2);
    this.strides = this.positivePair('strides', config.strides ?? this.poolSize);
    this.padding = this.oneOf('padding', config.padding ?? 'valid', ['valid', 'same'] as const);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    this.expectInput(s, 4, '[batch, height, width, channels]');
    const g = pool2dInfo({ inputShape: [1, s[1] ?? 1, s[2] ?? 1, s[3] ?? 1], kernelSize: this.poolSize, strides: this.strides, padding: this.padding, who: this.who });
    return [s[0], g.oh, g.ow, s[3]];
  }

  protected options() {
    return { poolSize: this.poolSize, strides: this.strides, padding: this.padding, who: this.who };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** MaxPooling2D (keras.layers.MaxPooling2D, alias MaxPool2D): the maximum of each window. */
export class MaxPooling2D extends Pooling2D {
  call(inputs: LayerInput, _opts: CallOptions = {}): Tensor {
    return maxPool2d(this.single(inputs), this.options());
  }
}

/** AveragePooling2D (keras.layers.AveragePooling2D, alias AvgPool2D): the mean of each window's real pixels. */
export class AveragePooling2D extends Pooling2D {
  call(inputs: LayerInput, _opts: CallOptions = {}): Tensor {
    return avgPool2d(this.single(inputs), this.options());
  }
}

export const MaxPool2D = MaxPooling2D;
export const AvgPool2D = AveragePooling2D;

abstract class GlobalPooling2D extends Layer {
  readonly keepdims: boolean;

  constructor(config: LayerConfig & { keepdims?: boolean } = {}) {
    super(config);
    this.keepdims = config.keepdims ?? false;
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    this.expectInput(s, 4, '[batch, height, width, channels]');
    return this.keepdims ? [s[0], 1, 1, s[3]] : [s[0], s[3]];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), keepdims: this.keepdims };
  }
}

/** GlobalAveragePooling2D: [n, h, w, c] -> [n, c], the mean over all positions. */
export class GlobalAveragePooling2D extends GlobalPooling2D {
  call(inputs: LayerInput): Tensor {
    return globalAvgPool2d(this.single(inputs), this.keepdims, this.who);
  }
}

/** GlobalMaxPooling2D: [n, h, w, c] -> [n, c], the maximum over all positions. */
export class GlobalMaxPooling2D extends GlobalPooling2D {
  call(inputs: LayerInput): Tensor {
    return globalMaxPool2d(this.single(inputs), this.keepdims, this.who);
  }
}
