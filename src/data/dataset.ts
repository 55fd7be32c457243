/**
 * In-memory image datasets and the batches the training loop eats.
 *
 * Images stay uint8 NHWC (what CIFAR-10 ships, 3 KiB per image) until a batch is made; only the batch is
 * float32. 50,000 CIFAR images are 150 MiB as uint8 and would be 600 MiB as float32.
 */
import { Tensor } from '../tensor/tensor.js';
import { Random, globalRandom } from '../tensor/random.js';
import { AugmentOptions, augmentBatchInPlace, validateAugmentOptions } from './augment.js';

export interface ImageDataset {
  name: string;
  /** NHWC uint8, n * height * width * channels bytes. */
  images: Uint8Array;
  /** One class index per image, 0 .. classNames.length - 1. */
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
}

export interface Batch {
  /** float32 [k, h, w, c], scaled to [0, 1] (and augmented when asked). */
  x: Tensor;
  /** Class indices, what sparse categorical cross-entropy takes. */
  y: Int32Array;
  /** Which dataset samples this batch holds, in batch order. */
  indices: Int32Array;
}

export interface BatchOptions {
  batchSize: number;
  /** Keras `fit` shuffles each epoch by default; evaluation should pass false. */
  shuffle?: boolean;
  /** Drives shuffling and augmentation; defaults to the global generator so `setSeed` governs it. */
  rng?: Random;
  augment?: AugmentOptions;
}

/** Bytes of one image. */
export function imageSize(ds: ImageDataset): number {
  return ds.height * ds.width * ds.channels;
}

/** Checks that the arrays agree with the declared sizes; every loader calls it before handing a dataset out. */
export function validateDataset(ds: ImageDataset): void {
  const where = `dataset '${ds.name}'`;
  for (const [key, v] of [['n', ds.n], ['height', ds.height], ['width', ds.width], ['channels', ds.channels]] as const) {
    if (!Number.isInteger(v) || v < (key === 'n' ? 0 : 1)) {
      throw new Error(`${where}: ${key} must be a ${key === 'n' ? 'non-negative' : 'positive'} integer, received ${v}`);
    }
  }
  if (ds.images.length !== ds.n * imageSize(ds)) {
    throw new Error(
      `${where}: images must hold n*h*w*c = ${ds.n}*${ds.height}*${ds.width}*${ds.channels} = ` +
        `${ds.n * imageSize(ds)} bytes, received ${ds.images.length}`,
    );
  }
  if (ds.labels.length !== ds.n) {
    throw new Error(`${where}: labels must hold one byte per image (${ds.n}), received ${ds.labels.length}`);
  }
  for (let i = 0; i < ds.n; i++) {
    if (ds.labels[i] >= ds.classNames.length) {
      throw new Error(`${where}: label of image ${i} must be in [0, ${ds.classNames.length - 1}], received ${ds.labels[i]}`);
    }
  }
}

/**
 * Makes float32 inputs and integer targets from some samples (all when `indices` is omitted), in the order given.
 * Pixels are divided by 255, the usual Keras preprocessing for CIFAR-10. With `into`, the batch is written to
 * the front of those arrays (each at least as long as the batch needs) instead of new ones: the training loop
 * reuses one pair for every batch.
 */
export function toTensor(ds: ImageDataset, indices?: ArrayLike<number>, into?: { x: Float32Array; y: Int32Array }): { x: Tensor; y: Int32Array } {
  const idx = indices ?? rangeIndices(0, ds.n);
  const size = imageSize(ds);
  const front = <T extends Float32Array | Int32Array>(a: T, n: number): T => (a.length === n ? a : (a.subarray(0, n) as T));
  const x = into ? front(into.x, idx.length * size) : new Float32Array(idx.length * size);
  const y = into ? front(into.y, idx.length) : new Int32Array(idx.length);
  if (x.length !== idx.length * size || y.length !== idx.length) {
    throw new Error(`toTensor: argument 'into' expected room for ${idx.length} images, received ${into!.x.length / size} and ${into!.y.length} labels`);
  }
  const scale = 1 / 255;
  const images = ds.images; // hoisted: V8 does not lift the property load out of the pixel loop
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw new Error(`toTensor: indices[${k}] must be an integer in [0, ${ds.n - 1}] for dataset '${ds.name}', received ${i}`);
    }
    const src = i * size;
    const dst = k * size;
    for (let j = 0; j < size; j++) x[dst + j] = images[src + j] * scale;
    y[k] = ds.labels[i];
  }
  return { x: new Tensor(x, [idx.length, ds.height, ds.width, ds.channels]), y };
}

/** Samples [start, end) as a new dataset that shares memory with the original (no copy). */
export function subset(ds: ImageDataset, start: number, end: number, name = `${ds.name}[${start}:${end}]`): ImageDataset {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > ds.n || start > end) {
    throw new Error(`subset: expected integers 0 <= start <= end <= ${ds.n} for dataset '${ds.name}', received start=${start}, end=${end}`);
  }
  const size = imageSize(ds);
  return {
    ...ds,
    name,
    images: ds.images.subarray(start * size, end * size),
    labels: ds.labels.subarray(start, end),
    n: end - start,
  };
}

/**
 * Keras `validation_split`: the LAST `fraction` of the samples, taken before any shuffling, become the
 * validation set, split at floor(n * (1 - fraction)); both parts must be non-empty (Keras 3,
 * keras/src/trainers/data_adapters/array_slicing.py, train_validation_split).
 */
export function splitValidation(ds: ImageDataset, fraction: number): { train: ImageDataset; validation: ImageDataset } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`splitValidation: fraction must be in (0, 1), received ${fraction}`);
  }
  const split = Math.floor(ds.n * (1 - fraction));
  if (split === 0 || split === ds.n) {
    throw new Error(
      `splitValidation: fraction ${fraction} of ${ds.n} samples leaves ${split} for training and ${ds.n - split} ` +
        'for validation; both must be non-empty',
    );
  }
  return {
    train: subset(ds, 0, split, `${ds.name}-train`),
    validation: subset(ds, split, ds.n, `${ds.name}-validation`),
  };
}

/** Batches per epoch; the last partial batch counts (Keras keeps it). */
export function numBatches(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/**
 * One epoch of batches. The shuffle order is drawn from `rng` when this is called, not when iteration starts,
 * so the random stream consumed is the same however the caller interleaves other draws (dropout masks).
 * Augmentation draws from `rng` as each batch is made. The last partial batch is kept, like Keras.
 */
export function batches(ds: ImageDataset, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize, shuffle = true, rng = globalRandom, augment } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batches: batchSize must be a positive integer, received ${batchSize}`);
  }
  if (augment) validateAugmentOptions(augment, ds);
  const order = rangeIndices(0, ds.n);
  if (shuffle) rng.shuffle(order);
  return batchGenerator(ds, order, batchSize, rng, augment);
}

function* batchGenerator(
  ds: ImageDataset,
  order: Int32Array,
  batchSize: number,
  rng: Random,
  augment: AugmentOptions | undefined,
): Generator<Batch, void, undefined> {
  for (let start = 0; start < order.length; start += batchSize) {
    const indices = order.slice(start, Math.min(start + batchSize, order.length));
    const { x, y } = toTensor(ds, indices);
    if (augment) augmentBatchInPlace(x, augment, rng);
    yield { x, y, indices };
  }
}

function rangeIndices(start: number, end: number): Int32Array {
  const a = new Int32Array(end - start);
  for (let i = 0; i < a.length; i++) a[i] = start + i;
  return a;
}
