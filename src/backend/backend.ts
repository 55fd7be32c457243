import type { Conv2DInfo, Pool2DInfo } from './geometry.js';
import type { FloatArray } from '../tensor/tensor.js';

export type { FloatArray };
export type Activation = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh';
/** The activations batch norm can apply in its own pass (a clip: its mask can be read from the output). */
export type ClipActivation = 'linear' | 'relu' | 'relu6';

/**
 * The one seam between the maths and the machine. Every kernel takes flat arrays plus geometry already
 * resolved (a backend never decides padding) and returns a freshly allocated array of the input's type.
 * Layouts: images NHWC, convolution kernels HWIO, depthwise kernels [kh, kw, c, depthMultiplier], matrices
 * row-major. `rows` means the product of all axes but the last (channels) axis.
 *
 * `reference` implements all of it in plain TypeScript and is the specification; `native` overrides what it
 * accelerates and inherits the rest.
 */
export interface Backend {
  readonly name: string;

  // Elementwise, same length.
  add(a: FloatArray, b: FloatArray): FloatArray;
  /**
   * Sum of several same-length arrays, added left to right ((p0 + p1) + p2 ...: the numbers of pairwise adds)
   * in one pass: a gradient that reaches a tensor along k paths costs k + 1 streams, not 3 (k - 1).
   */
  addN(parts: FloatArray[]): FloatArray;
  sub(a: FloatArray, b: FloatArray): FloatArray;
  mul(a: FloatArray, b: FloatArray): FloatArray;
  /** a * s */
  scale(a: FloatArray, s: number): FloatArray;
  /** Sum of all values (accumulated in float64). */
  sum(a: FloatArray): number;
  /** Sum of squares (accumulated in float64), for L2 penalties. */
  sumSquares(a: FloatArray): number;
  /** Whether every value is finite (no NaN, no infinity): the guard before an optimizer step. */
  allFinite(a: FloatArray): boolean;
  /**
   * Inverted dropout, y = x * mask: value i is kept (mask 1 / (1 - rate)) when dropoutBits(seed, i) >=
   * round(rate * 2^24), else the mask is 0. The mask depends on (seed, i) only, so every backend draws the
   * same one and the backward pass (the same call on dy) regenerates it instead of storing it.
   */
  dropout(x: FloatArray, rate: number, seed: number): FloatArray;

  // Channel-broadcast ops over x [rows, c].
  /** x + bias[c] */
  biasAdd(x: FloatArray, bias: FloatArray, c: number): FloatArray;
  /** Column sums of x [rows, c] -> [c] (the bias gradient). */
  sumRows(x: FloatArray, c: number): FloatArray;

  activation(kind: Activation, x: FloatArray): FloatArray;
  /** dL/dx given x, y = f(x) and dL/dy. */
  activationBackward(kind: Activation, x: FloatArray, y: FloatArray, dy: FloatArray): FloatArray;
  /** Row-wise softmax of x [rows, c]. */
  softmax(x: FloatArray, c: number): FloatArray;
  /** dL/dx given y = softmax(x) and dL/dy. */
  softmaxBackward(y: FloatArray, dy: FloatArray, c: number): FloatArray;

  /** out[m, n] = op(a) op(b), op(a) [m, k], op(b) [k, n]; transA means a is stored [k, m]. */
  matmul(a: FloatArray, b: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean): FloatArray;

  /**
   * y [n, oh, ow, outC] from x [n, h, w, c] and w [kh, kw, c, outC], plus bias[outC] when given: added to each
   * output block as the GEMM finishes it, the same sums as biasAdd after the convolution, one pass fewer.
   */
  conv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo, bias?: FloatArray | null): FloatArray;
  /** dx [n, h, w, c] from dy [n, oh, ow, outC] and w. */
  conv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray;
  /** dw [kh, kw, c, outC] from x and dy. */
  conv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray;

  /** y [n, oh, ow, c * m] from x [n, h, w, c] and w [kh, kw, c, m]; output channel ci * m + q. */
  depthwiseConv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray;
  depthwiseConv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray;
  depthwiseConv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray;

  /** Padded positions never win (they are -infinity). */
  maxPool(x: FloatArray, g: Pool2DInfo): FloatArray;
  /** Routes dy to the first maximum of each window (recomputed from x). */
  maxPoolBackward(x: FloatArray, dy: FloatArray, g: Pool2DInfo): FloatArray;
  /** Divides by the number of real (unpadded) positions in each window, as TensorFlow does. */
  avgPool(x: FloatArray, g: Pool2DInfo): FloatArray;
  avgPoolBackward(dy: FloatArray, g: Pool2DInfo): FloatArray;

  /** x [n, hw, c] -> [n, c]. */
  globalAvgPool(x: FloatArray, n: number, hw: number, c: number): FloatArray;
  globalAvgPoolBackward(dy: FloatArray, n: number, hw: number, c: number): FloatArray;
  globalMaxPool(x: FloatArray, n: number, hw: number, c: number): FloatArray;
  globalMaxPoolBackward(x: FloatArray, dy: FloatArray, n: number, hw: number, c: number): FloatArray;

  /**
   * Training-mode batch norm over x [rows, c]: batch mean and biased variance per channel,
   * y = act(gamma * (x - mean) / sqrt(variance + eps) + beta), act a ReLU, ReLU6 or nothing ('linear', the
   * default): fused, the normalised values are clipped before they ever go to memory.
   */
  batchNormTrain(x: FloatArray, gamma: FloatArray, beta: FloatArray, c: number, eps: number, act?: ClipActivation): { y: FloatArray; mean: FloatArray; variance: FloatArray };
  /**
   * Gradients of batchNormTrain (the batch statistics depend on x). With an activation fused, dy is masked
   * where the activation blocked it, inside the same passes; beta (needed then) lets the backend recompute
   * the activation's input from x exactly as the forward pass formed it, instead of reading y.
   */
  batchNormTrainBackward(x: FloatArray, dy: FloatArray, gamma: FloatArray, mean: FloatArray, variance: FloatArray, c: number, eps: number, act?: ClipActivation, beta?: FloatArray): { dx: FloatArray; dgamma: FloatArray; dbeta: FloatArray };
  /** Per-channel affine y = act(x * scale[c] + shift[c]) (inference batch norm after folding, and its clip). */
  channelAffine(x: FloatArray, scale: FloatArray, shift: FloatArray, c: number, act?: ClipActivation): FloatArray;

  /** Concatenates along the last axis: parts[i] is [rows, widths[i]]. */
  concatLastAxis(parts: FloatArray[], widths: number[], rows: number): FloatArray;
  /** The inverse: slices [rows, sum(widths)] into parts. */
  splitLastAxis(x: FloatArray, widths: number[], rows: number): FloatArray[];
  /** Zero padding of NHWC images by [top, bottom, left, right]. */
  pad2d(x: FloatArray, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): FloatArray;
  /** The inverse crop, for the gradient of pad2d. */
  crop2d(x: FloatArray, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): FloatArray;
  /**
   * Row i of dst (rowLength values) = row indices[i] of src (a training batch gathered from the data in
   * memory); dst is written in place. Every index must name a row of src, and dst hold them all.
   */
  gatherRows(src: FloatArray, rowLength: number, indices: ArrayLike<number>, dst: FloatArray): void;

  /**
   * Softmax cross-entropy on logits [rows, c] with integer labels: per-row loss and the softmax
   * probabilities (kept for the backward pass, which is (p - onehot) * dLoss).
   */
  softmaxCrossEntropy(logits: FloatArray, labels: Int32Array, c: number): { loss: FloatArray; probs: FloatArray };

  /** Adam step in place, Keras form: w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon). */
  adamUpdate(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number, beta2: number, epsilon: number, step: number): void;
  /** SGD step in place, with optional momentum buffer (Keras form: v = momentum * v - lr * g). */
  sgdUpdate(param: FloatArray, grad: FloatArray, velocity: FloatArray | null, lr: number, momentum: number, nesterov: boolean): void;
}
