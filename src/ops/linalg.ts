import { record } from '../autograd/tape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { anyPlaceholder, assertRank, assertSameDtype, backendFor, rowsAndChannels, tensorOf } from './util.js';

/**
 * Matrix product of a [m, k] and b [k, n].
 * Backward: da = dy b^T, db = a^T dy.
 */
export function matmul(a: Tensor, b: Tensor, who = 'matmul'): Tensor {
  assertRank(who, 'a', a, 2);
  assertRank(who, 'b', b, 2);
  assertSameDtype(who, [a, b]);
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) throw new Error(`${who}: expected a [m, k] and b [k, n] with the same k, received ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (anyPlaceholder([a, b])) return Tensor.placeholder([m, n], a.dtype);
  const be = backendFor(a);
  const y = tensorOf(be.matmul(a.data, b.data, m, k, n, false, false), [m, n]);
  return record(y, 'matmul', [a, b], (dy) => [
    a.requiresGrad ? tensorOf(be.matmul(dy.data, b.data, m, n, k, false, true), a.shape) : null,
    b.requiresGrad ? tensorOf(be.matmul(a.data, dy.data, k, m, n, true, false), b.shape) : null,
  ]);
}

/** x + bias over the last axis; the bias gradient sums dy over every other axis. */
export function biasAdd(x: Tensor, bias: Tensor, who = 'biasAdd'): Tensor {
  assertRank(who, 'bias', bias, 1);
  assertSameDtype(who, [x, bias]);
  const [, c] = rowsAndChannels(x);
  if (bias.shape[0] !== c) throw new Error(`${who}: argument 'bias' expected shape (${c}), received ${formatShape(bias.shape)}`);
  if (anyPlaceholder([x, bias])) return Tensor.placeholder(x.shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.biasAdd(x.data, bias.data, c), x.shape);
  return record(y, 'biasAdd', [x, bias], (dy) => [dy, bias.requiresGrad ? tensorOf(be.sumRows(dy.data, c), bias.shape) : null]);
}

/**
 * Dense over the last axis: y[..., j] = sum_i x[..., i] * kernel[i, j] + bias[j] (Keras applies Dense to the
 * last axis of inputs of any rank).
 */
export function dense(x: Tensor, kernel: Tensor, bias: Tensor | null, who = 'dense'): Tensor {
  const [rows, c] = rowsAndChannels(x);
  if (kernel.shape[0] !== c) {
    throw new Error(`${who}: argument 'input' expected last dimension ${kernel.shape[0]} (kernel ${formatShape(kernel.shape)}), received shape ${formatShape(x.shape)}`);
  }
  const flat = reshapeView(x, [rows, c]);
  let y = matmul(flat, kernel, who);
  if (bias) y = biasAdd(y, bias, who);
  return reshapeView(y, [...x.shape.slice(0, -1), kernel.shape[1]]);
}

/** Same values under a new shape of the same size (no copy). */
export function reshapeView(x: Tensor, shape: readonly number[], who = 'reshape'): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== x.size) throw new Error(`${who}: cannot reshape ${formatShape(x.shape)} (${x.size} values) to ${formatShape(shape)} (${size} values)`);
  if (x.isPlaceholder) return Tensor.placeholder(shape, x.dtype);
  const y = new Tensor(x.data, shape);
  return record(y, 'reshape', [x], (dy) => [new Tensor(dy.data, x.shape)]);
}
