/**
 * keras.utils.image_dataset_from_directory for convkit: a folder with one subfolder of images per class becomes
 * a dataset `fit` can train on. Names and defaults are Keras's in camelCase (keras/src/utils/
 * image_dataset_utils.py); the listing, global shuffle and validation split are Keras's exactly (scan.ts,
 * split.ts), so with the same seed the same files land in training and validation.
 *
 * What differs, and why:
 *   - pixels are float32 in [0, 1] (convkit's ImageDataset convention), not Keras's unscaled 0..255;
 *   - images are decoded once (on worker threads), resized, rounded to bytes and kept: in memory while they fit
 *     `memoryBudget`, else in a disk cache file that later epochs and later runs read instead of decoding;
 *   - in a data-parallel job (mpirun) that decoding is shared: each process decodes its share and receives the
 *     rest (first-pass.ts);
 *   - a file that cannot be decoded is skipped with one warning naming it (Keras fails mid-training); an empty
 *     class folder is an error; GIF and BMP files are listed (as in Keras) but cannot be decoded, so they are
 *     skipped with a warning;
 *   - the per-epoch order is convkit's seeded shuffle (fit's), not tf.data's;
 *   - interpolation: 'bilinear' and 'nearest' only; no pad_to_aspect_ratio, no explicit label lists, no
 *     data_format (always channels-last).
 */
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { ChannelCount, MAX_IMAGE_PIXELS } from '../../images/decode.js';
import { INTERPOLATIONS, Interpolation } from '../../images/resize.js';
import { globalRandom } from '../../tensor/random.js';
import { defaultCacheDir } from '../download.js';
import { DiskCacheWriter, MemoryStore, PixelStore, cacheKey, openCached } from './cache.js';
import { Part, firstPass } from './first-pass.js';
import { ColorMode, ImageFolderDataset, LabelMode } from './folder-dataset.js';
import { PrepareSpec, preparedBytes } from './prepare.js';
import { codePointCompare, scanDirectory } from './scan.js';
import { PrepareGroup, broadcastNumber, checkSameEverywhere, registeredPrepareGroup } from './shared-prepare.js';
import { Subset, checkSplitArgs, listOrder, splitOrder } from './split.js';

export interface ImageDatasetFromDirectoryOptions {
  /** 'inferred' (default): labels from the class subfolders; null: no labels, every image below the folder. */
  labels?: 'inferred' | null;
  /** 'int' (default): class index; 'categorical': one-hot; 'binary': [k, 1] floats (exactly 2 classes); null: none. */
  labelMode?: LabelMode;
  /** Use these subfolders, in this order, as the classes (a subset of the subfolders). */
  classNames?: string[];
  /** 'rgb' (default), 'rgba' or 'grayscale'. */
  colorMode?: ColorMode;
  /** Default 32. */
  batchSize?: number;
  /** [height, width], default [256, 256]. */
  imageSize?: [number, number];
  /** Shuffle the file list before splitting, and batches each epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the global file shuffle (numpy RandomState semantics); required with validationSplit and shuffle. */
  seed?: number;
  validationSplit?: number;
  subset?: Subset;
  /** 'bilinear' (default, antialias off as tf.image.resize) or 'nearest'. */
  interpolation?: Interpolation;
  /** Descend into symlinked folders. Default false. */
  followLinks?: boolean;
  /** Resize the largest centred crop with the target aspect ratio (Keras smart_resize). Default false. */
  cropToAspectRatio?: boolean;
  /** Print Keras's "Found N files belonging to C classes." lines. Default true. */
  verbose?: boolean;
  /** Bytes of prepared images held in memory; beyond it they go to a disk cache file. Default 1 GiB. */
  memoryBudget?: number;
  /** Folder of the disk cache files. Default `<CONVKIT_DATA or ~/.cache/convkit>/image-folder`. */
  cacheDir?: string;
  /** Decoding threads; 0 decodes on the calling thread. Default: available cores. */
  workers?: number;
  /** Progress of the first (decoding) pass over all subsets loaded by this call. */
  onProgress?: (done: number, total: number) => void;
  /** Where the one-per-file warnings go. Default console.warn. */
  onWarning?: (message: string) => void;
  /** Images with more pixels are skipped without decoding. Default 89,478,485 (PIL's MAX_IMAGE_PIXELS). */
  maxPixels?: number;
  /** A file taking longer than this to decode is skipped. Default 60,000 ms. */
  decodeTimeoutMs?: number;
  /**
   * Processes that load the same folder with the same options and share the decoding: each decodes 1/N of the
   * images and receives the rest (shared-prepare.ts). Default: the data-parallel job this process joined
   * (initDistributed, i.e. under `mpirun -np N`), if any; null: this process decodes everything. With a group the
   * call is collective: every process of it makes the same calls in the same order (a folder loaded by rank 0
   * alone needs `group: null`).
   */
  group?: PrepareGroup | null;
}

const WHO = 'imageDatasetFromDirectory';
const COLOR_CHANNELS: Record<ColorMode, ChannelCount> = { grayscale: 1, rgb: 3, rgba: 4 };
const GIB = 2 ** 30;

function oneOf<T>(arg: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new Error(`${WHO}: argument '${arg}' expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, received ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveInt(arg: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`${WHO}: argument '${arg}' expected an integer >= ${min}, received ${v}`);
  return v;
}

export function imageDatasetFromDirectory(directory: string, options: ImageDatasetFromDirectoryOptions & { subset: 'both' }): Promise<[ImageFolderDataset, ImageFolderDataset]>;
export function imageDatasetFromDirectory(directory: string, options?: ImageDatasetFromDirectoryOptions): Promise<ImageFolderDataset>;
export async function imageDatasetFromDirectory(directory: string, options: ImageDatasetFromDirectoryOptions = {}): Promise<ImageFolderDataset | [ImageFolderDataset, ImageFolderDataset]> {
  // Argument checks, in Keras's order where Keras checks them.
  let labels = options.labels === undefined ? 'inferred' : options.labels;
  if (labels !== 'inferred' && labels !== null) throw new Error(`${WHO}: argument 'labels' expected 'inferred' or null, received ${JSON.stringify(labels)}`);
  if (options.classNames !== undefined && labels !== 'inferred') throw new Error(`${WHO}: argument 'classNames' can only be given when labels is 'inferred'`);
  let labelMode = oneOf('labelMode', options.labelMode === undefined ? 'int' : options.labelMode, ['int', 'categorical', 'binary', null] as LabelMode[]);
  if (labels === null || labelMode === null) {
    labels = null;
    labelMode = null;
  }
  const colorMode = oneOf('colorMode', options.colorMode ?? 'rgb', ['grayscale', 'rgb', 'rgba'] as ColorMode[]);
  const interpolation = oneOf('interpolation', options.interpolation ?? 'bilinear', INTERPOLATIONS);
  const imageSize = options.imageSize ?? [256, 256];
  if (!Array.isArray(imageSize) || imageSize.length !== 2) throw new Error(`${WHO}: argument 'imageSize' expected [height, width], received ${JSON.stringify(imageSize)}`);
  positiveInt('imageSize[0]', imageSize[0]);
  positiveInt('imageSize[1]', imageSize[1]);
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const shuffle = options.shuffle ?? true;
  checkSplitArgs({ validationSplit: options.validationSplit, subset: options.subset, shuffle, seed: options.seed }, WHO);
  const memoryBudget = options.memoryBudget ?? GIB;
  if (!(memoryBudget >= 0)) throw new Error(`${WHO}: argument 'memoryBudget' expected a number of bytes >= 0, received ${memoryBudget}`);
  const workers = positiveInt('workers', options.workers ?? availableParallelism(), 0);
  const spec: PrepareSpec = {
    height: imageSize[0], width: imageSize[1], channels: COLOR_CHANNELS[colorMode], interpolation,
    cropToAspectRatio: options.cropToAspectRatio ?? false, maxPixels: positiveInt('maxPixels', options.maxPixels ?? MAX_IMAGE_PIXELS),
  };
  const verbose = options.verbose ?? true;
  const log = (line: string): void => (verbose ? console.log(line) : undefined);
  const warn = options.onWarning ?? ((m: string) => console.warn(m));

  // Listing, global shuffle, split.
  const scan = scanDirectory(directory, { labels, classNames: options.classNames, followLinks: options.followLinks }, WHO);
  if (labelMode === 'binary' && scan.classNames.length !== 2) {
    throw new Error(`${WHO}: when labelMode is 'binary', there must be exactly 2 classes, received ${scan.classNames.length}: [${scan.classNames.map((c) => `'${c}'`).join(', ')}]`);
  }
  log(labels === null ? `Found ${scan.files.length} files.` : `Found ${scan.files.length} files belonging to ${scan.classNames.length} classes.`);
  // In a data-parallel job every process must list the same files with the same options (the shares and the
  // dataset order depend on it), and shuffles with process 0's seed.
  const group = options.group === undefined ? registeredPrepareGroup() : options.group && options.group.size > 1 ? options.group : null;
  if (group) checkSameEverywhere(group, JSON.stringify([scan.files.map((f) => [relative(directory, f.path), f.label]), scan.classNames, spec, labelMode, shuffle, options.seed ?? null, options.validationSplit ?? null, options.subset ?? null]), WHO);
  // Keras draws np.random.randint(1e6) when no seed is given; here the global generator does, so setSeed governs it.
  let seed = shuffle ? options.seed ?? globalRandom.int(1e6) : null;
  if (group && seed !== null && options.seed === undefined) seed = broadcastNumber(group, seed);
  const order = listOrder(scan.files.length, seed);
  const subsets: [string, Int32Array][] = [];
  if (options.validationSplit === undefined || options.subset === undefined) subsets.push(['', order]);
  else {
    const split = splitOrder(order, options.validationSplit, options.subset, WHO);
    if (split.training) {
      log(`Using ${split.training.length} files for training.`);
      subsets.push(['training', split.training]);
    }
    if (split.validation) {
      log(`Using ${split.validation.length} files for validation.`);
      subsets.push(['validation', split.validation]);
    }
  }

  // Storage per subset: memory while the budget lasts, else a disk cache (reused when its key matches).
  const cacheDir = options.cacheDir ?? join(defaultCacheDir(), 'image-folder');
  const imageBytes = preparedBytes(spec);
  let budgetLeft = memoryBudget;
  const parts: Part[] = [];
  const plan = ([name, idx]: [string, Int32Array]): Part => {
    const files = Array.from(idx, (i) => scan.files[i]);
    const part: Part = { name, files, store: null, writer: null, memory: null, slotOf: new Int32Array(files.length), failed: new Map(), decoded: 0, cachePath: null, fromCache: false };
    const bytes = files.length * imageBytes;
    if (bytes <= budgetLeft) {
      budgetLeft -= bytes;
      part.memory = new Uint8Array(bytes);
      part.slotOf = Int32Array.from(files.keys());
      return part;
    }
    // Disk slots follow the listing order, so the cache does not depend on the shuffle (or its random seed).
    const canonical = Int32Array.from(files.keys()).sort((a, b) => idx[a] - idx[b]);
    canonical.forEach((position, slot) => (part.slotOf[position] = slot));
    const key = cacheKey(Array.from(canonical, (p) => files[p]), spec);
    part.cachePath = join(cacheDir, `${key}.u8`);
    const hit = openCached(cacheDir, key, spec, files.length);
    if (hit) {
      part.store = hit.store;
      part.fromCache = true;
      for (let p = 0; p < files.length; p++) {
        const reason = hit.failed.get(part.slotOf[p]);
        if (reason !== undefined) part.failed.set(p, reason);
      }
    } else part.writer = new DiskCacheWriter(cacheDir, key, spec, files.length);
    return part;
  };
  try {
    for (const s of subsets) parts.push(plan(s));
  } catch (err) {
    for (const part of parts) part.writer?.abort(); // e.g. the second subset's cache did not fit on the disk
    throw err;
  }

  // The first pass: decode whatever is not cached, all subsets in one pool (shared with the group's processes).
  await firstPass(parts, spec, { workers, timeoutMs: options.decodeTimeoutMs, onProgress: options.onProgress, group, log });

  const datasets = parts.map((part) => finish(part, scan.classNames, labelMode, { batchSize, shuffle, seed, imageBytes, spec, directory, warn, log }));
  return datasets.length === 2 ? [datasets[0], datasets[1]] : datasets[0];
}

/** Drops the files that failed (one warning each) and wraps the rest as a dataset. */
function finish(
  part: Part,
  classNames: string[],
  labelMode: LabelMode,
  ctx: { batchSize: number; shuffle: boolean; seed: number | null; imageBytes: number; spec: PrepareSpec; directory: string; warn: (m: string) => void; log: (m: string) => void },
): ImageFolderDataset {
  const skipped: { path: string; reason: string }[] = [];
  const keep: number[] = [];
  part.files.forEach((f, p) => {
    const reason = part.failed.get(p);
    if (reason === undefined) keep.push(p);
    else skipped.push({ path: f.path, reason: reason.replace(`image '${f.path}': `, '') });
  });
  for (const s of skipped.sort((a, b) => codePointCompare(a.path, b.path))) {
    ctx.warn(`${WHO}: skipped '${s.path}', which cannot be decoded: ${s.reason}${part.fromCache ? ' (recorded in the disk cache)' : ''}`);
  }
  if (skipped.length > 0) ctx.log(`Skipped ${skipped.length} of ${part.files.length} files that could not be decoded.`);
  if (keep.length === 0) throw new Error(`${WHO}: none of the ${part.files.length} ${part.name || 'listed'} files in '${ctx.directory}' could be decoded (first: ${skipped[0]?.reason})`);
  let store = part.store as PixelStore;
  let slots = Int32Array.from(keep, (p) => part.slotOf[p]);
  if (part.memory) {
    // Compact in place: image p moves to position k; positions only decrease, so nothing is overwritten early.
    const b = ctx.imageBytes;
    keep.forEach((p, k) => (p !== k ? part.memory?.copyWithin(k * b, p * b, (p + 1) * b) : undefined));
    store = new MemoryStore(part.memory.subarray(0, keep.length * b), b);
    slots = Int32Array.from(keep.keys());
  }
  const labels = labelMode === null ? null : Int32Array.from(keep, (p) => part.files[p].label);
  return new ImageFolderDataset({
    name: part.name ? `image-folder-${part.name}` : 'image-folder',
    height: ctx.spec.height,
    width: ctx.spec.width,
    channels: ctx.spec.channels,
    classNames: labelMode === null ? [] : [...classNames],
    filePaths: keep.map((p) => part.files[p].path),
    labels,
    labelMode,
    batchSize: ctx.batchSize,
    shuffle: ctx.shuffle,
    seed: ctx.seed,
    store,
    slots,
    skippedFiles: skipped,
    decodedImages: part.decoded,
    cachePath: part.memory ? null : part.cachePath,
  });
}

export { ImageFolderDataset } from './folder-dataset.js';
export type { ColorMode, FolderBatch, FolderSource, FolderTargets, LabelMode } from './folder-dataset.js';
export { ALLOWED_FORMATS, codePointCompare, listImageFiles, scanDirectory } from './scan.js';
export type { ScanOptions, ScanResult, ScannedFile } from './scan.js';
export { checkSplitArgs, listOrder, splitOrder } from './split.js';
export type { Subset } from './split.js';
export { decodeStats } from './decode-pool.js';
export type { PrepareSpec } from './prepare.js';
export { prepareImage } from './prepare.js';
export { setPrepareGroup } from './shared-prepare.js';
export type { PrepareGroup } from './shared-prepare.js';
