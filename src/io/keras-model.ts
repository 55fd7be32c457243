import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJson } from '../models/keras-config/deserialize.js';
import { isObject } from '../models/keras-config/values.js';
import { H5Reader, isHdf5File, readFileHead } from './h5-file.js';
import { readZip } from './zip.js';

/**
 * Whole-model Keras files, read into plain data: the model config (JSON), the compile settings, and the
 * weights as an HDF5 file that keras-h5.ts reads into the rebuilt model. Told apart by content, not name:
 *   .keras (Keras 3)         zip: metadata.json, config.json, model.weights.h5 (layers/<class>[_k]/vars/i)
 *   .keras (tf.keras 2.13+)  the same zip, weights under _layer_checkpoint_dependencies/<layer name>/vars/i
 *   .h5 (legacy full model)  HDF5 with root attributes model_config, training_config, keras_version and the
 *                            weights under /model_weights (any Keras 2 writer, and Keras 3's legacy .h5)
 */
export type KerasModelFormat = 'keras' | 'keras-tf2' | 'h5';

export interface KerasModelFile {
  path: string;
  format: KerasModelFormat;
  kerasVersion: string | null;
  /** The model's config: { class_name, config, ... }. */
  modelConfig: unknown;
  /** Keras 3 `compile_config`, or Keras 2 `training_config`; null when the model was saved uncompiled. */
  compileConfig: Record<string, unknown> | null;
  /** An HDF5 file with the weights (for a .keras file, its model.weights.h5 extracted to a temporary file). */
  weightsPath: string;
  /** Removes the temporary weights file, if one was made. */
  close(): void;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

export function isZipFile(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  const head = readFileHead(path, 4);
  return ZIP_MAGIC.every((b, i) => head[i] === b);
}

/** True when `path` is a whole-model Keras file (.keras zip, or an HDF5 file with a model config). */
export async function isKerasModelFile(path: string): Promise<boolean> {
  if (isZipFile(path)) return true;
  if (!isHdf5File(path)) return false;
  return H5Reader.with(path, (r) => r.hasAttr('/', 'model_config'));
}

let counter = 0;

export async function openKerasModelFile(path: string): Promise<KerasModelFile> {
  if (!existsSync(path)) throw new Error(`Keras model '${path}': no such file`);
  if (statSync(path).isDirectory()) throw new Error(`Keras model '${path}': is a folder; expected a .keras or .h5 file (a TensorFlow SavedModel folder is not read)`);
  if (isZipFile(path)) return openArchive(path);
  if (isHdf5File(path)) return openLegacyH5(path);
  throw new Error(`Keras model '${path}': neither a .keras archive (zip) nor an HDF5 .h5 file (its first bytes are ${[...readFileHead(path, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

function jsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  const value = parseJson(new TextDecoder('utf-8', { fatal: false }).decode(bytes), what);
  if (!isObject(value)) throw new Error(`${what}: expected a JSON object, received ${Array.isArray(value) ? 'an array' : typeof value}`);
  return value;
}

function openArchive(path: string): KerasModelFile {
  const what = `Keras model '${path}'`;
  const buf = readFileSync(path);
  const wanted = ['metadata.json', 'config.json', 'model.weights.h5'];
  const members = readZip(buf, what, (name) => wanted.includes(name));
  const missing = wanted.filter((m) => !members.has(m));
  if (missing.includes('config.json')) throw new Error(`${what}: the archive has no config.json (members: ${[...members.keys()].join(', ') || 'none'}); is it a .keras file?`);
  if (missing.includes('model.weights.h5')) {
    const npz = readZip(buf, what, (n) => n === 'model.weights.npz').size > 0;
    throw new Error(`${what}: the archive has no model.weights.h5${npz ? ' (its weights are in model.weights.npz, which convkit does not read)' : ''}`);
  }
  const metadata = members.has('metadata.json') ? jsonObject(members.get('metadata.json')!, `${what} metadata.json`) : {};
  const config = jsonObject(members.get('config.json')!, `${what} config.json`);
  const weightsPath = join(tmpdir(), `convkit-${process.pid}-${Date.now()}-${counter++}.weights.h5`);
  writeFileSync(weightsPath, members.get('model.weights.h5')!);
  const kerasVersion = typeof metadata.keras_version === 'string' ? metadata.keras_version : null;
  return {
    path,
    format: kerasVersion && /^2\./.test(kerasVersion) ? 'keras-tf2' : 'keras',
    kerasVersion,
    modelConfig: config,
    compileConfig: isObject(config.compile_config) ? config.compile_config : null,
    weightsPath,
    close: () => existsSync(weightsPath) && unlinkSync(weightsPath),
  };
}

async function openLegacyH5(path: string): Promise<KerasModelFile> {
  const what = `Keras model '${path}'`;
  return H5Reader.with(path, (r) => {
    const text = r.stringsAttr('/', 'model_config')?.[0];
    if (text === undefined) {
      const weightsOnly = r.hasAttr('/', 'layer_names') || r.group('/layers') !== null;
      throw new Error(`${what}: ${weightsOnly ? 'holds weights only (save_weights), no model config: build the model in code and call model.loadWeights()' : 'has no model_config attribute: not a Keras model file'}`);
    }
    const training = r.stringsAttr('/', 'training_config')?.[0];
    const compile = training ? jsonObject(new TextEncoder().encode(training), `${what} training_config`) : null;
    return {
      path,
      format: 'h5' as const,
      kerasVersion: r.stringsAttr('/', 'keras_version')?.[0] ?? null,
      modelConfig: parseJson(text, `${what} model_config`),
      compileConfig: compile,
      weightsPath: path,
      close: () => undefined,
    };
  });
}

/** The optimizer variables a Keras 3 weights file holds (optimizer/vars/0..n), in order, as numbers; [] when none. */
export async function readOptimizerVars(weightsPath: string): Promise<{ shape: number[]; values: Float64Array }[]> {
  return H5Reader.with(weightsPath, (r) => {
    if (!r.group('/optimizer/vars')) return [];
    const names = r.datasets('/optimizer/vars').map(Number).filter(Number.isInteger).sort((a, b) => a - b);
    return names.map((i) => {
      const d = r.dataset(`/optimizer/vars/${i}`)!;
      const v = d.value as unknown;
      const values = typeof v === 'number' || typeof v === 'bigint' ? Float64Array.of(Number(v)) : ArrayBuffer.isView(v) ? Float64Array.from(v as unknown as ArrayLike<number | bigint>, Number) : null;
      if (!values) throw new Error(`Keras weights '${weightsPath}': optimizer variable ${i} is not numeric`);
      return { shape: [...(d.shape ?? [])], values };
    });
  });
}
