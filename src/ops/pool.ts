import { ExplicitPadding, Padding, pool2dInfo } from '../backend/geometry.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { Pair, pair } from './conv.js';
import { anyPlaceholder, assertRank, backendFor, tensorOf } from './util.js';

export interface PoolOptions {
  poolSize?: Pair;
  /** Defaults to poolSize, as in Keras. */
  strides?: Pair;
  padding?: Padding | ExplicitPadding;
  who?: string;
}

function geometry(x: Tensor, opts: PoolOptions, who: string) {
  assertRank(who, 'input', x, 4, '[batch, height, width, channels]');
  const poolSize = pair(opts.poolSize ?? 2);
  return pool2dInfo({ inputShape: x.shape, kernelSize: poolSize, strides: pair(opts.strides ?? poolSize), padding: opts.padding ?? 'valid', who });
}

/** y[b, i, j, c] = max over the window of x; the gradient flows to the first maximum. */
export function maxPool2d(x: Tensor, opts: PoolOptions = {}): Tensor {
  const g = geometry(x, opts, opts.who ?? 'maxPool2d');
  const shape = [g.n, g.oh, g.ow, g.c];
  if (anyPlaceholder([x])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.maxPool(x.data, g), shape);
  return record(y, 'maxPool2d', [x], (dy) => [tensorOf(be.maxPoolBackward(x.data, dy.data, g), x.shape)]);
}

/** y[b, i, j, c] = mean over the real (unpadded) positions of the window. */
export function avgPool2d(x: Tensor, opts: PoolOptions = {}): Tensor {
  const g = geometry(x, opts, opts.who ?? 'avgPool2d');
  const shape = [g.n, g.oh, g.ow, g.c];
  if (anyPlaceholder([x])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.avgPool(x.data, g), shape);
  return record(y, 'avgPool2d', [x], (dy) => [tensorOf(be.avgPoolBackward(dy.data, g), x.shape)]);
}

/** [n, h, w, c] -> [n, c] (or [n, 1, 1, c] with keepdims), the mean over all positions. */
export function globalAvgPool2d(x: Tensor, keepdims = false, who = 'globalAvgPool2d'): Tensor {
  assertRank(who, 'input', x, 4, '[batch, height, width, channels]');
  const [n, h, w, c] = x.shape;
  const shape = keepdims ? [n, 1, 1, c] : [n, c];
  if (anyPlaceholder([x])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.globalAvgPool(x.data, n, h * w, c), shape);
  return record(y, 'globalAvgPool2d', [x], (dy) => [tensorOf(be.globalAvgPoolBackward(dy.data, n, h * w, c), x.shape)]);
}

/** [n, h, w, c] -> [n, c] (or [n, 1, 1, c]), the maximum over all positions. */
export function globalMaxPool2d(x: Tensor, keepdims = false, who = 'globalMaxPool2d'): Tensor {
  assertRank(who, 'input', x, 4, '[batch, height, width, channels]');
  const [n, h, w, c] = x.shape;
  const shape = keepdims ? [n, 1, 1, c] : [n, c];
  if (anyPlaceholder([x])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.globalMaxPool(x.data, n, h * w, c), shape);
  return record(y, 'globalMaxPool2d', [x], (dy) => [tensorOf(be.globalMaxPoolBackward(x.data, dy.data, n, h * w, c), x.shape)]);
}
