import { ExplicitPadding, Padding, conv2dInfo } from '../backend/geometry.js';
import { ACTIVATIONS, ActivationName, activation } from '../ops/activations.js';
import { Pair, conv2d, depthwiseConv2d } from '../ops/conv.js';
import { biasAdd } from '../ops/linalg.js';
import { SymbolicShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';
import { InitializerLike } from './initializers.js';
import { CallOptions, Layer, LayerConfig, LayerInput, layerOutputHookActive } from './layer.js';
import { Regularizer } from './regularizers.js';

interface WindowConfig extends LayerConfig {
  kernelSize: Pair;
  strides?: Pair;
  padding?: Padding;
  dilationRate?: Pair;
  activation?: ActivationName | null;
  useBias?: boolean;
  biasInitializer?: InitializerLike;
  biasRegularizer?: Regularizer | null;
}

export interface Conv2DConfig extends WindowConfig {
  filters: number;
  kernelInitializer?: InitializerLike;
  kernelRegularizer?: Regularizer | null;
}

export interface DepthwiseConv2DConfig extends WindowConfig {
  depthMultiplier?: number;
  depthwiseInitializer?: InitializerLike;
  depthwiseRegularizer?: Regularizer | null;
}

/** What Conv2D and DepthwiseConv2D share: the window arguments, the bias and the fused activation. */
export abstract class ConvBase extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  bias: Variable | null = null;

  constructor(protected readonly config: WindowConfig) {
    super(config);
    this.kernelSize = this.positivePair('kernelSize', config.kernelSize);
    this.strides = this.positivePair('strides', config.strides ?? 1);
    this.padding = this.oneOf('padding', config.padding ?? 'valid', ['valid', 'same'] as const);
    this.dilationRate = this.positivePair('dilationRate', config.dilationRate ?? 1);
    // Keras rejects strides > 1 together with dilation > 1.
    if (this.dilationRate.some((d) => d > 1) && this.strides.some((s) => s > 1)) this.fail('strides', '1 when dilationRate > 1', this.strides);
    this.activation = this.oneOf('activation', config.activation ?? 'linear', ACTIVATIONS);
    this.useBias = config.useBias ?? true;
  }

  protected abstract outChannels(inChannels: number): number;

  protected inputChannels(inputShape: SymbolicShape | SymbolicShape[]): number {
    const s = this.singleShape(inputShape);
    this.expectInput(s, 4, '[batch, height, width, channels]');
    const c = s[3];
    if (c === null || c <= 0) this.fail('input', 'a known, positive channel count', `shape ${JSON.stringify(s)}`);
    return c;
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    const c = this.inputChannels(s);
    const g = conv2dInfo({
      inputShape: [1, s[1] ?? 1, s[2] ?? 1, c],
      kernelSize: this.kernelSize,
      strides: this.strides,
      dilation: this.dilationRate,
      padding: this.padding,
      who: this.who,
    });
    return [s[0], g.oh, g.ow, this.outChannels(c)];
  }

  /** The convolution itself with this padding: no activation, and no bias unless convolveAddsBias(). */
  protected abstract convolve(x: Tensor, padding: Padding | ExplicitPadding): Tensor;

  call(inputs: LayerInput, _opts: CallOptions = {}): Tensor {
    return this.finish(this.convolve(this.single(inputs), this.padding));
  }

  /**
   * this(zeroPad2d(x, pads)) for a 'valid' convolution right after a ZeroPadding2D layer (Keras MobileNet pads
   * before every stride-2 depthwise convolution): the pads become this convolution's explicit padding, so
   * the padded copy of x, and its crop in the backward pass, are never made. The kernels take padding as zero
   * taps: the same sums. Null (the caller runs both layers) when this layer pads itself, is not built yet, or
   * a layer-output hook must see the padded tensor.
   */
  applyPadded(x: Tensor, pads: ExplicitPadding, _opts: CallOptions = {}): Tensor | null {
    if (this.padding !== 'valid' || !this.built || x.isPlaceholder || layerOutputHookActive()) return null;
    const y = this.finish(this.convolve(x, pads));
    if (this.inboundNodes.length === 0) this.lastOutputShape = [null, ...y.shape.slice(1)];
    return y;
  }

  /** Whether convolve() already added the bias. */
  protected convolveAddsBias(): boolean {
    return false;
  }

  protected finish(y: Tensor): Tensor {
    return activation(this.bias && !this.convolveAddsBias() ? biasAdd(y, this.bias, this.who) : y, this.activation);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      activation: this.activation,
      useBias: this.useBias,
      biasInitializer: this.config.biasInitializer ?? 'zeros',
      biasRegularizer: this.config.biasRegularizer ?? null,
    };
  }
}

/**
 * Conv2D (keras.layers.Conv2D): `filters` kernels of kernelSize x inChannels, HWIO.
 * Output [n, oh, ow, filters]; params kh * kw * inChannels * filters + filters (K*F*F*D_in + K).
 */
export class Conv2D extends ConvBase {
  readonly filters: number;
  kernel!: Variable;

  constructor(config: Conv2DConfig) {
    super(config);
    this.filters = this.positiveInt('filters', config.filters);
  }

  protected outChannels(): number {
    return this.filters;
  }

  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    const c = this.inputChannels(inputShape);
    const cfg = this.config as Conv2DConfig;
    this.kernel = this.addWeight('kernel', [...this.kernelSize, c, this.filters], {
      initializer: cfg.kernelInitializer ?? 'glorotUniform', // keras/src/layers/convolutional/base_conv.py
      regularizer: cfg.kernelRegularizer,
    });
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], { initializer: cfg.biasInitializer ?? 'zeros', regularizer: cfg.biasRegularizer });
    super.build(inputShape);
  }

  /** With the bias: the native GEMM adds it as it finishes each output block (one pass over y fewer). */
  protected convolve(x: Tensor, padding: Padding | ExplicitPadding): Tensor {
    return conv2d(x, this.kernel, { strides: this.strides, padding, dilationRate: this.dilationRate, bias: this.bias, who: this.who });
  }

  protected override convolveAddsBias(): boolean {
    return true;
  }

  override getConfig(): Record<string, unknown> {
    const cfg = this.config as Conv2DConfig;
    return { ...super.getConfig(), filters: this.filters, kernelInitializer: cfg.kernelInitializer ?? 'glorotUniform', kernelRegularizer: cfg.kernelRegularizer ?? null };
  }
}

/**
 * DepthwiseConv2D (keras.layers.DepthwiseConv2D): each input channel gets depthMultiplier filters of its own.
 * Output [n, oh, ow, inChannels * depthMultiplier]; params kh * kw * inChannels * depthMultiplier (+ bias).
 */
export class DepthwiseConv2D extends ConvBase {
  readonly depthMultiplier: number;
  depthwiseKernel!: Variable;

  constructor(config: DepthwiseConv2DConfig) {
    super(config);
    this.depthMultiplier = this.positiveInt('depthMultiplier', config.depthMultiplier ?? 1);
  }

  protected outChannels(c: number): number {
    return c * this.depthMultiplier;
  }

  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    const c = this.inputChannels(inputShape);
    const cfg = this.config as DepthwiseConv2DConfig;
    this.depthwiseKernel = this.addWeight('depthwise_kernel', [...this.kernelSize, c, this.depthMultiplier], {
      initializer: cfg.depthwiseInitializer ?? 'glorotUniform', // keras/src/layers/convolutional/base_depthwise_conv.py
      regularizer: cfg.depthwiseRegularizer,
    });
    if (this.useBias) this.bias = this.addWeight('bias', [c * this.depthMultiplier], { initializer: cfg.biasInitializer ?? 'zeros', regularizer: cfg.biasRegularizer });
    super.build(inputShape);
  }

  protected convolve(x: Tensor, padding: Padding | ExplicitPadding): Tensor {
    return depthwiseConv2d(x, this.depthwiseKernel, { strides: this.strides, padding, dilationRate: this.dilationRate, who: this.who });
  }

  override getConfig(): Record<string, unknown> {
    const cfg = this.config as DepthwiseConv2DConfig;
    return {
      ...super.getConfig(),
      depthMultiplier: this.depthMultiplier,
      depthwiseInitializer: cfg.depthwiseInitializer ?? 'glorotUniform',
      depthwiseRegularizer: cfg.depthwiseRegularizer ?? null,
    };
  }
}
