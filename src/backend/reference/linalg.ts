import type { ClipActivation } from '../backend.js';
import { FloatArray, allocLike } from '../../tensor/tensor.js';
import { activation, activationBackward } from './elementwise.js';

/**
 * out[i, j] = sum_p A[i, p] * B[p, j], with A = a or a^T (stored [k, m]) and B = b or b^T (stored [n, k]).
 * The i-p-j order keeps the inner loop on contiguous rows of B and out when B is not transposed.
 */
export function matmul(a: FloatArray, b: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean): FloatArray {
  const out = allocLike(a, m * n);
  if (transA && !transB) {
    // a is [k, m]: walk its rows in storage order, so both reads stay sequential.
    for (let p = 0; p < k; p++) {
      for (let i = 0; i < m; i++) {
        const av = a[p * m + i];
        if (av === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
      }
    }
    return out;
  }
  if (transB && !transA) {
    // b is [n, k]: out[i, j] is the dot product of two stored rows.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
        out[i * n + j] = s;
      }
    }
    return out;
  }
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      if (av === 0) continue;
      if (transB) for (let j = 0; j < n; j++) out[i * n + j] += av * b[j * k + p];
      else for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
    }
  }
  return out;
}

/**
 * Training batch norm over x [rows, c]: batch mean, biased batch variance (Keras normalises with the biased
 * variance and also stores it in the moving variance), y = gamma * xhat + beta.
 */
export function batchNormTrain(x: FloatArray, gamma: FloatArray, beta: FloatArray, c: number, eps: number, act: ClipActivation = 'linear') {
  const rows = x.length / c;
  const mean = allocLike(x, c);
  const variance = allocLike(x, c);
  for (let i = 0; i < x.length; i += c) for (let j = 0; j < c; j++) mean[j] += x[i + j];
  for (let j = 0; j < c; j++) mean[j] /= rows;
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) {
      const d = x[i + j] - mean[j];
      variance[j] += d * d;
    }
  }
  for (let j = 0; j < c; j++) variance[j] /= rows;
  const y = normalized(x, gamma, beta, mean, variance, c, eps);
  return { y: act === 'linear' ? y : activation(act, y), mean, variance };
}

/** gamma * (x - mean) / sqrt(variance + eps) + beta: batchNormTrain's output before its activation. */
function normalized(x: FloatArray, gamma: FloatArray, beta: FloatArray, mean: FloatArray, variance: FloatArray, c: number, eps: number): FloatArray {
  const y = allocLike(x, x.length);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(variance[j] + eps);
    for (let i = j; i < x.length; i += c) y[i] = gamma[j] * (x[i] - mean[j]) * inv + beta[j];
  }
  return y;
}

/**
 * With xhat = (x - mean) * invStd over N rows:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,  dx = gamma * invStd / N * (N * dy - dbeta - xhat * dgamma).
 */
export function batchNormTrainBackward(x: FloatArray, dy: FloatArray, gamma: FloatArray, mean: FloatArray, variance: FloatArray, c: number, eps: number, act: ClipActivation = 'linear', beta?: FloatArray) {
  if (act !== 'linear') {
    if (!beta) throw new Error(`batchNormTrainBackward: argument 'beta' expected the layer's beta with activation '${act}', received none`);
    // The clip's input, formed by the same code as in batchNormTrain (then its mask, as the clip's backward).
    const z = normalized(x, gamma, beta, mean, variance, c, eps);
    dy = activationBackward(act, z, z, dy);
  }
  const rows = x.length / c;
  const dgamma = allocLike(x, c);
  const dbeta = allocLike(x, c);
  const dx = allocLike(x, x.length);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(variance[j] + eps);
    let sdy = 0;
    let sdyx = 0;
    for (let i = j; i < x.length; i += c) {
      sdy += dy[i];
      sdyx += dy[i] * (x[i] - mean[j]) * inv;
    }
    dbeta[j] = sdy;
    dgamma[j] = sdyx;
    const k = (gamma[j] * inv) / rows;
    for (let i = j; i < x.length; i += c) dx[i] = k * (rows * dy[i] - sdy - (x[i] - mean[j]) * inv * sdyx);
  }
  return { dx, dgamma, dbeta };
}
