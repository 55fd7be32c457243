import { record } from '../autograd/tape.js';
import type { ClipActivation } from '../backend/backend.js';
import { Tensor, allocLike } from '../tensor/tensor.js';
import { anyPlaceholder, assertSameDtype, backendFor, rowsAndChannels, tensorOf } from './util.js';

/**
 * Batch statistics over the processes of a data-parallel step (Keras SyncBatchNormalization), set by fit for the
 * duration of one step when asked (`syncBatchNorm`); null: each process normalizes with its own shard's statistics.
 * sum: in place, the sum over processes (collective, same bits everywhere); weight: this process's share n_k / n
 * of the global batch (its loss is the mean over its n_k samples, and its gradients are later scaled by it).
 */
export interface BatchNormSync {
  sum(a: Float64Array): void;
  weight: number;
}

let bnSync: BatchNormSync | null = null;

/** Sets the cross-process statistics hook (see BatchNormSync); returns the previous one. */
export function setBatchNormSync(s: BatchNormSync | null): BatchNormSync | null {
  const prev = bnSync;
  bnSync = s;
  return prev;
}

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
  if (bnSync) return syncBatchNormTraining(bnSync, x, gamma, beta, epsilon, act, c);
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

/**
 * batchNormTraining with the statistics of the global batch (SyncBatchNormalization). Forward, two collective
 * passes as the single-process kernel's two passes: the per-channel sums and the row count give the global mean,
 * then the sums of squared deviations from it the global (biased) variance. Backward: dgamma and dbeta stay this
 * process's sums (the gradient reduction adds them up across processes, weighted), while dx needs sum dy and
 * sum dy * xhat over the global batch: each process contributes its sums times its weight w_k (its gradients are
 * of w_k-weighted parts of the global loss), and divides by its own weight, so the reduced gradients are those
 * of the global batch's mean loss, as one process computes them.
 */
function syncBatchNormTraining(sync: BatchNormSync, x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number, act: ClipActivation, c: number): { y: Tensor; mean: Tensor; variance: Tensor } {
  const be = backendFor(x);
  const rows = x.data.length / c;
  const zeros = allocLike(x.data, c);
  const ones = allocLike(x.data, c).fill(1);
  const stats = new Float64Array(c + 1);
  stats.set(be.sumRows(x.data, c));
  stats[c] = rows;
  sync.sum(stats);
  const n = stats[c];
  const mean = allocLike(x.data, c);
  for (let j = 0; j < c; j++) mean[j] = stats[j] / n;
  const negMean = allocLike(x.data, c);
  for (let j = 0; j < c; j++) negMean[j] = -mean[j];
  const d = be.channelAffine(x.data, ones, negMean, c);
  const sq = new Float64Array(c);
  sq.set(be.sumRows(be.mul(d, d), c));
  sync.sum(sq);
  const variance = allocLike(x.data, c);
  const inv = allocLike(x.data, c);
  const scale = allocLike(x.data, c);
  const shift = allocLike(x.data, c);
  for (let j = 0; j < c; j++) {
    variance[j] = sq[j] / n;
    inv[j] = 1 / Math.sqrt(variance[j] + epsilon);
    scale[j] = gamma.data[j] * inv[j];
    shift[j] = beta.data[j] - mean[j] * scale[j];
  }
  const y = tensorOf(be.channelAffine(x.data, scale, shift, c, act), x.shape);
  const weight = sync.weight;
  record(y, act === 'linear' ? 'syncBatchNormTraining' : `syncBatchNormTraining+${act}`, [x, gamma, beta], (dyOut) => {
    const dy = act === 'linear' ? dyOut.data : be.activationBackward(act, y.data, y.data, dyOut.data);
    const xhat = be.channelAffine(d, inv, zeros, c);
    const dbeta = be.sumRows(dy, c);
    const dgamma = be.sumRows(be.mul(dy, xhat), c);
    const g = new Float64Array(2 * c);
    for (let j = 0; j < c; j++) {
      g[j] = dbeta[j] * weight;
      g[c + j] = dgamma[j] * weight;
    }
    sync.sum(g);
    // dx = gamma * inv * (dy - G1 / (n w) - xhat * G2 / (n w)) = dy * s + xhat * t + u, per channel.
    const s = allocLike(x.data, c);
    const t = allocLike(x.data, c);
    const u = allocLike(x.data, c);
    for (let j = 0; j < c; j++) {
      s[j] = scale[j];
      t[j] = (-scale[j] * g[c + j]) / (n * weight);
      u[j] = (-scale[j] * g[j]) / (n * weight);
    }
    const dx = be.add(be.channelAffine(dy, s, u, c), be.channelAffine(xhat, t, zeros, c));
    return [tensorOf(dx, x.shape), tensorOf(dgamma, gamma.shape), tensorOf(dbeta, beta.shape)];
  });
  return { y, mean: tensorOf(mean, [c]), variance: tensorOf(variance, [c]) };
}
