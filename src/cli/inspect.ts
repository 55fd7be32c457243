import { writeWeightsText } from '../io/weights-text.js';
import { topK } from '../images/imagenet.js';
import type { CheckpointState } from '../io/checkpoint.js';
import { imageSource } from '../train/source.js';
import { createModel } from '../zoo/index.js';
import { CliError, DataSettings, loadData } from './common.js';
import { summaryDetail } from './maths.js';
import { ModelArgs, checkDataFits, modelFromArgs, openModelFile, parseModelArg } from './model-arg.js';

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
 */
function testDataOf(state: CheckpointState | undefined, override: Partial<DataSettings>): DataSettings {
  const saved = (state?.extra?.data ?? { dataset: 'embedded', seed: 0 }) as DataSettings;
  const s = { ...saved, ...Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined)) } as DataSettings;
  return s.dataset === 'embedded' ? { ...s, trainSize: 1 } : s;
}

/** `convkit evaluate`: loss and accuracy on the test split (the checkpoint's data settings, or the options'). */
export async function evaluateCmd(opts: ModelArgs & { json?: boolean; batchSize: number } & Partial<DataSettings>): Promise<void> {
  const { model, ckpt, what } = await modelFromArgs(opts, { requireWeights: true });
  const data = await loadData(testDataOf(ckpt?.state, opts));
  checkDataFits(model, what, data.test);
  model.compile({ loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const r = model.evaluate(imageSource(data.test), undefined, { batchSize: opts.batchSize });
  if (opts.json) console.log(JSON.stringify({ loss: r.loss, accuracy: r.accuracy }));
  else console.log(`${model.name} on ${data.test.name} (${data.test.n} images): loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`);
}

/** `convkit predict --checkpoint X` without images: the first test images of the checkpoint's dataset. */
export async function predictCmd(opts: { checkpoint: string; count: number; json?: boolean } & Partial<DataSettings>): Promise<void> {
  const { model, ckpt, what } = await modelFromArgs({ checkpoint: opts.checkpoint }, { requireWeights: true });
  const data = await loadData(testDataOf(ckpt?.state, opts));
  checkDataFits(model, what, data.test);
  const n = Math.min(opts.count, data.test.n);
  const { x, y } = imageSource(data.test).take(Array.from({ length: n }, (_, i) => i), false);
  const probs = model.predict(x);
  const c = probs.shape[1];
  const rows = Array.from({ length: n }, (_, i) => {
    const p = probs.data.subarray(i * c, (i + 1) * c);
    const [best] = topK(p, 1);
    return { index: i, predicted: best, name: data.test.classNames[best], score: p[best], label: (y as Int32Array)[i] };
  });
  if (opts.json) {
    console.log(JSON.stringify({ predictions: rows }));
    return;
  }
  console.log('index  predicted            score   true');
  for (const r of rows) console.log(`${String(r.index).padStart(5)}  ${r.name.padEnd(20)} ${r.score.toFixed(4)}  ${data.test.classNames[r.label]}${r.predicted === r.label ? '' : '  (wrong)'}`);
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
