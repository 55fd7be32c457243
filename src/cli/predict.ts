import type { Command } from 'commander';
import { Prediction, decodePredictions, decodeWithLabels } from '../images/imagenet.js';
import { PREPROCESS_MODES, PreprocessMode, loadImages, preprocessingFor } from '../images/preprocess.js';
import { INTERPOLATIONS, Interpolation } from '../images/resize.js';
import { CliError, parseFloatArg, parseIntArg } from './common.js';
import { predictCmd } from './inspect.js';
import { ModelArgs, modelFromArgs, modelInputShape } from './model-arg.js';

/**
 * `convkit predict IMAGE...`: classify JPEG/PNG files with a model file, a checkpoint, or a zoo model and Keras
 * weights, printing the top classes of each. With --checkpoint and no image, predict keeps its older meaning
 * (the first test images of the checkpoint's dataset; see inspect.ts).
 */
export { mobilenetOptionsFromName, type ModelArgs } from './model-arg.js';

export interface ImagePredictArgs extends ModelArgs {
  top: number;
  json?: boolean;
  interpolation: string;
  preprocess?: string;
}

export async function predictImagesCmd(images: string[], args: ImagePredictArgs): Promise<void> {
  if (!INTERPOLATIONS.includes(args.interpolation as Interpolation)) throw new CliError(`--interpolation: expected one of ${INTERPOLATIONS.join(', ')}, received '${args.interpolation}'`, 2);
  if (args.preprocess !== undefined && !PREPROCESS_MODES.includes(args.preprocess as PreprocessMode)) {
    throw new CliError(`--preprocess: expected one of ${PREPROCESS_MODES.join(', ')}, received '${args.preprocess}'`, 2);
  }
  const { model, zooName, labels, what, ckpt } = await modelFromArgs(args, { requireWeights: true });
  const inputShape = modelInputShape(model);
  if (!inputShape || inputShape.length !== 3 || inputShape.some((d) => d === null) || (inputShape[2] !== 1 && inputShape[2] !== 3)) {
    throw new CliError(`${what}: expected a model taking images (height, width, 1 or 3 channels), received one taking input shape ${inputShape ? `(${inputShape.map((d) => d ?? 'None').join(', ')})` : 'unknown'}`);
  }
  // A zoo model's weights come with their preprocessing; a model file says nothing, and most are trained on x / 255.
  // A checkpoint of `convkit train` records the preprocessing it trained with (x / 255).
  const recorded = ckpt?.state.extra?.preprocess as PreprocessMode | undefined;
  const mode = (args.preprocess as PreprocessMode | undefined) ?? (recorded && PREPROCESS_MODES.includes(recorded) ? recorded : undefined) ?? (zooName ? preprocessingFor(zooName) : 'unit');
  const x = loadImages(images, { inputShape: inputShape as number[], mode, interpolation: args.interpolation as Interpolation });
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
      .description('classify JPEG/PNG files with a model file, a checkpoint, or a zoo model and Keras weights (top-5 table); with --checkpoint and no image, predict its first test images')
      .argument('[images...]', 'JPEG or PNG files')
      .option('-m, --model <name|file>', 'a model file (.keras, .h5, .safetensors) or training folder; or the zoo model --weights are for, e.g. mobilenet')
      .option('-w, --weights <file>', 'for a zoo --model: Keras .h5 / .weights.h5 file, or a convkit checkpoint')
      .option('-c, --checkpoint <path>', 'checkpoint file or training folder (model and weights together)')
      .option('-k, --top <k>', 'classes shown per image', parseIntArg('--top'), 5)
      .option('--preprocess <mode>', `input preprocessing: ${PREPROCESS_MODES.join(', ')} (default: the zoo model's; unit, x / 255, for a model file)`)
      .option('--interpolation <how>', 'resizing: nearest (as keras load_img) or bilinear', 'nearest')
      .option('--alpha <a>', 'mobilenet width multiplier (default: from a Keras file name, else 1)', parseFloatArg('--alpha'))
      .option('--size <n>', 'input height and width (default: from a Keras file name, else the model\'s)', parseIntArg('--size'))
      .option('--classes <n>', 'classes of the weights (default: the model\'s)', parseIntArg('--classes'))
      .option('-n, --count <n>', 'without images: how many test images of the checkpoint', parseIntArg('--count'), 10)
      .option('--json', 'one JSON line per image: {"file", "predictions": [{"index", "wnid", "name", "score"}]}'),
  ).action(async (images: string[], o) => {
    if (images.length > 0) return predictImagesCmd(images, o);
    if (!o.checkpoint) throw new CliError(`predict: expected image files (with --model), or --checkpoint`, 2);
    return predictCmd(o);
  });
}
