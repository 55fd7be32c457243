import { AugmentOptions, augmentBatchInPlace } from '../data/augment.js';
import { ImageDataset, toTensor } from '../data/dataset.js';
import { globalRandom } from '../tensor/random.js';
import { Tensor, allocate } from '../tensor/tensor.js';
import type { Targets } from './losses.js';

/** Where fit() and evaluate() get samples: a size and a way to gather rows by index. */
export interface DataSource {
  readonly size: number;
  /** Inputs and targets of these samples, in this order; `training` may turn on augmentation. */
  take(indices: ArrayLike<number>, training: boolean): { x: Tensor; y: Targets };
}

function gatherRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const row = t.size / t.shape[0];
  const out = allocate(indices.length * row, t.dtype);
  for (let i = 0; i < indices.length; i++) out.set(t.data.subarray(indices[i] * row, (indices[i] + 1) * row), i * row);
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

/** In-memory arrays as a source (keras fit(x, y)). */
export function tensorSource(x: Tensor, y: Targets): DataSource {
  const n = x.shape[0];
  const ny = y instanceof Tensor ? y.shape[0] : y.length;
  if (ny !== n) throw new Error(`fit: expected as many targets as inputs, received x with ${n} samples and y with ${ny}`);
  return {
    size: n,
    take(indices) {
      const xs = gatherRows(x, indices);
      if (y instanceof Tensor) return { x: xs, y: gatherRows(y, indices) };
      const ys = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) ys[i] = y[indices[i]];
      return { x: xs, y: ys };
    },
  };
}

/** Samples [start, end) of a source. */
export function sliceSource(src: DataSource, start: number, end: number): DataSource {
  return {
    size: end - start,
    take: (indices, training) => src.take(Array.from(indices, (i) => i + start), training),
  };
}

/**
 * An image dataset as a source: uint8 images become float32 in [0, 1] one batch at a time, and training
 * batches are augmented (seeded by the global generator) when `augment` is given.
 */
export function imageSource(ds: ImageDataset, augment?: AugmentOptions): DataSource {
  return {
    size: ds.n,
    take(indices, training) {
      const { x, y } = toTensor(ds, indices);
      if (training && augment) augmentBatchInPlace(x, augment, globalRandom);
      return { x, y };
    },
  };
}
