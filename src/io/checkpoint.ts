import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Layer } from '../layers/layer.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
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
  /** How to rebuild the model without user code (zoo models). */
  model?: { name: string; zoo?: string; options?: Record<string, unknown> };
  optimizer?: { className: string; iterations: number; config: Record<string, number | boolean> };
  rng?: { s: [number, number, number, number]; spare: number | null };
  history?: { epoch: number[]; history: Record<string, (number | null)[]> };
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
 * Copies checkpoint weights into the model by variable name, after checking all of them: a missing, extra or
 * mis-shaped weight fails the whole load with the list of problems, and the model is left untouched.
 */
export function restoreWeights(model: Layer, ckpt: Checkpoint, what = 'checkpoint'): void {
  const problems: string[] = [];
  const vars = model.weights;
  const names = new Set(vars.map((v) => v.name));
  for (const v of vars) {
    const t = ckpt.weights.get(v.name);
    if (!t) problems.push(`missing weight '${v.name}' ${formatShape(v.shape)}`);
    else if (!shapesEqual(t.shape, v.shape)) problems.push(`weight '${v.name}': model shape ${formatShape(v.shape)}, file shape ${formatShape(t.shape)}`);
  }
  for (const name of ckpt.weights.keys()) if (!names.has(name)) problems.push(`extra weight '${name}' not in model '${model.name}'`);
  if (problems.length > 0) {
    throw new Error(`${what}: does not fit model '${model.name}' (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
  }
  for (const v of vars) v.data.set(ckpt.weights.get(v.name)!.data);
}
