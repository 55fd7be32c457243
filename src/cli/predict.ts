import { basename } from 'node:path';
import type { Command } from 'commander';
import { CIFAR10_CLASS_NAMES } from '../data/cifar10.js';
import { EMBEDDED_CLASS_NAMES } from '../data/embedded.js';
import { Prediction, decodePredictions, decodeWithLabels } from '../images/imagenet.js';
import { PREPROCESS_MODES, PreprocessMode, loadImages, preprocessingFor } from '../images/preprocess.js';
import { INTERPOLATIONS, Interpolation } from '../images/resize.js';
import type { Model } from '../models/model.js';
import { createModel, zoo } from '../zoo/index.js';
import { CliError, modelFromCheckpoint, parseFloatArg, parseIntArg, resolveCheckpoint } from './common.js';
import { predictCmd } from './inspect.js';

/**
 * `convkit predict IMAGE...`: classify JPEG/PNG files with a zoo model and Keras weights (or a convkit
 * checkpoint), printing the top classes of each. With --checkpoint and no image, predict keeps its older
 * meaning (the first test images of the checkpoint's dataset; see inspect.ts).
 */
export interface ModelArgs {
  model?: string;
  weights?: string;
  checkpoint?: string;
  alpha?: number;
  size?: number;
  classes?: number;
}

export interface ImagePredictArgs extends ModelArgs {
  top: number;
  json?: boolean;
  interpolation: string;
  preprocess?: string;
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

/** The zoo model named by --model (options from flags, or a Keras MobileNet file name), weights loaded. */
export async function modelFromArgs(args: ModelArgs, opts: { requireWeights: boolean }): Promise<{ model: Model; zooName: string; labels: 'imagenet' | readonly string[] }> {
  if (args.checkpoint) {
    if (args.model || args.weights) throw new CliError(`--checkpoint: use either --checkpoint or --model with --weights, not both`, 2);
    const { model, ckpt } = modelFromCheckpoint(resolveCheckpoint(args.checkpoint));
    const dataset = (ckpt.state.extra?.data as { dataset?: string } | undefined)?.dataset;
    const zooName = ckpt.state.model?.zoo ?? model.name;
    return { model, zooName, labels: labelsFor(model, dataset === 'embedded' ? EMBEDDED_CLASS_NAMES : undefined) };
  }
  if (!args.model) throw new CliError(`--model: expected a zoo model (${Object.keys(zoo).join(', ')}) with --weights, or --checkpoint`, 2);
  if (!zoo[args.model]) throw new CliError(`--model: expected one of ${Object.keys(zoo).join(', ')}, received '${args.model}'`, 2);
  if (opts.requireWeights && !args.weights) throw new CliError(`--weights: required with --model (a Keras .h5 / .weights.h5 file or a convkit checkpoint)`, 2);
  const options: Record<string, unknown> = {};
  const fromName = args.model === 'mobilenet' && args.weights ? mobilenetOptionsFromName(args.weights) : null;
  if (fromName) {
    if (!fromName.includeTop) throw new CliError(`--weights: '${args.weights}' has no classifier (_no_top); predict needs the file with the top`, 2);
    options.alpha = fromName.alpha;
    options.inputShape = [fromName.size, fromName.size, 3];
  }
  if (args.alpha !== undefined) options.alpha = args.alpha;
  if (args.size !== undefined) options.inputShape = [args.size, args.size, zoo[args.model].inputShape[2]];
  if (args.classes !== undefined) options.numClasses = args.classes;
  const model = createModel(args.model, options);
  if (args.weights) await model.loadWeights(args.weights);
  return { model, zooName: args.model, labels: labelsFor(model) };
}

function labelsFor(model: Model, named?: readonly string[]): 'imagenet' | readonly string[] {
  const classes = model.outputs[0]?.shape[1] ?? (model.layers[model.layers.length - 1]?.lastOutputShape?.[1] as number | undefined);
  if (classes === 1000) return 'imagenet';
  if (named && named.length === classes) return named;
  if (classes === 10) return CIFAR10_CLASS_NAMES;
  return Array.from({ length: classes ?? 0 }, (_, i) => `class_${i}`);
}

export async function predictImagesCmd(images: string[], args: ImagePredictArgs): Promise<void> {
  if (!INTERPOLATIONS.includes(args.interpolation as Interpolation)) throw new CliError(`--interpolation: expected one of ${INTERPOLATIONS.join(', ')}, received '${args.interpolation}'`, 2);
  if (args.preprocess !== undefined && !PREPROCESS_MODES.includes(args.preprocess as PreprocessMode)) {
    throw new CliError(`--preprocess: expected one of ${PREPROCESS_MODES.join(', ')}, received '${args.preprocess}'`, 2);
  }
  const { model, zooName, labels } = await modelFromArgs(args, { requireWeights: true });
  const inputShape = (model.inputs[0]?.shape ?? model.layers[0]?.batchInputShape)?.slice(1) as number[];
  const mode = (args.preprocess as PreprocessMode | undefined) ?? preprocessingFor(zooName);
  const x = loadImages(images, { inputShape, mode, interpolation: args.interpolation as Interpolation });
  const probs = model.predict(x, { batchSize: 8 });
  if (probs.rank !== 2) throw new CliError(`predict: ${model.name} outputs shape (${probs.shape.join(', ')}), not class scores`);
  const decoded = labels === 'imagenet' ? decodePredictions(probs, args.top) : decodeWithLabels(probs, labels, args.top);
  images.forEach((file, i) => {
    if (args.json) console.log(JSON.stringify({ file, predictions: decoded[i] }));
    else printTable(file, `${model.name}, preprocessing '${mode}'`, decoded[i]);
  });
}

function printTable(file: string, what: string, rows: Prediction[]): void {
  const nameWidth = Math.max(5, ...rows.map((r) => r.name.length));
  console.log(`${file} (${what})`);
  console.log(`rank  wnid       ${'class'.padEnd(nameWidth)}  score`);
  rows.forEach((r, k) => console.log(`${String(k + 1).padStart(4)}  ${(r.wnid ?? '-').padEnd(9)}  ${r.name.padEnd(nameWidth)}  ${r.score.toFixed(4)}`));
}

/** Registers `predict`: image files with --model/--weights (or --checkpoint), or a checkpoint's test images. */
export function registerPredictCommand(program: Command, dataOptions: (cmd: Command) => Command): void {
  dataOptions(
    program
      .command('predict')
      .description('classify JPEG/PNG files with a zoo model and Keras weights (top-5 table); with --checkpoint and no image, predict its first test images')
      .argument('[images...]', 'JPEG or PNG files')
      .option('-m, --model <name>', 'zoo model the weights are for, e.g. mobilenet')
      .option('-w, --weights <file>', 'Keras .h5 / .weights.h5 file, or a convkit checkpoint')
      .option('-c, --checkpoint <path>', 'checkpoint file or training folder (model and weights together)')
      .option('-k, --top <k>', 'classes shown per image', parseIntArg('--top'), 5)
      .option('--preprocess <mode>', `input preprocessing: ${PREPROCESS_MODES.join(', ')} (default: the zoo model's)`)
      .option('--interpolation <how>', 'resizing: nearest (as keras load_img) or bilinear', 'nearest')
      .option('--alpha <a>', 'mobilenet width multiplier (default: from a Keras file name, else 1)', parseFloatArg('--alpha'))
      .option('--size <n>', 'input height and width (default: from a Keras file name, else the model\'s)', parseIntArg('--size'))
      .option('--classes <n>', 'classes of the weights (default: the model\'s)', parseIntArg('--classes'))
      .option('-n, --count <n>', 'without images: how many test images of the checkpoint', parseIntArg('--count'), 10)
      .option('--json', 'one JSON line per image: {"file", "predictions": [{"index", "wnid", "name", "score"}]}'),
  ).action(async (images: string[], o) => {
    if (images.length > 0) return predictImagesCmd(images, o);
    if (!o.checkpoint) throw new CliError(`predict: expected image files (with --model and --weights), or --checkpoint`, 2);
    return predictCmd(o);
  });
}
