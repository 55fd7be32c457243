import { writeWeightsText } from '../io/weights-text.js';
import { topK } from '../images/imagenet.js';
import type { CheckpointState } from '../io/checkpoint.js';
import { createModel } from '../zoo/index.js';
import { CliError } from './common.js';
import { CliDataset, DataSettings, colorModeFor, loadData, loadFolder, recordedPreprocess, sourceOf } from './data.js';
import { summaryDetail } from './maths.js';
import { ModelArgs, ResolvedModel, checkDataFits, modelFromArgs, modelInputShape, openModelFile, parseModelArg } from './model-arg.js';

/** `convkit summary MODEL`: Keras's table for a zoo model, a Keras model file or a checkpoint. */
export async function summary(name: string, opts: { json?: boolean; detail?: boolean }): Promise<void> {
  const ref = parseModelArg(name, 'summary');
  const model = ref.kind === 'zoo' ? createModel(ref.name) : (await openModelFile(ref.path, 'summary')).model;
  if (opts.detail) return summaryDetail(model, opts.json);
  if (opts.json) console.log(JSON.stringify(model.summaryData(), null, 2));
  else model.summary();
}

/**
 * The data settings a checkpoint was trained with, overridable from the command line, for a command that reads
 * only the test split: the embedded set draws each image from (seed, split, index), so its training split can
 * shrink to one image without changing a test image (and a model file's evaluation skips rendering thousands).
 * A --dataset given replaces a recorded image folder (and the reverse).
 */
function testDataOf(state: CheckpointState | undefined, override: Partial<DataSettings>): DataSettings {
  let saved = (state?.extra?.data ?? { dataset: 'embedded', seed: 0 }) as DataSettings;
  if (override.dataset !== undefined) saved = { dataset: override.dataset, seed: saved.seed ?? 0 };
  const s = { ...saved, ...Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined)) } as DataSettings;
  return s.dataset === 'embedded' && s.data === undefined ? { ...s, trainSize: 1 } : s;
}

/**
 * The images to score: with --data DIR the whole folder (read at the model's input size and channels, classes
 * in the checkpoint's order when it records them); else the test part of --dataset or of the checkpoint's data.
 */
async function testPart(r: ResolvedModel, opts: Partial<DataSettings> & { json?: boolean }): Promise<CliDataset> {
  const shape = modelInputShape(r.model);
  const imageSize = shape && shape[0] && shape[1] ? ([shape[0], shape[1]] as [number, number]) : undefined;
  const colorMode = colorModeFor(shape?.[2]);
  const names = r.ckpt?.state.extra?.classNames;
  const classNames = Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
  if (opts.data !== undefined) {
    if (opts.dataset !== undefined) throw new CliError(`--data: use either --data DIR or --dataset NAME, not both`, 2);
    if (!imageSize || !colorMode) throw new CliError(`${r.what}: its input shape does not say the image size and channels to read --data '${opts.data}' at`);
    return loadFolder(opts.data, { imageSize, colorMode, classNames, verbose: !opts.json });
  }
  const s = testDataOf(r.ckpt?.state, opts);
  return (await loadData(s, { imageSize, colorMode, classNames, verbose: !opts.json })).test;
}

/** `convkit evaluate`: loss and accuracy on a folder, or the test split (the checkpoint's data settings, or the options'). */
export async function evaluateCmd(opts: ModelArgs & { json?: boolean; batchSize: number } & Partial<DataSettings>): Promise<void> {
  const resolved = await modelFromArgs(opts, { requireWeights: true });
  const { model, what } = resolved;
  const test = await testPart(resolved, opts);
  checkDataFits(model, what, test);
  model.compile({ loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const r = model.evaluate(sourceOf(test, undefined, recordedPreprocess(resolved.ckpt?.state.extra)), undefined, { batchSize: opts.batchSize });
  if (opts.json) console.log(JSON.stringify({ loss: r.loss, accuracy: r.accuracy, images: test.n }));
  else console.log(`${model.name} on ${test.name} (${test.n} images): loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`);
}

/** `convkit predict --checkpoint X` without images: the first test images of the checkpoint's dataset. */
export async function predictCmd(opts: { checkpoint: string; count: number; json?: boolean } & Partial<DataSettings>): Promise<void> {
  const resolved = await modelFromArgs({ checkpoint: opts.checkpoint }, { requireWeights: true });
  const { model, what } = resolved;
  const test = await testPart(resolved, opts);
  checkDataFits(model, what, test);
  const n = Math.min(opts.count, test.n);
  const { x, y } = sourceOf(test, undefined, recordedPreprocess(resolved.ckpt?.state.extra)).take(Array.from({ length: n }, (_, i) => i), false);
  const probs = model.predict(x);
  const c = probs.shape[1];
  const rows = Array.from({ length: n }, (_, i) => {
    const p = probs.data.subarray(i * c, (i + 1) * c);
    const [best] = topK(p, 1);
    return { index: i, predicted: best, name: test.classNames[best], score: p[best], label: (y as Int32Array)[i] };
  });
  if (opts.json) {
    console.log(JSON.stringify({ predictions: rows }));
    return;
  }
  console.log('index  predicted            score   true');
  for (const r of rows) console.log(`${String(r.index).padStart(5)}  ${r.name.padEnd(20)} ${r.score.toFixed(4)}  ${test.classNames[r.label]}${r.predicted === r.label ? '' : '  (wrong)'}`);
}

/** `convkit dump-weights`: every variable of a checkpoint's or a model file's model, as text. */
export async function dumpWeights(opts: { checkpoint?: string; model?: string; out: string }): Promise<void> {
  if (!opts.checkpoint && !opts.model) throw new CliError(`dump-weights: expected --checkpoint, or --model with a model file or training folder`, 2);
  if (opts.model && parseModelArg(opts.model, '--model').kind === 'zoo') {
    throw new CliError(`--model: expected a model file or training folder (a zoo model has no trained weights to dump), received '${opts.model}'`, 2);
  }
  const { model } = await modelFromArgs({ checkpoint: opts.checkpoint, model: opts.model }, { requireWeights: true });
  writeWeightsText(model, opts.out);
  console.log(`Wrote ${model.weights.length} variables of ${model.name} to ${opts.out}`);
}
