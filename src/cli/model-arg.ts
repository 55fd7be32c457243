import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { CIFAR10_CLASS_NAMES } from '../data/cifar10.js';
import type { ImageDataset } from '../data/dataset.js';
import { EMBEDDED_CLASS_NAMES } from '../data/embedded.js';
import type { Checkpoint } from '../io/checkpoint.js';
import { readFileHead } from '../io/h5-file.js';
import type { Model } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import { loadModel } from '../train/saving.js';
import { createModel, zoo, zooNames } from '../zoo/index.js';
import { CliError, modelFromCheckpoint, note, resolveCheckpoint } from './common.js';

/**
 * A model on the command line is a zoo name or a file: a Keras model (.keras, legacy .h5), a convkit checkpoint
 * (.safetensors) or a training folder. An existing path, or a name ending in a model-file extension, is a file;
 * anything else must be a zoo name. A zoo name wins over a same-named file or folder in the current folder
 * (write ./resnet18 for that), so `train --model resnet18 --out resnet18` means the same the second time.
 */
export type ModelArg = { kind: 'zoo'; name: string } | { kind: 'file'; path: string };

const MODEL_FILE = /\.(keras|h5|hdf5|safetensors)$/i;
export const MODEL_FILE_KINDS = 'a model file (.keras, .h5, .safetensors) or training folder';

export function parseModelArg(value: string, flag: string): ModelArg {
  if (zoo[value]) return { kind: 'zoo', name: value };
  if (existsSync(value)) return { kind: 'file', path: value };
  if (MODEL_FILE.test(value)) throw new CliError(`${flag}: model file '${value}' does not exist`);
  throw new CliError(`${flag}: expected one of ${zooNames().join(', ')}, or ${MODEL_FILE_KINDS}, received '${value}'`, 2);
}

export interface ModelFile {
  model: Model;
  /** The file read: the checkpoint chosen in a training folder, else the path given. */
  file: string;
  /** The checkpoint, when the file is one (its data settings, class names, epoch). */
  ckpt: Checkpoint | null;
}

/** A folder, or a safetensors file: told by its name, else by its content (an 8-byte header length, then '{'). */
function isCheckpoint(path: string): boolean {
  if (statSync(path).isDirectory() || /\.safetensors$/i.test(path)) return true;
  // A file shorter than 9 bytes reads as zeros past its end: no '{', not a checkpoint.
  const head = readFileHead(path, 9);
  return head[8] === 0x7b && head.readBigUInt64LE(0) < 100_000_000n;
}

/**
 * Opens a Keras model file or a convkit checkpoint. With `compile`, the model is compiled as the file says
 * (training_config / compile_config / the checkpoint's compile settings) when it says; otherwise uncompiled.
 */
export async function openModelFile(path: string, flag: string, opts: { compile?: boolean } = {}): Promise<ModelFile> {
  if (!existsSync(path)) throw new CliError(`${flag}: model file '${path}' does not exist`);
  try {
    if (isCheckpoint(path)) {
      const file = resolveCheckpoint(path, flag);
      return { ...modelFromCheckpoint(file, opts), file };
    }
    return { model: await loadModel(path, { compile: opts.compile ?? false, onWarning: note }), file: path, ckpt: null };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${flag}: ${(e as Error).message}`);
  }
}

/** The input a model takes, [height, width, channels] (null for a free size), or null when it does not say. */
export function modelInputShape(model: Model): (number | null)[] | null {
  const s = model.inputs[0]?.shape ?? (model instanceof Sequential ? model.declaredInputShape : null) ?? model.layers[0]?.batchInputShape ?? null;
  return s ? [...s.slice(1)] : null;
}

/** The number of classes a classifier scores (its output's last axis), or null when not known before a call. */
export function modelClasses(model: Model): number | null {
  const s = model.outputs[0]?.shape ?? model.layers[model.layers.length - 1]?.lastOutputShape ?? null;
  return s && s.length === 2 && typeof s[1] === 'number' ? s[1] : null;
}

const shapeText = (s: readonly (number | null)[]): string => `(${s.map((d) => d ?? 'None').join(', ')})`;

/** Refuses a dataset whose images or classes do not fit the model, naming both shapes. */
export function checkDataFits(model: Model, what: string, data: Pick<ImageDataset, 'name' | 'height' | 'width' | 'channels' | 'classNames'>): void {
  const want = modelInputShape(model);
  const have = [data.height, data.width, data.channels];
  if (want && (want.length !== 3 || want.some((d, i) => d !== null && d !== have[i]))) {
    throw new CliError(`${what}: expected images of shape ${shapeText(want)}, received dataset '${data.name}' with images of shape ${shapeText(have)}`);
  }
  const classes = modelClasses(model);
  if (classes !== null && classes !== data.classNames.length) {
    throw new CliError(`${what}: expected a dataset of ${classes} classes (the model's outputs), received dataset '${data.name}' with ${data.classNames.length}`);
  }
}

/** The model options shared by predict, evaluate and export. */
export interface ModelArgs {
  /** A zoo name or a model file / checkpoint / training folder. */
  model?: string;
  weights?: string;
  checkpoint?: string;
  alpha?: number;
  size?: number;
  classes?: number;
}

export interface ResolvedModel {
  model: Model;
  /** The zoo entry it is (for its preprocessing), or null for a model from a file that names none. */
  zooName: string | null;
  /** Class names for its outputs: ImageNet's, a checkpoint's dataset's, or the class indices. */
  labels: 'imagenet' | readonly string[];
  /** The checkpoint it came from, if any (data settings, class names). */
  ckpt: Checkpoint | null;
  /** Whether the weights came from somewhere (a file, a checkpoint, --weights), not from initialisation. */
  trained: boolean;
  /** How errors name it: "--model 'x.h5'", "--checkpoint 'runs/a'", "model 'lenet5'". */
  what: string;
}

/**
 * Options read from a keras.applications MobileNet file name, `mobilenet_<alpha>_<size>_tf[_no_top].h5` with
 * alpha written 1_0, 7_5, 5_0 or 2_5.
 */
export function mobilenetOptionsFromName(path: string): { alpha: number; size: number; includeTop: boolean } | null {
  const m = /mobilenet_(\d)_(\d)_(\d+)_tf(_no_top)?\.h5$/i.exec(basename(path));
  if (!m) return null;
  const alpha = m[1] === '1' ? 1 : Number(`0.${m[1]}${m[2] === '0' ? '' : m[2]}`);
  return { alpha, size: Number(m[3]), includeTop: !m[4] };
}

/**
 * The model --model / --checkpoint name: a checkpoint, a model file, or a zoo model (options from flags, or a
 * Keras MobileNet file name) with --weights loaded.
 */
export async function modelFromArgs(args: ModelArgs, opts: { requireWeights: boolean }): Promise<ResolvedModel> {
  if (args.checkpoint) {
    if (args.model || args.weights) throw new CliError(`--checkpoint: use either --checkpoint or --model, not both`, 2);
    const file = resolveCheckpoint(args.checkpoint);
    const { model, ckpt } = modelFromCheckpoint(file);
    return { model, zooName: ckpt.state.model?.zoo ?? null, labels: checkpointLabels(model, ckpt), ckpt, trained: true, what: `--checkpoint '${args.checkpoint}'` };
  }
  if (!args.model) throw new CliError(`--model: expected a zoo model (${zooNames().join(', ')}) with --weights, or ${MODEL_FILE_KINDS}; or --checkpoint`, 2);
  const ref = parseModelArg(args.model, '--model');
  if (ref.kind === 'file') {
    const zooOnly: [string, unknown][] = [['--weights', args.weights], ['--alpha', args.alpha], ['--size', args.size], ['--classes', args.classes]];
    for (const [flag, v] of zooOnly) {
      if (v !== undefined) throw new CliError(`${flag}: only for a zoo --model; '${ref.path}' is a model file, which carries its own architecture and weights`, 2);
    }
    const { model, ckpt } = await openModelFile(ref.path, '--model');
    const zooName = ckpt?.state.model?.zoo ?? null;
    return { model, zooName, labels: ckpt ? checkpointLabels(model, ckpt) : fileLabels(model), ckpt, trained: true, what: `--model '${ref.path}'` };
  }
  const name = ref.name;
  if (opts.requireWeights && !args.weights) throw new CliError(`--weights: required with a zoo --model (a Keras .h5 / .weights.h5 file or a convkit checkpoint)`, 2);
  const options: Record<string, unknown> = {};
  const fromName = name === 'mobilenet' && args.weights ? mobilenetOptionsFromName(args.weights) : null;
  if (fromName) {
    if (!fromName.includeTop) throw new CliError(`--weights: '${args.weights}' has no classifier (_no_top); predict needs the file with the top`, 2);
    options.alpha = fromName.alpha;
    options.inputShape = [fromName.size, fromName.size, 3];
  }
  if (args.alpha !== undefined) options.alpha = args.alpha;
  if (args.size !== undefined) options.inputShape = [args.size, args.size, zoo[name].inputShape[2]];
  if (args.classes !== undefined) options.numClasses = args.classes;
  const model = createModel(name, options);
  if (args.weights) await model.loadWeights(args.weights);
  return { model, zooName: name, labels: zooLabels(model), ckpt: null, trained: !!args.weights, what: `model '${name}'` };
}

const indices = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

/** Zoo models are ImageNet (1000 classes) or CIFAR-10 models. */
function zooLabels(model: Model, named?: readonly string[]): 'imagenet' | readonly string[] {
  const classes = modelClasses(model);
  if (classes === 1000) return 'imagenet';
  if (named && named.length === classes) return named;
  if (classes === 10) return CIFAR10_CLASS_NAMES;
  return Array.from({ length: classes ?? 0 }, (_, i) => `class_${i}`);
}

/** A Keras file names no classes: ImageNet's for 1000 outputs, else the class indices. */
function fileLabels(model: Model): 'imagenet' | readonly string[] {
  const classes = modelClasses(model) ?? 0;
  return classes === 1000 ? 'imagenet' : indices(classes);
}

/** The class names a checkpoint records (`convkit train` keeps them), else its dataset's, else as for its kind. */
function checkpointLabels(model: Model, ckpt: Checkpoint): 'imagenet' | readonly string[] {
  const classes = modelClasses(model);
  const extra = ckpt.state.extra ?? {};
  const data = (extra.data ?? {}) as { dataset?: string; classNames?: unknown };
  for (const names of [extra.classNames, data.classNames]) {
    if (Array.isArray(names) && names.length === classes && names.every((n) => typeof n === 'string')) return names as string[];
  }
  if (data.dataset === 'embedded' && classes === EMBEDDED_CLASS_NAMES.length) return EMBEDDED_CLASS_NAMES;
  if (data.dataset === 'cifar10' && classes === CIFAR10_CLASS_NAMES.length) return CIFAR10_CLASS_NAMES;
  return ckpt.state.model?.zoo ? zooLabels(model) : fileLabels(model);
}
