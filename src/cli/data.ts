import { AugmentOptions } from '../data/augment.js';
import { findCifar10Dir, loadCifar10 } from '../data/cifar10.js';
import type { ImageDataset } from '../data/dataset.js';
import { embeddedDataset } from '../data/embedded.js';
import { ColorMode, ImageFolderDataset, imageDatasetFromDirectory } from '../data/image-folder/index.js';
import { fashionMnist, mnist } from '../data/mnist.js';
import { DataSource, imageSource } from '../train/source.js';
import { CliError } from './common.js';

/**
 * Where `convkit train / evaluate / predict` get images: a named dataset (`--dataset`) or a folder of class
 * subfolders (`--data DIR`, read by imageDatasetFromDirectory). Either way the command sees a training part and a
 * test (validation) part with a name, a size, an image shape and class names, and turns each into a fit source.
 */
export const DATASETS = ['embedded', 'cifar10', 'mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASETS)[number];
export const COLOR_MODES: readonly ColorMode[] = ['grayscale', 'rgb', 'rgba'];
const CHANNELS: Record<ColorMode, number> = { grayscale: 1, rgb: 3, rgba: 4 };

export interface DataSettings {
  dataset?: DatasetName;
  seed: number;
  trainSize?: number;
  testSize?: number;
  dataDir?: string;
  download?: boolean;
  /** A folder with one subfolder of images per class; wins over `dataset`. */
  data?: string;
  /** --data: [height, width] the images are resized to (default: the model's input size). */
  imageSize?: [number, number];
  colorMode?: ColorMode;
  /** --data: the last fraction of the seeded file shuffle is the test part (Keras's split); default 0.2 without validationData. */
  validationSplit?: number;
  /** --data: a folder with the same class subfolders, used as the test part instead of a split. */
  validationData?: string;
}

/** An in-memory dataset, or an image folder (in memory or in its disk cache). */
export type CliDataset = ImageDataset | ImageFolderDataset;

export interface CliData {
  train: CliDataset;
  test: CliDataset;
  /** What a checkpoint records so that evaluate and predict can load the same test part again. */
  record: Record<string, unknown>;
}

/** How the CLI scales pixels for a model: 'unit' x / 255 (every model trained from scratch), 'tf' x / 127.5 - 1 (ImageNet MobileNet weights). */
export type CliPreprocess = 'unit' | 'tf';

/** A fit/evaluate source over either kind of dataset, training batches augmented when asked. */
export function sourceOf(ds: CliDataset, augment?: AugmentOptions, preprocess: CliPreprocess = 'unit'): DataSource {
  const src = ds instanceof ImageFolderDataset ? (ds.source(augment) as DataSource) : imageSource(ds, augment);
  if (preprocess === 'unit') return src;
  return {
    size: src.size,
    take(indices, training) {
      const b = src.take(indices, training);
      const v = b.x.data;
      for (let i = 0; i < v.length; i++) v[i] = 2 * v[i] - 1;
      return b;
    },
  };
}

/** The preprocessing a checkpoint's extra records ('unit' when none). */
export const recordedPreprocess = (extra: Record<string, unknown> | undefined): CliPreprocess => (extra?.preprocess === 'tf' ? 'tf' : 'unit');

/** --image-size H,W (or one number for a square). */
export function parseImageSize(v: string): [number, number] {
  const parts = v.split(/[,x]/).map((s) => Number(s.trim()));
  const ok = parts.length >= 1 && parts.length <= 2 && parts.every((n) => Number.isInteger(n) && n >= 1);
  if (!ok) throw new CliError(`--image-size: expected H,W (positive integers, e.g. 224,224), received '${v}'`, 2);
  return parts.length === 1 ? [parts[0], parts[0]] : [parts[0], parts[1]];
}

export function parseFraction(flag: string): (v: string) => number {
  return (v) => {
    const f = Number(v);
    if (!(f > 0 && f < 1)) throw new CliError(`${flag}: expected a fraction in (0, 1), received '${v}'`, 2);
    return f;
  };
}

/** The color mode that gives `channels` channels (1, 3 or 4), for a model that says how many it takes. */
export function colorModeFor(channels: number | null | undefined): ColorMode | undefined {
  return COLOR_MODES.find((m) => CHANNELS[m] === channels);
}

/**
 * Loads the data the settings name. `want` gives the image size and color mode a folder is read at when the
 * flags do not say (the model's input); named datasets have their own shape.
 */
export async function loadData(
  s: DataSettings,
  want: { imageSize?: [number, number]; colorMode?: ColorMode; classNames?: readonly string[]; verbose?: boolean } = {},
  onProgress?: (done: number, total: number | null) => void,
): Promise<CliData> {
  if (s.data !== undefined && s.dataset !== undefined) throw new CliError(`--data: use either --data DIR or --dataset NAME, not both`, 2);
  if (s.data !== undefined) return loadFolders(s, want);
  for (const [flag, v] of [['--image-size', s.imageSize], ['--color-mode', s.colorMode], ['--validation-split', s.validationSplit], ['--validation-data', s.validationData]] as const) {
    if (v !== undefined) throw new CliError(`${flag}: only with --data DIR (an image folder)`, 2);
  }
  const dataset = s.dataset ?? 'embedded';
  const record = { dataset, seed: s.seed, trainSize: s.trainSize, testSize: s.testSize, ...(s.dataDir ? { dataDir: s.dataDir } : {}) };
  if (dataset === 'embedded') return { ...embeddedDataset({ seed: s.seed, trainSize: s.trainSize, testSize: s.testSize }), record };
  if (dataset === 'cifar10') {
    // The library's message explains the API; on the command line the answer is an option, in one line.
    if (!s.download && findCifar10Dir(s.dataDir).dir === null) {
      throw new CliError(`CIFAR-10 not found ${s.dataDir ? `in '${s.dataDir}'` : 'in the cache (CONVKIT_DATA or ~/.cache/convkit)'}: pass --download to fetch it (163 MiB, md5-checked) or --data-dir DIR for the folder holding data_batch_1.bin ... test_batch.bin`);
    }
    return { ...(await loadCifar10({ dataDir: s.dataDir, download: s.download, onProgress })), record };
  }
  if (dataset === 'mnist' || dataset === 'fashion-mnist') {
    const family = dataset === 'mnist' ? mnist : fashionMnist;
    try {
      return { ...(await family.loadData({ dataDir: s.dataDir, download: s.download, onProgress })), record };
    } catch (e) {
      const first = (e as Error).message.split('\n')[0];
      throw new CliError(`${first.replace(/\.$/, '')}${s.dataDir ? ` (--data-dir '${s.dataDir}')` : ''}: pass --download to fetch them (checksummed) or --data-dir DIR for the folder holding the four IDX .gz files`);
    }
  }
  throw new CliError(`--dataset: expected one of ${DATASETS.join(', ')}, received '${String(dataset)}'`, 2);
}

/** --data DIR: the training part and, from --validation-data or a seeded --validation-split, the test part. */
async function loadFolders(s: DataSettings, want: { imageSize?: [number, number]; colorMode?: ColorMode; classNames?: readonly string[]; verbose?: boolean }): Promise<CliData> {
  if (s.validationSplit !== undefined && s.validationData !== undefined) throw new CliError(`--validation-split: use either --validation-split or --validation-data, not both`, 2);
  const imageSize = s.imageSize ?? want.imageSize ?? [256, 256];
  const colorMode = s.colorMode ?? want.colorMode ?? 'rgb';
  const common = { imageSize, colorMode, seed: s.seed, verbose: want.verbose ?? true, ...(want.classNames ? { classNames: [...want.classNames] } : {}) };
  const record = { data: s.data, imageSize, colorMode, seed: s.seed, ...(s.validationData ? { validationData: s.validationData } : { validationSplit: s.validationSplit ?? 0.2 }) };
  try {
    if (s.validationData !== undefined) {
      const train = await imageDatasetFromDirectory(s.data as string, common);
      const test = await imageDatasetFromDirectory(s.validationData, { ...common, classNames: train.classNames, shuffle: false });
      return { train, test, record };
    }
    const [train, test] = await imageDatasetFromDirectory(s.data as string, { ...common, validationSplit: s.validationSplit ?? 0.2, subset: 'both' });
    return { train, test, record };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--data: ${(e as Error).message}`);
  }
}

/** A whole folder as one dataset, in listing order (what `evaluate --data DIR` scores). */
export async function loadFolder(dir: string, want: { imageSize: [number, number]; colorMode: ColorMode; classNames?: readonly string[]; verbose?: boolean }): Promise<ImageFolderDataset> {
  try {
    return await imageDatasetFromDirectory(dir, { imageSize: want.imageSize, colorMode: want.colorMode, shuffle: false, verbose: want.verbose ?? true, ...(want.classNames ? { classNames: [...want.classNames] } : {}) });
  } catch (e) {
    throw new CliError(`--data: ${(e as Error).message}`);
  }
}
