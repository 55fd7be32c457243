/**
 * MNIST and Fashion-MNIST, as keras.datasets.mnist / fashion_mnist: 60,000 training and 10,000 test images,
 * 28x28 grey (one channel), uint8, ten classes. Read from the official IDX files (see idx.ts), gzip-compressed
 * or not.
 *
 * Where the files are looked for, in order:
 *   1. `dataDir` when given (the folder itself or its `mnist/` / `fashion-mnist/` subfolder); when it is given
 *      nothing else is consulted, so a wrong path is an error rather than a silent fallback;
 *   2. Fashion-MNIST only: Debian's package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist;
 *   3. the cache, `$CONVKIT_DATA/<name>/` else ~/.cache/convkit/<name>/ (the folder CIFAR-10 uses);
 *   4. with `download: true`, the missing files are fetched into the cache (or into `dataDir`), each checked
 *      against its published md5 and SHA-256 before it is renamed into place.
 *
 * Keras differs in two ways: it returns ((x_train, y_train), (x_test, y_test)) arrays of shape (n, 28, 28),
 * where this returns ImageDatasets of shape [n, 28, 28, 1]; and keras.datasets.mnist reads a repacked
 * mnist.npz, where this reads the original IDX files (the same pixels and labels).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageDataset, validateDataset } from './dataset.js';
import { FetchLike, ProgressCallback, defaultCacheDir, downloadFile } from './download.js';
import { readIdx } from './idx.js';

export interface IdxFileSpec {
  /** Name without `.gz`, e.g. 'train-images-idx3-ubyte'. */
  name: string;
  /** Checksums of the distributed `.gz` file. */
  md5: string;
  sha256: string;
}

export interface MnistFamilySpec {
  /** Dataset and cache subfolder name: 'mnist' or 'fashion-mnist'. */
  name: string;
  classNames: readonly string[];
  /** Download base, ending in '/'. */
  baseUrl: string;
  trainImages: IdxFileSpec;
  trainLabels: IdxFileSpec;
  testImages: IdxFileSpec;
  testLabels: IdxFileSpec;
  /** Read-only folders a system package installs the files into, tried after `dataDir`, before the cache. */
  systemDirs: readonly string[];
}

/**
 * The mirror TensorFlow's MNIST helpers use (yann.lecun.com no longer serves downloads reliably); md5 sums as in
 * torchvision's datasets/mnist.py, SHA-256 sums as in torchvision's prototype datasets, both of the original files.
 */
export const MNIST: MnistFamilySpec = Object.freeze({
  name: 'mnist',
  classNames: Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']),
  baseUrl: 'https://storage.googleapis.com/cvdf-datasets/mnist/',
  trainImages: { name: 'train-images-idx3-ubyte', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609' },
  trainLabels: { name: 'train-labels-idx1-ubyte', md5: 'd53e105ee54ea40749a09fcbcd1e9432', sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c' },
  testImages: { name: 't10k-images-idx3-ubyte', md5: '9fb629c4189551a2d022fa330f9573f3', sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6' },
  testLabels: { name: 't10k-labels-idx1-ubyte', md5: 'ec29112dd5afa0611ce80d1b7f02629c', sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6' },
  systemDirs: Object.freeze([]),
});

/**
 * Keras's download location (keras/src/datasets/fashion_mnist.py, with its SHA-256 sums); md5 sums from the
 * Fashion-MNIST README (zalandoresearch/fashion-mnist).
 */
export const FASHION_MNIST: MnistFamilySpec = Object.freeze({
  name: 'fashion-mnist',
  classNames: Object.freeze(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']),
  baseUrl: 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/',
  trainImages: { name: 'train-images-idx3-ubyte', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84' },
  trainLabels: { name: 'train-labels-idx1-ubyte', md5: '25c81989df183df01b3e8a0aad5dffbe', sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845' },
  testImages: { name: 't10k-images-idx3-ubyte', md5: 'bef4ecab320f06d8554ea6380940ec79', sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073' },
  testLabels: { name: 't10k-labels-idx1-ubyte', md5: 'bb300cfdad3c16e7a12a480ee83cd310', sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5' },
  systemDirs: Object.freeze(['/usr/share/datasets/fashion-mnist']),
});

export interface LoadMnistOptions {
  /** Folder holding the four files (or its `<name>/` subfolder); when given, the only place looked in. */
  dataDir?: string;
  /** Fetch missing files (about 11 MiB for MNIST, 30 MiB for Fashion-MNIST). Default false. */
  download?: boolean;
  /** Download progress, per file. */
  onProgress?: ProgressCallback;
  /** Overrides for mirrors and tests. */
  baseUrl?: string;
  fetch?: FetchLike;
  /** Folders tried after `dataDir` and before the cache; default the spec's (Debian's for Fashion-MNIST). */
  systemDirs?: readonly string[];
}

const SIDE = 28;

function fileSpecs(spec: MnistFamilySpec): IdxFileSpec[] {
  return [spec.trainImages, spec.trainLabels, spec.testImages, spec.testLabels];
}

/** The path of `file` in `dir`, compressed or not, or null. */
function findFile(dir: string, file: IdxFileSpec): string | null {
  for (const name of [`${file.name}.gz`, file.name]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The first folder holding all four files, and what each looked-in folder lacks (for the error message). */
export function findIdxFiles(spec: MnistFamilySpec, options: LoadMnistOptions = {}): { paths: string[] | null; missing: Map<string, string[]> } {
  const dirs = options.dataDir !== undefined
    ? [options.dataDir, join(options.dataDir, spec.name)]
    : [...(options.systemDirs ?? spec.systemDirs), join(defaultCacheDir(), spec.name)];
  const missing = new Map<string, string[]>();
  for (const dir of dirs) {
    const found = fileSpecs(spec).map((f) => findFile(dir, f));
    if (found.every((p) => p !== null)) return { paths: found as string[], missing };
    missing.set(dir, fileSpecs(spec).filter((_, i) => found[i] === null).map((f) => `${f.name}.gz`));
  }
  return { paths: null, missing };
}

/** Reads one images file and one labels file as a dataset, checking they agree. */
export async function readIdxDataset(imagesPath: string, labelsPath: string, name: string, classNames: readonly string[]): Promise<ImageDataset> {
  const images = await readIdx(imagesPath, { ndims: 3 });
  const labels = await readIdx(labelsPath, { ndims: 1 });
  const [n, rows, cols] = images.dims;
  if (rows !== SIDE || cols !== SIDE) {
    throw new Error(`IDX file ${imagesPath}: images must be ${SIDE}x${SIDE}, received ${rows}x${cols}`);
  }
  if (labels.dims[0] !== n) {
    throw new Error(`IDX files ${imagesPath} and ${labelsPath}: counts must be equal, received ${n} images and ${labels.dims[0]} labels`);
  }
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= classNames.length) {
      throw new Error(`IDX file ${labelsPath}: label ${i} must be in [0, ${classNames.length - 1}], received ${labels.data[i]}`);
    }
  }
  const ds: ImageDataset = { name, images: images.data, labels: labels.data, n, height: SIDE, width: SIDE, channels: 1, classNames: [...classNames] };
  validateDataset(ds);
  return ds;
}

/** Loads the training and test sets of an MNIST-family dataset (see the file comment for where from). */
export async function loadMnistFamily(spec: MnistFamilySpec, options: LoadMnistOptions = {}): Promise<{ train: ImageDataset; test: ImageDataset }> {
  let { paths, missing } = findIdxFiles(spec, options);
  if (paths === null) {
    const target = join(options.dataDir ?? defaultCacheDir(), spec.name);
    const baseUrl = options.baseUrl ?? spec.baseUrl;
    if (!options.download) throw missingError(spec, missing, target, baseUrl);
    paths = [];
    for (const f of fileSpecs(spec)) {
      const have = findFile(target, f);
      if (have !== null) {
        paths.push(have);
        continue;
      }
      const dest = join(target, `${f.name}.gz`);
      const url = `${baseUrl}${f.name}.gz`;
      try {
        await downloadFile(url, dest, { md5: f.md5, sha256: f.sha256, fetch: options.fetch, onProgress: options.onProgress });
      } catch (err) {
        throw new Error(`${(err as Error).message}. If this machine cannot reach ${new URL(url).host}, download ${url} elsewhere and copy it to ${dest}, then run again.`);
      }
      paths.push(dest);
    }
  }
  const [trainImages, trainLabels, testImages, testLabels] = paths;
  return {
    train: await readIdxDataset(trainImages, trainLabels, `${spec.name}-train`, spec.classNames),
    test: await readIdxDataset(testImages, testLabels, `${spec.name}-test`, spec.classNames),
  };
}

function missingError(spec: MnistFamilySpec, missing: Map<string, string[]>, target: string, baseUrl: string): Error {
  const lines = [...missing].map(([dir, files]) => (files.length === 4 ? `  ${dir}: no ${spec.name} files` : `  ${dir}: missing ${files.join(', ')}`));
  return new Error(
    [
      `${spec.name} IDX files not found. Looked in:`,
      ...lines,
      `Needed: ${fileSpecs(spec).map((f) => `${f.name}.gz`).join(', ')} (or the same names without .gz).`,
      `To get them: call loadData with download: true to fetch them into ${target},`,
      `or download them from ${baseUrl} and pass their folder as dataDir (or set CONVKIT_DATA).`,
    ].join('\n'),
  );
}

/** keras.datasets.mnist: handwritten digits, class names '0'..'9'. */
export const mnist = Object.freeze({
  spec: MNIST,
  loadData: (options: LoadMnistOptions = {}): Promise<{ train: ImageDataset; test: ImageDataset }> => loadMnistFamily(MNIST, options),
});

/** keras.datasets.fashion_mnist: Zalando's clothing images, same format as MNIST. */
export const fashionMnist = Object.freeze({
  spec: FASHION_MNIST,
  loadData: (options: LoadMnistOptions = {}): Promise<{ train: ImageDataset; test: ImageDataset }> => loadMnistFamily(FASHION_MNIST, options),
});
