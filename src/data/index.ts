/** The data layer: datasets, batching, augmentation, CIFAR-10, MNIST and Fashion-MNIST (IDX), image folders, the embedded synthetic dataset. */
export type { Batch, BatchOptions, ImageDataset } from './dataset.js';
export { batches, imageSize, numBatches, splitValidation, subset, toTensor, validateDataset } from './dataset.js';
export type { AugmentOptions } from './augment.js';
export { CIFAR_AUGMENT, augmentBatch, augmentBatchInPlace, augmentPixels } from './augment.js';
export type { LoadCifar10Options } from './cifar10.js';
export {
  CIFAR10_CLASS_NAMES,
  CIFAR10_FOLDER,
  CIFAR10_MD5,
  CIFAR10_TEST_FILES,
  CIFAR10_TRAIN_FILES,
  CIFAR10_URL,
  findCifar10Dir,
  loadCifar10,
  readCifar10Batch,
  readCifar10Files,
} from './cifar10.js';
export type { DownloadOptions, FetchArchiveOptions, FetchLike, InstallArchiveOptions, ProgressCallback } from './download.js';
export { defaultCacheDir, downloadFile, fetchAndInstallArchive, installArchive, md5File, verifyMd5 } from './download.js';
export type { EmbeddedDatasetOptions } from './embedded.js';
export { EMBEDDED_CLASS_NAMES, embeddedDataset } from './embedded.js';
export type { TarExtractOptions } from './tar.js';
export { extractTar, extractTarGz } from './tar.js';
export type { IdxArray, ReadIdxOptions } from './idx.js';
export { parseIdx, readIdx } from './idx.js';
export type { IdxFileSpec, LoadMnistOptions, MnistFamilySpec } from './mnist.js';
export { FASHION_MNIST, MNIST, fashionMnist, findIdxFiles, loadMnistFamily, mnist, readIdxDataset } from './mnist.js';
export type {
  ColorMode,
  FolderBatch,
  FolderSource,
  FolderTargets,
  ImageDatasetFromDirectoryOptions,
  LabelMode,
  PrepareGroup,
  ScanOptions,
  ScanResult,
  ScannedFile,
  Subset,
} from './image-folder/index.js';
export { ALLOWED_FORMATS, ImageFolderDataset, imageDatasetFromDirectory, scanDirectory } from './image-folder/index.js';
