import { record } from '../autograd/tape.js';
import type { ClipActivation } from '../backend/backend.js';
import { Tensor, allocLike } from '../tensor/tensor.js';
import { anyPlaceholder, assertSameDtype, backendFor, rowsAndChannels, tensorOf } from './util.js';

/**
 * Batch normalization with batch statistics over every axis but the last:
 *   y = act(gamma * (x - mean) / sqrt(variance + epsilon) + beta)
 * act is 'linear' (none) or the ReLU / ReLU6 that follows the normalisation in most CNNs, fused into the same
 * passes: the same numbers as activation(batchNormTraining(x)), one pass over memory fewer each way.
 * Returns the batch mean and biased variance too, for the layer's moving averages (they carry no gradient).
 */
export function batchNormTraining(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number, act: ClipActivation = 'linear'): { y: Tensor; mean: Tensor; variance: Tensor } {
  assertSameDtype('batchNorm', [x, gamma, beta]);
  const [, c] = rowsAndChannels(x);
  if (anyPlaceholder([x, gamma, beta])) return { y: Tensor.placeholder(x.shape, x.dtype), mean: Tensor.placeholder([c]), variance: Tensor.placeholder([c]) };
  const be = backendFor(x);
  const r = be.batchNormTrain(x.data, gamma.data, beta.data, c, epsilon, act);
  const y = tensorOf(r.y, x.shape);
  record(y, act === 'linear' ? 'batchNormTraining' : `batchNormTraining+${act}`, [x, gamma, beta], (dy) => {
    const g = be.batchNormTrainBackward(x.data, dy.data, gamma.data, r.mean, r.variance, c, epsilon, act, beta.data);
    return [tensorOf(g.dx, x.shape), tensorOf(g.dgamma, gamma.shape), tensorOf(g.dbeta, beta.shape)];
  });
  return { y, mean: tensorOf(r.mean, [c]), variance: tensorOf(r.variance, [c]) };
}

/**
 * Batch normalization with fixed statistics (inference): y = act(x * s + (beta - mean * s)),
 * s = gamma / sqrt(var + eps), act as in batchNormTraining (applied in the same pass).
 * Differentiable in x, gamma and beta (fine-tuning with frozen statistics).
 */
export function batchNormInference(x: Tensor, gamma: Tensor, beta: Tensor, movingMean: Tensor, movingVariance: Tensor, epsilon: number, act: ClipActivation = 'linear'): Tensor {
  assertSameDtype('batchNorm', [x, gamma, beta]);
  if (anyPlaceholder([x, gamma, beta])) return Tensor.placeholder(x.shape, x.dtype);
  const [, c] = rowsAndChannels(x);
  const be = backendFor(x);
  const invStd = allocLike(x.data, c);
  const s = allocLike(x.data, c);
  const shift = allocLike(x.data, c);
  for (let j = 0; j < c; j++) {
    invStd[j] = 1 / Math.sqrt(movingVariance.data[j] + epsilon);
    s[j] = gamma.data[j] * invStd[j];
    shift[j] = beta.data[j] - movingMean.data[j] * s[j];
  }
  const y = tensorOf(be.channelAffine(x.data, s, shift, c, act), x.shape);
  return record(y, act === 'linear' ? 'batchNormInference' : `batchNormInference+${act}`, [x, gamma, beta], (dyOut) => {
    // The clip's gradient first (its mask read from y), then the affine's.
    const dy = act === 'linear' ? dyOut : tensorOf(be.activationBackward(act, y.data, y.data, dyOut.data), y.shape);
    const zero = allocLike(x.data, c);
    const dx = be.channelAffine(dy.data, s, zero, c);
    // dgamma = sum dy * xhat, with xhat = (x - mean) * invStd = x * invStd - mean * invStd.
    const negMeanInv = allocLike(x.data, c);
    for (let j = 0; j < c; j++) negMeanInv[j] = -movingMean.data[j] * invStd[j];
    const xhat = be.channelAffine(x.data, invStd, negMeanInv, c);
    return [tensorOf(dx, x.shape), tensorOf(be.sumRows(be.mul(dy.data, xhat), c), gamma.shape), tensorOf(be.sumRows(dy.data, c), beta.shape)];
  });
}
