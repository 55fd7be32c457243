/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html). Each batch file is a sequence of
 * 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes: the 1024 red values, then the 1024 green,
 * then the 1024 blue, each plane a 32x32 image in row-major order. We convert to NHWC uint8 on load.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ImageDataset, validateDataset } from './dataset.js';
import { FetchLike, ProgressCallback, defaultCacheDir, fetchAndInstallArchive } from './download.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** The folder the official archive extracts to. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
export const CIFAR10_TEST_FILES: readonly string[] = Object.freeze(['test_batch.bin']);
export const CIFAR10_CLASS_NAMES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

const SIDE = 32;
const PLANE = SIDE * SIDE; // 1024
const RECORD_BYTES = 1 + 3 * PLANE; // 3073
/** Records in each official batch file; only used to make size errors more helpful. */
const RECORDS_PER_OFFICIAL_BATCH = 10000;

/** Reads one CIFAR-10 binary batch file (any number of records) as an NHWC uint8 dataset. */
export function readCifar10Batch(path: string): ImageDataset {
  return readCifar10Files([path], basename(path).replace(/\.bin$/, ''));
}

/**
 * Reads several batch files into one dataset, in order. Sizes are checked for every file before any is read,
 * and each file is decoded straight into the final array, so memory peaks at the dataset plus one file.
 */
export function readCifar10Files(paths: readonly string[], name: string): ImageDataset {
  const counts = paths.map(recordCount);
  const n = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(n * 3 * PLANE);
  const labels = new Uint8Array(n);
  let first = 0;
  for (let f = 0; f < paths.length; f++) {
    const bytes = readWholeFile(paths[f], counts[f] * RECORD_BYTES);
    decodeRecords(bytes, counts[f], images, labels, first, paths[f]);
    first += counts[f];
  }
  const ds: ImageDataset = {
    name, images, labels, n, height: SIDE, width: SIDE, channels: 3, classNames: [...CIFAR10_CLASS_NAMES],
  };
  validateDataset(ds);
  return ds;
}

/**
 * Decodes `count` records from `bytes` into images/labels starting at sample `first`.
 * Planar RGB (CHW) becomes interleaved (HWC): pixel p of channel k moves from 1 + k*1024 + p to p*3 + k.
 */
export function decodeRecords(
  bytes: Uint8Array,
  count: number,
  images: Uint8Array,
  labels: Uint8Array,
  first: number,
  source: string,
): void {
  for (let r = 0; r < count; r++) {
    const src = r * RECORD_BYTES;
    const label = bytes[src];
    if (label > 9) {
      throw new Error(
        `CIFAR-10 file ${source}: record ${r} (byte offset ${src}) has label ${label}; labels must be 0..9 ` +
          '(a corrupt file, or another format such as CIFAR-100?)',
      );
    }
    labels[first + r] = label;
    const dst = (first + r) * 3 * PLANE;
    const red = src + 1;
    const green = red + PLANE;
    const blue = green + PLANE;
    for (let p = 0; p < PLANE; p++) {
      const o = dst + p * 3;
      images[o] = bytes[red + p];
      images[o + 1] = bytes[green + p];
      images[o + 2] = bytes[blue + p];
    }
  }
}

function recordCount(path: string): number {
  const size = statSync(path).size;
  if (size === 0 || size % RECORD_BYTES !== 0) {
    const whole = Math.floor(size / RECORD_BYTES);
    throw new Error(
      `CIFAR-10 file ${path}: size must be a positive multiple of the record size ${RECORD_BYTES} ` +
        `(1 label byte + 3072 pixel bytes), received ${size} bytes ` +
        `(${whole} whole records and ${size - whole * RECORD_BYTES} extra bytes); the file is truncated or not a ` +
        `CIFAR-10 binary batch (an official batch is ${RECORDS_PER_OFFICIAL_BATCH * RECORD_BYTES} bytes)`,
    );
  }
  return size / RECORD_BYTES;
}

function readWholeFile(path: string, expected: number): Uint8Array {
  const bytes = new Uint8Array(expected);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < expected) {
      const got = readSync(fd, bytes, done, expected - done, done);
      if (got === 0) throw new Error(`CIFAR-10 file ${path}: ended after ${done} bytes, expected ${expected} (changed while reading?)`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

export interface LoadCifar10Options {
  /**
   * The folder holding the .bin files, or the folder that contains `cifar-10-batches-bin/`; downloads go here.
   * Default: `$CONVKIT_DATA`, else ~/.cache/convkit.
   */
  dataDir?: string;
  /** Download (about 163 MiB) and install the official archive when the files are not found. Default false. */
  download?: boolean;
  onProgress?: ProgressCallback;
  /** Overrides for mirrors and tests. */
  url?: string;
  md5?: string;
  fetch?: FetchLike;
}

const ALL_FILES = [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES];

/** Where the batch files are, or null; also what each looked-in folder lacks, for the error message. */
export function findCifar10Dir(dataDir?: string): { dir: string | null; missing: Map<string, string[]> } {
  const candidates = dataDir !== undefined ? [dataDir, join(dataDir, CIFAR10_FOLDER)] : [join(defaultCacheDir(), CIFAR10_FOLDER)];
  const missing = new Map<string, string[]>();
  for (const dir of candidates) {
    const lacking = ALL_FILES.filter((f) => !existsSync(join(dir, f)));
    if (lacking.length === 0) return { dir, missing };
    missing.set(dir, lacking);
  }
  return { dir: null, missing };
}

/** Loads the 50,000 training and 10,000 test images, downloading them first when asked and needed. */
export async function loadCifar10(options: LoadCifar10Options = {}): Promise<{ train: ImageDataset; test: ImageDataset }> {
  const found = findCifar10Dir(options.dataDir);
  let dir = found.dir;
  if (dir === null) {
    const cacheDir = options.dataDir ?? defaultCacheDir();
    if (!options.download) throw missingError(found.missing, cacheDir, options.url ?? CIFAR10_URL, options.md5 ?? CIFAR10_MD5);
    dir = await fetchAndInstallArchive({
      url: options.url ?? CIFAR10_URL,
      md5: options.md5 ?? CIFAR10_MD5,
      cacheDir,
      folder: CIFAR10_FOLDER,
      requiredFiles: ALL_FILES,
      onProgress: options.onProgress,
      fetch: options.fetch,
    });
  }
  const d = dir;
  return {
    train: readCifar10Files(CIFAR10_TRAIN_FILES.map((f) => join(d, f)), 'cifar10-train'),
    test: readCifar10Files(CIFAR10_TEST_FILES.map((f) => join(d, f)), 'cifar10-test'),
  };
}

function missingError(missing: Map<string, string[]>, cacheDir: string, url: string, md5: string): Error {
  const lines = [...missing].map(([dir, files]) =>
    files.length === ALL_FILES.length ? `  ${dir}: no CIFAR-10 files` : `  ${dir}: missing ${files.join(', ')}`,
  );
  return new Error(
    [
      'CIFAR-10 binary files not found. Looked in:',
      ...lines,
      `Needed: ${ALL_FILES.join(', ')}.`,
      `To get them: call loadCifar10 with download: true to fetch and install them into ${cacheDir},`,
      `or download ${url} (md5 ${md5}), extract it and pass the folder that contains ${CIFAR10_FOLDER}/ as dataDir`,
      '(or set CONVKIT_DATA to it). Without network, the embedded synthetic dataset trains offline.',
    ].join('\n'),
  );
}
