import { Conv2D } from '../layers/conv.js';
import { CallOptions, Layer, LayerConfig, LayerInput } from '../layers/layer.js';
import { BatchNormalization } from '../layers/normalization.js';
import { MaxPooling2D } from '../layers/pooling.js';
import { relu } from '../ops/activations.js';
import { add } from '../ops/elementwise.js';
import { concat } from '../ops/layout.js';
import { Pair } from '../ops/conv.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * The course's composite blocks, written as a user would write them: a class whose fields are layers (tracked
 * automatically) and a `call` that reads like the diagram.
 */

/** Conv -> BatchNorm -> ReLU (the course's ConvBNRelu). */
export class ConvBNRelu extends Layer {
  readonly conv: Conv2D;
  readonly bn: BatchNormalization;

  constructor(config: LayerConfig & { filters: number; kernelSize?: Pair; strides?: Pair; padding?: 'same' | 'valid' }) {
    super(config);
    this.conv = new Conv2D({ filters: config.filters, kernelSize: config.kernelSize ?? 3, strides: config.strides ?? 1, padding: config.padding ?? 'same' });
    this.bn = new BatchNormalization();
  }

  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    return this.bn.applyActivated(this.conv.apply(inputs, opts), 'relu', opts);
  }

  /** The constructor's arguments, so the block is saved in a model file and rebuilt from it (zoo/serializable.ts). */
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.conv.filters, kernelSize: this.conv.kernelSize, strides: this.conv.strides, padding: this.conv.padding };
  }
}

/**
 * Inception block (the course's InceptionBlk): four branches of `filters` channels each, joined on channels:
 *   1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1.   Stride applies to the first conv of each branch.
 */
export class InceptionBlock extends Layer {
  readonly c1: ConvBNRelu;
  readonly c2_1: ConvBNRelu;
  readonly c2_2: ConvBNRelu;
  readonly c3_1: ConvBNRelu;
  readonly c3_2: ConvBNRelu;
  readonly p4_1: MaxPooling2D;
  readonly c4_2: ConvBNRelu;

  constructor(private readonly config: LayerConfig & { filters: number; strides?: number }) {
    super(config);
    const ch = config.filters;
    const s = config.strides ?? 1;
    this.c1 = new ConvBNRelu({ filters: ch, kernelSize: 1, strides: s });
    this.c2_1 = new ConvBNRelu({ filters: ch, kernelSize: 1, strides: s });
    this.c2_2 = new ConvBNRelu({ filters: ch, kernelSize: 3 });
    this.c3_1 = new ConvBNRelu({ filters: ch, kernelSize: 1, strides: s });
    this.c3_2 = new ConvBNRelu({ filters: ch, kernelSize: 5 });
    this.p4_1 = new MaxPooling2D({ poolSize: 3, strides: 1, padding: 'same' });
    this.c4_2 = new ConvBNRelu({ filters: ch, kernelSize: 1, strides: s });
  }

  override get className(): string {
    return 'InceptionBlk';
  }

  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    const x = this.single(inputs);
    const x1 = this.c1.apply(x, opts);
    const x2 = this.c2_2.apply(this.c2_1.apply(x, opts), opts);
    const x3 = this.c3_2.apply(this.c3_1.apply(x, opts), opts);
    const x4 = this.c4_2.apply(this.p4_1.apply(x, opts), opts);
    return concat([x1, x2, x3, x4], this.who);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.config.filters, strides: this.config.strides ?? 1 };
  }
}

/**
 * Basic residual block (the course's ResnetBlock): out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
 * where the shortcut is x itself, or a strided 1x1 conv + BN when the shape changes (residualPath).
 */
export class ResnetBlock extends Layer {
  readonly c1: Conv2D;
  readonly b1: BatchNormalization;
  readonly c2: Conv2D;
  readonly b2: BatchNormalization;
  readonly downC1: Conv2D | null;
  readonly downB1: BatchNormalization | null;

  constructor(private readonly config: LayerConfig & { filters: number; strides?: number; residualPath?: boolean }) {
    super(config);
    const { filters } = config;
    const strides = config.strides ?? 1;
    this.c1 = new Conv2D({ filters, kernelSize: 3, strides, padding: 'same', useBias: false });
    this.b1 = new BatchNormalization();
    this.c2 = new Conv2D({ filters, kernelSize: 3, strides: 1, padding: 'same', useBias: false });
    this.b2 = new BatchNormalization();
    this.downC1 = config.residualPath ? new Conv2D({ filters, kernelSize: 1, strides, padding: 'same', useBias: false }) : null;
    this.downB1 = config.residualPath ? new BatchNormalization() : null;
  }

  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    const x = this.single(inputs);
    const y = this.b2.apply(this.c2.apply(this.b1.applyActivated(this.c1.apply(x, opts), 'relu', opts), opts), opts);
    const shortcut = this.downC1 && this.downB1 ? this.downB1.apply(this.downC1.apply(x, opts), opts) : x;
    return relu(add(y, shortcut));
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.config.filters, strides: this.config.strides ?? 1, residualPath: this.config.residualPath ?? false };
  }
}
