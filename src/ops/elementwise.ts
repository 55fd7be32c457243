import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { anyPlaceholder, assertSameDtype, assertSameShape, backendFor, tensorOf } from './util.js';

/** a + b, same shapes (Keras's Add layer does not broadcast). */
export function add(a: Tensor, b: Tensor): Tensor {
  assertSameShape('add', a, b);
  assertSameDtype('add', [a, b]);
  if (anyPlaceholder([a, b])) return Tensor.placeholder(a.shape, a.dtype);
  const y = tensorOf(backendFor(a).add(a.data, b.data), a.shape);
  return record(y, 'add', [a, b], (dy) => [dy, dy]);
}

/** Sum of several same-shaped tensors. */
export function addN(xs: readonly Tensor[]): Tensor {
  return xs.slice(1).reduce((acc, x) => add(acc, x), xs[0]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  assertSameShape('sub', a, b);
  assertSameDtype('sub', [a, b]);
  if (anyPlaceholder([a, b])) return Tensor.placeholder(a.shape, a.dtype);
  const be = backendFor(a);
  const y = tensorOf(be.sub(a.data, b.data), a.shape);
  return record(y, 'sub', [a, b], (dy) => [dy, tensorOf(be.scale(dy.data, -1), b.shape)]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  assertSameShape('mul', a, b);
  assertSameDtype('mul', [a, b]);
  if (anyPlaceholder([a, b])) return Tensor.placeholder(a.shape, a.dtype);
  const be = backendFor(a);
  const y = tensorOf(be.mul(a.data, b.data), a.shape);
  return record(y, 'mul', [a, b], (dy) => [tensorOf(be.mul(dy.data, b.data), a.shape), tensorOf(be.mul(dy.data, a.data), b.shape)]);
}

/** x * s for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  if (anyPlaceholder([x])) return Tensor.placeholder(x.shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.scale(x.data, s), x.shape);
  return record(y, 'scale', [x], (dy) => [tensorOf(be.scale(dy.data, s), x.shape)]);
}

/** Sum of all values, as a scalar. */
export function sum(x: Tensor): Tensor {
  if (anyPlaceholder([x])) return Tensor.placeholder([], x.dtype);
  const y = Tensor.scalar(backendFor(x).sum(x.data), x.dtype);
  return record(y, 'sum', [x], (dy) => [Tensor.full(x.shape, dy.data[0], x.dtype)]);
}

/** Mean of all values, as a scalar. */
export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / Math.max(x.size, 1));
}

/** Adds scalars (loss terms). */
export function addScalars(terms: readonly Tensor[]): Tensor {
  return addN(terms.map((t) => (t.rank === 0 ? t : sum(t))));
}
