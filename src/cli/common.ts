import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImageDataset } from '../data/dataset.js';
import { embeddedDataset } from '../data/embedded.js';
import { findCifar10Dir, loadCifar10 } from '../data/cifar10.js';
import { Checkpoint, readCheckpoint } from '../io/checkpoint.js';
import { restoreWeights } from '../io/checkpoint.js';
import { Model } from '../models/model.js';
import { createModel } from '../zoo/index.js';

/** An error meant for the command line: printed as one line, exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** The files `convkit train --out DIR` leaves (documented in the README). */
export const OUT_FILES = {
  checkpoint: 'checkpoint.safetensors',
  best: 'best.safetensors',
  curves: 'curves.png',
  weights: 'weights.txt',
  log: 'log.csv',
} as const;

export interface DataSettings {
  dataset: 'embedded' | 'cifar10';
  seed: number;
  trainSize?: number;
  testSize?: number;
  dataDir?: string;
  download?: boolean;
}

export async function loadData(s: DataSettings, onProgress?: (done: number, total: number | null) => void): Promise<{ train: ImageDataset; test: ImageDataset }> {
  if (s.dataset === 'embedded') return embeddedDataset({ seed: s.seed, trainSize: s.trainSize, testSize: s.testSize });
  if (s.dataset === 'cifar10') {
    // The library's message explains the API; on the command line the answer is an option, in one line.
    if (!s.download && findCifar10Dir(s.dataDir).dir === null) {
      throw new CliError(`CIFAR-10 not found ${s.dataDir ? `in '${s.dataDir}'` : 'in the cache (CONVKIT_DATA or ~/.cache/convkit)'}: pass --download to fetch it (163 MiB, md5-checked) or --data-dir DIR for the folder holding data_batch_1.bin ... test_batch.bin`);
    }
    return loadCifar10({ dataDir: s.dataDir, download: s.download, onProgress });
  }
  throw new CliError(`--dataset: expected 'embedded' or 'cifar10', received '${String(s.dataset)}'`, 2);
}

/** A checkpoint file, or the best (else latest) checkpoint of a training folder. */
export function resolveCheckpoint(path: string): string {
  if (!existsSync(path)) throw new CliError(`--checkpoint: '${path}' does not exist`);
  if (!statSync(path).isDirectory()) return path;
  for (const f of [OUT_FILES.best, OUT_FILES.checkpoint]) if (existsSync(join(path, f))) return join(path, f);
  throw new CliError(`--checkpoint: folder '${path}' holds neither ${OUT_FILES.best} nor ${OUT_FILES.checkpoint}`);
}

/** Rebuilds the zoo model a checkpoint was trained from and loads its weights. */
export function modelFromCheckpoint(path: string): { model: Model; ckpt: Checkpoint } {
  const ckpt = readCheckpoint(path);
  const spec = ckpt.state.model;
  if (!spec?.zoo) throw new CliError(`checkpoint '${path}' does not say which zoo model it holds (it was saved from a user-built model); load it with model.loadWeights() in code`);
  const model = createModel(spec.zoo, spec.options ?? {});
  restoreWeights(model, ckpt, `checkpoint '${path}'`);
  return { model, ckpt };
}

export function parseIntArg(name: string, min = 1): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new CliError(`${name}: expected an integer >= ${min}, received '${v}'`, 2);
    return n;
  };
}

export function parseFloatArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name}: expected a positive number, received '${v}'`, 2);
    return n;
  };
}
