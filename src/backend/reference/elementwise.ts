import type { Activation, ClipActivation } from '../backend.js';
import { FloatArray, allocLike } from '../../tensor/tensor.js';

export function add(a: FloatArray, b: FloatArray): FloatArray {
  const y = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

export function addN(parts: FloatArray[]): FloatArray {
  const y = allocLike(parts[0], parts[0].length);
  y.set(parts[0]);
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k];
    for (let i = 0; i < y.length; i++) y[i] += p[i];
  }
  return y;
}

export function sub(a: FloatArray, b: FloatArray): FloatArray {
  const y = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] - b[i];
  return y;
}

export function mul(a: FloatArray, b: FloatArray): FloatArray {
  const y = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] * b[i];
  return y;
}

export function scale(a: FloatArray, s: number): FloatArray {
  const y = allocLike(a, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] * s;
  return y;
}

export function sum(a: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

export function sumSquares(a: FloatArray): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

export function allFinite(a: FloatArray): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/**
 * 24 random bits for element i of the dropout mask drawn with `seed`: a Weyl sequence through the murmur3
 * finaliser (counter-based, so any element can be drawn alone, in any order, on any thread). native/
 * elementwise.cc computes the same function in uint32 arithmetic.
 */
export function dropoutBits(seed: number, i: number): number {
  let z = (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 8;
}

/**
 * The seed whose mask starts at element `first` of `seed`'s mask: dropoutBits(dropoutSeedAt(seed, first), i) ===
 * dropoutBits(seed, first + i), because the Weyl step is linear in i (mod 2^32, as the native kernel's uint32).
 * A shard of a data-parallel batch draws its rows of the global batch's mask this way, at no cost.
 */
export function dropoutSeedAt(seed: number, first: number): number {
  return (seed + Math.imul(first, 0x9e3779b9)) >>> 0;
}

export function dropout(x: FloatArray, rate: number, seed: number): FloatArray {
  const y = allocLike(x, x.length);
  const threshold = Math.round(rate * 16777216);
  // The scale as the array's type holds it: float32 training multiplies by the float32 scale, like the
  // native kernel; float64 (gradient checks) by the exact one.
  const keep = x instanceof Float32Array ? Math.fround(1 / (1 - rate)) : 1 / (1 - rate);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * (dropoutBits(seed, i) >= threshold ? keep : 0);
  return y;
}

export function biasAdd(x: FloatArray, bias: FloatArray, c: number): FloatArray {
  const y = allocLike(x, x.length);
  for (let i = 0; i < x.length; i += c) for (let j = 0; j < c; j++) y[i + j] = x[i + j] + bias[j];
  return y;
}

export function sumRows(x: FloatArray, c: number): FloatArray {
  const y = allocLike(x, c);
  for (let i = 0; i < x.length; i += c) for (let j = 0; j < c; j++) y[j] += x[i + j];
  return y;
}

/** Channel-wise act(x * scale + shift) over x [rows, c]. */
export function channelAffine(x: FloatArray, scaleC: FloatArray, shift: FloatArray, c: number, act: ClipActivation = 'linear'): FloatArray {
  const y = allocLike(x, x.length);
  for (let i = 0; i < x.length; i += c) for (let j = 0; j < c; j++) y[i + j] = x[i + j] * scaleC[j] + shift[j];
  return act === 'linear' ? y : activation(act, y);
}

const forward: Record<Activation, (v: number) => number> = {
  linear: (v) => v,
  // Written so that NaN passes through (NaN < 0 is false), as TensorFlow's max(x, 0) does: a NaN must not vanish.
  relu: (v) => (v < 0 ? 0 : v),
  relu6: (v) => (v < 0 ? 0 : v > 6 ? 6 : v),
  // Written so that neither branch overflows exp for large |v|.
  sigmoid: (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))),
  tanh: Math.tanh,
};

/** f'(x) expressed with x and y = f(x), whichever is cheaper and exact. */
const derivative: Record<Activation, (x: number, y: number) => number> = {
  linear: () => 1,
  relu: (x) => (x > 0 ? 1 : 0),
  relu6: (x) => (x > 0 && x < 6 ? 1 : 0),
  sigmoid: (_x, y) => y * (1 - y),
  tanh: (_x, y) => 1 - y * y,
};

export function activation(kind: Activation, x: FloatArray): FloatArray {
  const f = forward[kind];
  const y = allocLike(x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

export function activationBackward(kind: Activation, x: FloatArray, y: FloatArray, dy: FloatArray): FloatArray {
  const d = derivative[kind];
  const dx = allocLike(dy, dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = dy[i] * d(x[i], y[i]);
  return dx;
}

/** Row-wise softmax, shifted by the row maximum so exp never overflows. */
export function softmax(x: FloatArray, c: number): FloatArray {
  const y = allocLike(x, x.length);
  for (let r = 0; r < x.length; r += c) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (x[r + j] > max) max = x[r + j];
    let s = 0;
    for (let j = 0; j < c; j++) {
      y[r + j] = Math.exp(x[r + j] - max);
      s += y[r + j];
    }
    for (let j = 0; j < c; j++) y[r + j] /= s;
  }
  return y;
}

/** dx_j = y_j * (dy_j - sum_k dy_k y_k): the softmax Jacobian applied to dy. */
export function softmaxBackward(y: FloatArray, dy: FloatArray, c: number): FloatArray {
  const dx = allocLike(dy, dy.length);
  for (let r = 0; r < y.length; r += c) {
    let dot = 0;
    for (let j = 0; j < c; j++) dot += dy[r + j] * y[r + j];
    for (let j = 0; j < c; j++) dx[r + j] = y[r + j] * (dy[r + j] - dot);
  }
  return dx;
}

/** loss_r = logsumexp(logits_r) - logits_r[label_r]; probs are softmax(logits). */
export function softmaxCrossEntropy(logits: FloatArray, labels: Int32Array, c: number): { loss: FloatArray; probs: FloatArray } {
  const rows = labels.length;
  const probs = softmax(logits, c);
  const loss = allocLike(logits, rows);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (logits[r * c + j] > max) max = logits[r * c + j];
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits[r * c + j] - max);
    loss[r] = Math.log(s) + max - logits[r * c + labels[r]];
  }
  return { loss, probs };
}
