import { getBackend } from '../backend/index.js';
import { AugmentOptions, augmentBatchInPlace } from '../data/augment.js';
import { ImageDataset, imageSize, toTensor } from '../data/dataset.js';
import { globalRandom } from '../tensor/random.js';
import { Tensor, allocate } from '../tensor/tensor.js';
import type { Targets } from './losses.js';

/** Where fit() and evaluate() get samples: a size and a way to gather rows by index. */
export interface DataSource {
  readonly size: number;
  /** Inputs and targets of these samples, in this order; `training` may turn on augmentation. */
  take(indices: ArrayLike<number>, training: boolean): { x: Tensor; y: Targets };
  /**
   * Optional: take's batch, lent rather than given. It may be a view of the source's own arrays (consecutive
   * indices) or live in a buffer that the next takeBatch overwrites, so the caller must be done with it (and
   * keep none of it) before asking again. The training and evaluation loops use it: a fresh batch every step
   * is fresh memory (page faults, and garbage that brings the collector round).
   */
  takeBatch?(indices: ArrayLike<number>, training: boolean): { x: Tensor; y: Targets };
}

/** The batch of a source, lent when the source can lend it (see DataSource.takeBatch). */
export function takeBatch(source: DataSource, indices: ArrayLike<number>, training: boolean): { x: Tensor; y: Targets } {
  return source.takeBatch ? source.takeBatch(indices, training) : source.take(indices, training);
}

function gatherRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const row = t.size / t.shape[0];
  const out = allocate(indices.length * row, t.dtype);
  gatherInto(out, t, indices);
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

function gatherInto(out: Float32Array | Float64Array, t: Tensor, indices: ArrayLike<number>): void {
  const row = t.size / t.shape[0];
  if (row > 0 && indices.length > 0) getBackend(t.data).gatherRows(t.data, row, indices, out);
}

/** True when indices are first, first + 1, ...: the rows are one contiguous block and a view will do. */
function consecutive(indices: ArrayLike<number>): boolean {
  for (let i = 1; i < indices.length; i++) if (indices[i] !== indices[0] + i) return false;
  return indices.length > 0;
}

/**
 * Rows of t as a lent batch: a view when they are consecutive, else gathered into `scratch` (grown to the
 * largest batch asked for; a smaller batch uses its front).
 */
function lendRows(t: Tensor, indices: ArrayLike<number>, scratch: { buffer: Float32Array | Float64Array | null }): Tensor {
  const row = t.size / t.shape[0];
  const n = indices.length * row;
  const shape = [indices.length, ...t.shape.slice(1)];
  if (consecutive(indices)) return new Tensor(t.data.subarray(indices[0] * row, indices[0] * row + n), shape);
  if (!scratch.buffer || scratch.buffer.length < n) scratch.buffer = allocate(n, t.dtype);
  const out = scratch.buffer.length === n ? scratch.buffer : scratch.buffer.subarray(0, n);
  gatherInto(out, t, indices);
  return new Tensor(out, shape);
}

/** In-memory arrays as a source (keras fit(x, y)). */
export function tensorSource(x: Tensor, y: Targets): DataSource {
  const n = x.shape[0];
  const ny = y instanceof Tensor ? y.shape[0] : y.length;
  if (ny !== n) throw new Error(`fit: expected as many targets as inputs, received x with ${n} samples and y with ${ny}`);
  const xScratch = { buffer: null as Float32Array | Float64Array | null };
  const yScratch = { buffer: null as Float32Array | Float64Array | null };
  let labels = new Int32Array(0);
  return {
    size: n,
    take(indices) {
      const xs = gatherRows(x, indices);
      if (y instanceof Tensor) return { x: xs, y: gatherRows(y, indices) };
      const ys = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) ys[i] = y[indices[i]];
      return { x: xs, y: ys };
    },
    takeBatch(indices) {
      const xs = lendRows(x, indices, xScratch);
      if (y instanceof Tensor) return { x: xs, y: lendRows(y, indices, yScratch) };
      if (consecutive(indices)) return { x: xs, y: y.subarray(indices[0], indices[0] + indices.length) };
      if (labels.length < indices.length) labels = new Int32Array(indices.length);
      const ys = labels.length === indices.length ? labels : labels.subarray(0, indices.length);
      for (let i = 0; i < indices.length; i++) ys[i] = y[indices[i]];
      return { x: xs, y: ys };
    },
  };
}

/** Samples [start, end) of a source. */
export function sliceSource(src: DataSource, start: number, end: number): DataSource {
  let shifted = new Int32Array(0);
  const shift = (indices: ArrayLike<number>): Int32Array => {
    if (shifted.length < indices.length) shifted = new Int32Array(indices.length);
    const out = shifted.length === indices.length ? shifted : shifted.subarray(0, indices.length);
    for (let i = 0; i < indices.length; i++) out[i] = indices[i] + start;
    return out;
  };
  return {
    size: end - start,
    take: (indices, training) => src.take(Array.from(indices, (i) => i + start), training),
    // A lending source reads the shifted indices during the call only, so one buffer serves every batch; a
    // source that cannot lend gets its own copy, as take gives it (it may keep the indices with the batch).
    takeBatch: (indices, training) => (src.takeBatch ? src.takeBatch(shift(indices), training) : src.take(Array.from(indices, (i) => i + start), training)),
  };
}

/**
 * An image dataset as a source: uint8 images become float32 in [0, 1] one batch at a time, and training
 * batches are augmented (seeded by the global generator) when `augment` is given.
 */
export function imageSource(ds: ImageDataset, augment?: AugmentOptions): DataSource {
  const scratch = { x: new Float32Array(0), y: new Int32Array(0) };
  const make = (indices: ArrayLike<number>, training: boolean, into?: typeof scratch): { x: Tensor; y: Int32Array } => {
    const { x, y } = toTensor(ds, indices, into);
    if (training && augment) augmentBatchInPlace(x, augment, globalRandom);
    return { x, y };
  };
  return {
    size: ds.n,
    take: (indices, training) => make(indices, training),
    // Lent: converted into one float buffer kept for every batch (grown to the largest batch asked for).
    takeBatch(indices, training) {
      if (scratch.y.length < indices.length) {
        scratch.x = new Float32Array(indices.length * imageSize(ds));
        scratch.y = new Int32Array(indices.length);
      }
      return make(indices, training, scratch);
    },
  };
}
