import { record } from '../autograd/tape.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor, allocLike } from '../tensor/tensor.js';
import { logitsOf } from './activations.js';
import { scale } from './elementwise.js';
import { backendFor, rowsAndChannels, tensorOf } from './util.js';

/** Keras's fuzz factor (keras/src/backend/config.py epsilon()): probabilities are clipped to [1e-7, 1 - 1e-7]. */
export const EPSILON = 1e-7;

export type Labels = Int32Array | readonly number[];

function checkLabels(who: string, labels: Labels, rows: number, c: number): Int32Array {
  if (labels.length !== rows) throw new Error(`${who}: argument 'yTrue' expected ${rows} labels (one per row of yPred), received ${labels.length}`);
  const out = labels instanceof Int32Array ? labels : Int32Array.from(labels);
  for (let i = 0; i < out.length; i++) {
    if (!(out[i] >= 0 && out[i] < c) || !Number.isInteger(labels[i])) {
      throw new Error(`${who}: argument 'yTrue' expected integer labels in [0, ${c}), received ${labels[i]} at index ${i}`);
    }
  }
  return out;
}

/**
 * Sparse categorical cross-entropy, mean over the batch.
 * fromLogits: loss_r = logsumexp(z_r) - z_r[y_r].
 * On probabilities (Keras): p is clipped to [eps, 1 - eps] and loss_r = -log(p_r[y_r] / sum_j p_r[j]); when
 * p came straight out of a softmax, Keras uses the softmax's logits instead, and so do we.
 */
export function sparseCategoricalCrossentropy(yTrue: Labels, yPred: Tensor, opts: { fromLogits?: boolean } = {}): Tensor {
  const who = 'sparseCategoricalCrossentropy';
  const [rows, c] = rowsAndChannels(yPred);
  const labels = checkLabels(who, yTrue, rows, c);
  const logits = opts.fromLogits ? yPred : logitsOf(yPred);
  if (logits) return scale(softmaxCrossEntropyRows(logits, labels, c), 1 / rows);
  return scale(clippedCrossEntropyRows(yPred, labels, c), 1 / rows);
}

function softmaxCrossEntropyRows(logits: Tensor, labels: Int32Array, c: number): Tensor {
  const be = backendFor(logits);
  const r = be.softmaxCrossEntropy(logits.data, labels, c);
  const y = Tensor.scalar(be.sum(r.loss), logits.dtype);
  return record(y, 'softmaxCrossEntropy', [logits], (dy) => {
    const g = allocLike(logits.data, logits.size);
    const d = dy.data[0];
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < c; j++) g[i * c + j] = d * (r.probs[i * c + j] - (j === labels[i] ? 1 : 0));
    }
    return [tensorOf(g, logits.shape)];
  });
}

function clippedCrossEntropyRows(p: Tensor, labels: Int32Array, c: number): Tensor {
  const clip = (v: number): number => Math.min(Math.max(v, EPSILON), 1 - EPSILON);
  let total = 0;
  const sums = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += clip(p.data[i * c + j]);
    sums[i] = s;
    total += Math.log(s) - Math.log(clip(p.data[i * c + labels[i]]));
  }
  const y = Tensor.scalar(total, p.dtype);
  return record(y, 'crossEntropyOnProbabilities', [p], (dy) => {
    const g = allocLike(p.data, p.size);
    const d = dy.data[0];
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < c; j++) {
        const v = p.data[i * c + j];
        if (v < EPSILON || v > 1 - EPSILON) continue; // the clip has zero gradient outside its range
        g[i * c + j] = d * (1 / sums[i] - (j === labels[i] ? 1 / v : 0));
      }
    }
    return [tensorOf(g, p.shape)];
  });
}

/**
 * Categorical cross-entropy with one-hot (or soft) targets, mean over the batch.
 * fromLogits: -sum_j t_j log softmax(z)_j; on probabilities, p is normalised to sum 1, clipped, and
 * -sum_j t_j log p_j (keras/src/backend/tensorflow/nn.py categorical_crossentropy). When p came straight out
 * of a softmax, Keras uses the softmax's logits instead (`_keras_logits`), and so do we.
 */
export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, opts: { fromLogits?: boolean } = {}): Tensor {
  const who = 'categoricalCrossentropy';
  if (!shapesEqual(yTrue.shape, yPred.shape)) throw new Error(`${who}: expected yTrue and yPred of the same shape, received ${formatShape(yTrue.shape)} and ${formatShape(yPred.shape)}`);
  const [rows, c] = rowsAndChannels(yPred);
  const logits = opts.fromLogits ? yPred : logitsOf(yPred);
  const source = logits ?? yPred;
  const t = yTrue.data;
  const x = source.data;
  const g = allocLike(x, x.length);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * c;
    let tSum = 0;
    for (let j = 0; j < c; j++) tSum += t[o + j];
    if (logits) {
      let max = -Infinity;
      for (let j = 0; j < c; j++) max = Math.max(max, x[o + j]);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(x[o + j] - max);
      const lse = Math.log(s) + max;
      for (let j = 0; j < c; j++) {
        total -= t[o + j] * (x[o + j] - lse);
        g[o + j] = (Math.exp(x[o + j] - lse) * tSum - t[o + j]) / rows;
      }
    } else {
      let s = 0;
      for (let j = 0; j < c; j++) s += x[o + j];
      for (let j = 0; j < c; j++) {
        const q = x[o + j] / s;
        const qc = Math.min(Math.max(q, EPSILON), 1 - EPSILON);
        total -= t[o + j] * Math.log(qc);
        // d/dx_k of -sum_j t_j log(x_j / s) = -t_k / x_k + tSum / s (inside the clip range).
        if (q >= EPSILON && q <= 1 - EPSILON) g[o + j] += -t[o + j] / x[o + j] / rows;
      }
      for (let j = 0; j < c; j++) {
        // The normalisation term reaches every x_k through s, for the j whose q is unclipped.
        let acc = 0;
        for (let k = 0; k < c; k++) {
          const q = x[o + k] / s;
          if (q >= EPSILON && q <= 1 - EPSILON) acc += t[o + k];
        }
        g[o + j] += acc / s / rows;
      }
    }
  }
  const y = Tensor.scalar(total / rows, yPred.dtype);
  return record(y, 'categoricalCrossentropy', [source], (dy) => [tensorOf(backendFor(source).scale(g, dy.data[0]), source.shape)]);
}

/** Mean squared error over every value (Keras averages the last axis, then the batch: the same number). */
export function meanSquaredError(yTrue: Tensor, yPred: Tensor): Tensor {
  if (!shapesEqual(yTrue.shape, yPred.shape)) throw new Error(`meanSquaredError: expected yTrue and yPred of the same shape, received ${formatShape(yTrue.shape)} and ${formatShape(yPred.shape)}`);
  const be = backendFor(yPred);
  const diff = be.sub(yPred.data, yTrue.data);
  const y = Tensor.scalar(be.sumSquares(diff) / yPred.size, yPred.dtype);
  return record(y, 'meanSquaredError', [yPred], (dy) => [tensorOf(be.scale(diff, (2 * dy.data[0]) / yPred.size), yPred.shape)]);
}

/** L2 penalty factor * sum(w^2) (keras.regularizers.L2; Keras's default factor is 0.01). */
export function l2Penalty(w: Tensor, factor: number): Tensor {
  const be = backendFor(w);
  const y = Tensor.scalar(factor * be.sumSquares(w.data), w.dtype);
  return record(y, 'l2Penalty', [w], (dy) => [tensorOf(be.scale(w.data, 2 * factor * dy.data[0]), w.shape)]);
}

