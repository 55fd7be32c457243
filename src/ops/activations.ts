import type { Activation } from '../backend/backend.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { anyPlaceholder, backendFor, rowsAndChannels, tensorOf } from './util.js';

export type { Activation };
export type ActivationName = Activation | 'softmax';
export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax'];

/** Logits behind a softmax output, so cross-entropy on probabilities can work from logits as Keras does. */
const softmaxLogits = new WeakMap<Tensor, Tensor>();
export function logitsOf(probs: Tensor): Tensor | undefined {
  return softmaxLogits.get(probs);
}

/** Elementwise activation: relu max(x, 0); relu6 min(max(x, 0), 6); sigmoid 1 / (1 + e^-x); tanh; linear. */
export function activation(x: Tensor, kind: ActivationName): Tensor {
  if (kind === 'softmax') return softmax(x);
  if (kind === 'linear') return x;
  if (anyPlaceholder([x])) return Tensor.placeholder(x.shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.activation(kind, x.data), x.shape);
  return record(y, kind, [x], (dy) => [tensorOf(be.activationBackward(kind, x.data, y.data, dy.data), x.shape)]);
}

export const relu = (x: Tensor): Tensor => activation(x, 'relu');
export const relu6 = (x: Tensor): Tensor => activation(x, 'relu6');
export const sigmoid = (x: Tensor): Tensor => activation(x, 'sigmoid');
export const tanh = (x: Tensor): Tensor => activation(x, 'tanh');

/** softmax over the last axis: exp(x_j) / sum_k exp(x_k). */
export function softmax(x: Tensor): Tensor {
  if (anyPlaceholder([x])) return Tensor.placeholder(x.shape, x.dtype);
  const be = backendFor(x);
  const [, c] = rowsAndChannels(x);
  const y = tensorOf(be.softmax(x.data, c), x.shape);
  softmaxLogits.set(y, x);
  return record(y, 'softmax', [x], (dy) => [tensorOf(be.softmaxBackward(y.data, dy.data, c), x.shape)]);
}
