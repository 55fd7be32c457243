import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint, readCheckpoint, restoreWeights } from '../io/checkpoint.js';
import { modelFromConfig } from '../models/keras-config/index.js';
import { Model } from '../models/model.js';
import { compileFromCheckpoint } from '../train/saving.js';
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

/** What the library reports but does not stop for (an optimizer setting not applied, say): one stderr line. */
export const note = (message: string): void => {
  process.stderr.write(`convkit: note: ${message}\n`);
};

/** A checkpoint file, or the best (else latest) checkpoint of a training folder. */
export function resolveCheckpoint(path: string, flag = '--checkpoint'): string {
  if (!existsSync(path)) throw new CliError(`${flag}: '${path}' does not exist`);
  if (!statSync(path).isDirectory()) return path;
  for (const f of [OUT_FILES.best, OUT_FILES.checkpoint]) if (existsSync(join(path, f))) return join(path, f);
  throw new CliError(`${flag}: folder '${path}' holds neither ${OUT_FILES.best} nor ${OUT_FILES.checkpoint}`);
}

/**
 * Rebuilds the model a checkpoint holds and loads its weights: from its zoo entry when it names one (so old
 * checkpoints, which record nothing else, still work, and the zoo name travels on), else from the Keras config
 * that fit and saveWeights record. With `compile`, compiled as the checkpoint was, optimizer state included.
 */
export function modelFromCheckpoint(path: string, opts: { compile?: boolean } = {}): { model: Model; ckpt: Checkpoint } {
  const ckpt = readCheckpoint(path);
  const spec = ckpt.state.model;
  const what = `checkpoint '${path}'`;
  let model: Model;
  if (spec?.zoo) model = createModel(spec.zoo, spec.options ?? {});
  else if (spec?.config) model = modelFromConfig(spec.config, { source: what, onWarning: note });
  else throw new CliError(`${what} records neither a zoo model nor a model config (it was saved from a subclassed model): build the model in code and call model.loadWeights()`);
  const names = restoreWeights(model, ckpt, what);
  if (opts.compile) compileFromCheckpoint(model, ckpt, names, what, note);
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
