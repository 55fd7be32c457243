import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Layer } from '../layers/layer.js';
import '../models/keras-config/index.js';
import type { JsonObject } from '../models/keras-config/values.js';
import type { Model } from '../models/model.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Variable } from '../tensor/variable.js';
import { writeFileAtomic } from './atomic.js';
import { NamedArray, decodeSafetensors, encodeSafetensors } from './safetensors.js';

/**
 * convkit checkpoint, format version 1: a single safetensors file.
 *   tensors   `weights/<variable name>` every model variable (trainable or not, e.g. BN moving statistics)
 *             `optimizer/<slot>/<variable name>` optimizer slots (full checkpoints only)
 *   metadata  format = "convkit-checkpoint", version = "1", kind = "full" | "weights",
 *             state = JSON of CheckpointState, sha256 = hex digest of every data byte after the header.
 * One file, written to a temporary name, fsynced and renamed: a crash leaves the previous checkpoint whole.
 */
export const CHECKPOINT_FORMAT = 'convkit-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointState {
  /** Epochs completed. */
  epoch?: number;
  /** How to rebuild the model without user code: a zoo name and options, and/or its Keras config. */
  model?: { name: string; zoo?: string; options?: Record<string, unknown>; config?: JsonObject };
  optimizer?: { className: string; iterations: number; config: Record<string, number | boolean> };
  rng?: { s: [number, number, number, number]; spare: number | null };
  history?: { epoch: number[]; history: Record<string, (number | null)[]> };
  /** Keras 3 compile_config of the model's compile(), so a loaded checkpoint trains on as it was set up. */
  compile?: JsonObject;
  /** Callback state by callback key, e.g. ModelCheckpoint's best value. */
  callbacks?: Record<string, unknown>;
  /** Anything else a caller wants to keep (compile settings, data settings). */
  extra?: Record<string, unknown>;
}

export interface Checkpoint {
  kind: 'full' | 'weights';
  state: CheckpointState;
  weights: Map<string, NamedArray>;
  /** slot -> variable name -> values */
  slots: Record<string, Record<string, Float32Array | Float64Array>>;
}

/**
 * What a checkpoint records of its model: the zoo entry it came from, if any, and its Keras config when it has
 * one (a subclassed model without a registered class has none), so any command can rebuild it without code.
 */
export function describeModel(model: Model): NonNullable<CheckpointState['model']> {
  let config: JsonObject | undefined;
  try {
    config = model.toConfig();
  } catch {
    config = undefined;
  }
  return { name: model.name, ...(model.spec ? { zoo: model.spec.zoo, options: model.spec.options } : {}), ...(config ? { config } : {}) };
}

export function saveCheckpoint(path: string, model: Layer, state: CheckpointState, slots: Checkpoint['slots'] = {}, kind: Checkpoint['kind'] = 'full'): void {
  const tensors: NamedArray[] = model.weights.map((w) => ({ name: `weights/${w.name}`, shape: w.shape, data: w.data }));
  for (const [slot, byVar] of Object.entries(slots)) {
    for (const [name, data] of Object.entries(byVar)) tensors.push({ name: `optimizer/${slot}/${name}`, shape: [data.length], data });
  }
  const hash = createHash('sha256');
  for (const t of tensors) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const chunks = encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    kind,
    state: JSON.stringify(state),
    sha256: hash.digest('hex'),
  });
  writeFileAtomic(path, chunks);
}

/** Reads and verifies a checkpoint completely (format, version, checksum) before anything uses it. */
export function readCheckpoint(path: string): Checkpoint {
  if (!existsSync(path)) throw new Error(`checkpoint '${path}': no such file`);
  const buf = readFileSync(path);
  const { tensors, metadata } = decodeSafetensors(buf, `checkpoint '${path}'`);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint '${path}': expected format '${CHECKPOINT_FORMAT}', received '${metadata.format ?? 'none'}'`);
  if (Number(metadata.version) > CHECKPOINT_VERSION) {
    throw new Error(`checkpoint '${path}': format version ${metadata.version} is newer than this convkit reads (${CHECKPOINT_VERSION}); upgrade convkit`);
  }
  const hash = createHash('sha256');
  for (const t of tensors) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  if (hash.digest('hex') !== metadata.sha256) throw new Error(`checkpoint '${path}': checksum mismatch, the file is corrupt`);
  let state: CheckpointState;
  try {
    state = JSON.parse(metadata.state ?? '{}');
  } catch {
    throw new Error(`checkpoint '${path}': its training state is not valid JSON, the file is corrupt`);
  }
  const weights = new Map<string, NamedArray>();
  const slots: Checkpoint['slots'] = {};
  for (const t of tensors) {
    if (t.name.startsWith('weights/')) weights.set(t.name.slice('weights/'.length), t);
    else if (t.name.startsWith('optimizer/')) {
      const rest = t.name.slice('optimizer/'.length);
      const slash = rest.indexOf('/');
      const slot = rest.slice(0, slash);
      (slots[slot] ??= {})[rest.slice(slash + 1)] = t.data;
    }
  }
  return { kind: metadata.kind === 'weights' ? 'weights' : 'full', state, weights, slots };
}

/**
 * Copies checkpoint weights into the model, after checking all of them: a missing, extra or mis-shaped weight
 * fails the whole load with the list of problems, and the model is left untouched. Weights are paired by
 * variable name; when the names differ but every weight lines up in order and shape (a model rebuilt from the
 * checkpoint's config in another process: its composite blocks' inner layers get fresh generated names),
 * they are paired by order. Returns checkpoint name -> model variable name, to carry optimizer slots over.
 */
export function restoreWeights(model: Layer, ckpt: Checkpoint, what = 'checkpoint'): Map<string, string> {
  const vars = model.weights;
  const names = new Set(vars.map((v) => v.name));
  const problems: string[] = [];
  for (const v of vars) {
    const t = ckpt.weights.get(v.name);
    if (!t) problems.push(`missing weight '${v.name}' ${formatShape(v.shape)}`);
    else if (!shapesEqual(t.shape, v.shape)) problems.push(`weight '${v.name}': model shape ${formatShape(v.shape)}, file shape ${formatShape(t.shape)}`);
  }
  for (const name of ckpt.weights.keys()) if (!names.has(name)) problems.push(`extra weight '${name}' not in model '${model.name}'`);
  let pairs: [string, Variable][] = vars.map((v) => [v.name, v]);
  if (problems.length > 0) {
    const stored = [...ckpt.weights];
    const inOrder = stored.length === vars.length && stored.every(([, t], i) => shapesEqual(t.shape, vars[i].shape));
    if (!inOrder) {
      throw new Error(`${what}: does not fit model '${model.name}' (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
    }
    pairs = stored.map(([name], i) => [name, vars[i]]);
  }
  for (const [name, v] of pairs) v.assign(ckpt.weights.get(name)!.data);
  return new Map(pairs.map(([name, v]) => [name, v.name]));
}

/** Optimizer slots keyed by checkpoint variable names, re-keyed to the model's (see restoreWeights). */
export function renameSlots(slots: Checkpoint['slots'], names: Map<string, string>): Checkpoint['slots'] {
  const out: Checkpoint['slots'] = {};
  for (const [slot, byVar] of Object.entries(slots)) out[slot] = Object.fromEntries(Object.entries(byVar).map(([n, d]) => [names.get(n) ?? n, d]));
  return out;
}
