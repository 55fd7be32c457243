/**
 * What imageDatasetFromDirectory returns: the listed files, their labels and their prepared pixels (in memory
 * or in a disk cache file), usable directly as a `fit`/`evaluate` data source (it has `size` and `take`).
 *
 * Pixels: batches are float32 in [0, 1] (bytes / 255), convkit's convention for every ImageDataset. Keras's
 * image_dataset_from_directory yields float32 in 0..255, unscaled, and models usually start with
 * Rescaling(1/255); a Keras model that has that layer would see pixels divided twice here, so drop the layer
 * (or multiply by 255) when porting such a pipeline.
 *
 * Memory: a data source over a disk-cached dataset holds, besides 8 bytes per image (label, slot) and the file
 * path strings, one batch: k * h * w * c bytes read from the cache plus the k * h * w * c float32 batch
 * (5 * k * h * w * c bytes in all; 2.5 MiB for 32 images of 64x64x3).
 */
import { AugmentOptions, augmentBatchInPlace, validateAugmentOptions } from '../augment.js';
import type { ImageDataset } from '../dataset.js';
import { Random, globalRandom } from '../../tensor/random.js';
import { Tensor } from '../../tensor/tensor.js';
import { MemoryStore, PixelStore } from './cache.js';

export type LabelMode = 'int' | 'categorical' | 'binary' | null;
export type ColorMode = 'grayscale' | 'rgb' | 'rgba';

/** Integer labels (sparse losses) or a float tensor (one-hot, or [k, 1] for binary). */
export type FolderTargets = Int32Array | Tensor;

export interface FolderBatch {
  x: Tensor;
  y: FolderTargets;
  indices: Int32Array;
}

/** A fit()/evaluate() data source (train/source.ts DataSource, restated here because data/ cannot import train/). */
export interface FolderSource {
  readonly size: number;
  take(indices: ArrayLike<number>, training: boolean): { x: Tensor; y: FolderTargets };
}

export interface ImageFolderDatasetInit {
  name: string;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  filePaths: string[];
  /** Class index per image; null when labelMode is null. */
  labels: Int32Array | null;
  labelMode: LabelMode;
  batchSize: number;
  shuffle: boolean;
  seed: number | null;
  store: PixelStore;
  /** Store slot of image i. */
  slots: Int32Array;
  skippedFiles: { path: string; reason: string }[];
  decodedImages: number;
  cachePath: string | null;
}

export class ImageFolderDataset implements FolderSource {
  readonly name: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: string[];
  /** The images' files, in dataset order (Keras's file_paths), without the skipped ones. */
  readonly filePaths: string[];
  readonly labels: Int32Array | null;
  readonly labelMode: LabelMode;
  /** Keras's batch_size, used by batches(); fit() takes its own batchSize. */
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** The seed of the global file shuffle (drawn when not given), or null without shuffling. */
  readonly seed: number | null;
  /** Files listed but not decodable, with the reason; they are not in the dataset. */
  readonly skippedFiles: { path: string; reason: string }[];
  /** How many images this load decoded (0 when a disk cache was reused). */
  readonly decodedImages: number;
  /** 'memory' or 'disk' (see the file comment), and the cache file in the latter case. */
  readonly storage: 'memory' | 'disk';
  readonly cachePath: string | null;
  private readonly store: PixelStore;
  private readonly slots: Int32Array;

  constructor(init: ImageFolderDatasetInit) {
    this.name = init.name;
    this.n = init.filePaths.length;
    this.height = init.height;
    this.width = init.width;
    this.channels = init.channels;
    this.classNames = init.classNames;
    this.filePaths = init.filePaths;
    this.labels = init.labels;
    this.labelMode = init.labelMode;
    this.batchSize = init.batchSize;
    this.shuffle = init.shuffle;
    this.seed = init.seed;
    this.skippedFiles = init.skippedFiles;
    this.decodedImages = init.decodedImages;
    this.store = init.store;
    this.storage = init.store.kind;
    this.cachePath = init.cachePath;
    this.slots = init.slots;
  }

  get size(): number {
    return this.n;
  }

  private checkIndices(indices: ArrayLike<number>, who: string): void {
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.n) {
        throw new Error(`${who}: indices[${k}] must be an integer in [0, ${this.n - 1}] for dataset '${this.name}', received ${i}`);
      }
    }
  }

  /** The prepared bytes of these images, NHWC uint8, in the order given. */
  readImages(indices: ArrayLike<number>): Uint8Array {
    this.checkIndices(indices, `${this.name}.readImages`);
    const slots = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) slots[k] = this.slots[indices[k]];
    const out = new Uint8Array(indices.length * this.height * this.width * this.channels);
    this.store.readSlots(slots, out);
    return out;
  }

  /** Targets for these images in the dataset's label mode; an empty Int32Array when labelMode is null. */
  targets(indices: ArrayLike<number>): FolderTargets {
    const k = indices.length;
    const labels = this.labels;
    if (labels === null || this.labelMode === null) return new Int32Array(0);
    if (this.labelMode === 'int') return Int32Array.from({ length: k }, (_, j) => labels[indices[j]]);
    if (this.labelMode === 'binary') return new Tensor(Float32Array.from({ length: k }, (_, j) => labels[indices[j]]), [k, 1]);
    const c = this.classNames.length;
    const y = new Float32Array(k * c);
    for (let j = 0; j < k; j++) y[j * c + labels[indices[j]]] = 1;
    return new Tensor(y, [k, c]);
  }

  /** Inputs (float32 in [0, 1]) and targets of these images (the DataSource method `fit` calls). */
  take(indices: ArrayLike<number>, _training = false): { x: Tensor; y: FolderTargets } {
    const bytes = this.readImages(indices);
    const x = new Float32Array(bytes.length);
    const scale = 1 / 255;
    for (let i = 0; i < bytes.length; i++) x[i] = bytes[i] * scale;
    return { x: new Tensor(x, [indices.length, this.height, this.width, this.channels]), y: this.targets(indices) };
  }

  /** A data source that augments training batches (drawing from the global generator, as imageSource does). */
  source(augment?: AugmentOptions): FolderSource {
    if (augment) validateAugmentOptions(augment, this);
    return {
      size: this.n,
      take: (indices, training) => {
        const batch = this.take(indices, training);
        if (training && augment) augmentBatchInPlace(batch.x, augment, globalRandom);
        return batch;
      },
    };
  }

  /**
   * One epoch of batches of `batchSize` (default the dataset's), reshuffled from `rng` when `shuffle` (default
   * the dataset's). Like Keras the last partial batch is kept; the epoch order is convkit's, not tf.data's.
   */
  *batches(options: { batchSize?: number; shuffle?: boolean; rng?: Random } = {}): Generator<FolderBatch, void, undefined> {
    const batchSize = options.batchSize ?? this.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${this.name}.batches: batchSize must be a positive integer, received ${batchSize}`);
    const order = Int32Array.from({ length: this.n }, (_, i) => i);
    if (options.shuffle ?? this.shuffle) (options.rng ?? globalRandom).shuffle(order);
    for (let start = 0; start < this.n; start += batchSize) {
      const indices = order.slice(start, Math.min(start + batchSize, this.n));
      yield { ...this.take(indices), indices };
    }
  }

  /**
   * The images as an in-memory ImageDataset (for imageSource, splitValidation, augment...). Only for a dataset
   * held in memory with integer labels and at most 256 classes (ImageDataset labels are bytes).
   */
  toImageDataset(): ImageDataset {
    const who = `${this.name}.toImageDataset`;
    if (this.store.kind !== 'memory') throw new Error(`${who}: the images are held in a disk cache (${this.cachePath}); use the dataset itself as the data source, or raise memoryBudget`);
    if (this.labels === null) throw new Error(`${who}: the dataset has no labels (labelMode null)`);
    if (this.classNames.length > 256) throw new Error(`${who}: ImageDataset labels are bytes, so at most 256 classes, received ${this.classNames.length}`);
    const all = Int32Array.from({ length: this.n }, (_, i) => i);
    // A compacted in-memory store already holds the images in dataset order: share it instead of copying.
    const shared = this.store instanceof MemoryStore && this.slots.every((s, i) => s === i) ? this.store.images : null;
    return {
      name: this.name,
      images: shared ?? this.readImages(all),
      labels: Uint8Array.from(this.labels),
      n: this.n,
      height: this.height,
      width: this.width,
      channels: this.channels,
      classNames: [...this.classNames],
    };
  }
}
