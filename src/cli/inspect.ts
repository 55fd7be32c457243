import { writeWeightsText } from '../io/weights-text.js';
import { topK } from '../images/imagenet.js';
import { imageSource } from '../train/source.js';
import { createModel, zoo } from '../zoo/index.js';
import { CliError, DataSettings, loadData, modelFromCheckpoint, resolveCheckpoint } from './common.js';
import { summaryDetail } from './maths.js';

export function summary(name: string, opts: { json?: boolean; detail?: boolean }): void {
  if (!zoo[name]) throw new CliError(`summary: expected a model among ${Object.keys(zoo).join(', ')}, received '${name}'`, 2);
  const model = createModel(name);
  if (opts.detail) return summaryDetail(model, opts.json);
  if (opts.json) console.log(JSON.stringify(model.summaryData(), null, 2));
  else model.summary();
}

/** The data settings a checkpoint was trained with, overridable from the command line. */
function dataOf(state: { extra?: Record<string, unknown> }, override: Partial<DataSettings>): DataSettings {
  const saved = (state.extra?.data ?? { dataset: 'embedded', seed: 0 }) as DataSettings;
  return { ...saved, ...Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined)) } as DataSettings;
}

export async function evaluateCmd(opts: { checkpoint: string; json?: boolean; batchSize: number } & Partial<DataSettings>): Promise<void> {
  const path = resolveCheckpoint(opts.checkpoint);
  const { model, ckpt } = modelFromCheckpoint(path);
  const data = await loadData(dataOf(ckpt.state, opts));
  model.compile({ loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const r = model.evaluate(imageSource(data.test), undefined, { batchSize: opts.batchSize });
  if (opts.json) console.log(JSON.stringify({ loss: r.loss, accuracy: r.accuracy }));
  else console.log(`${model.name} on ${data.test.name} (${data.test.n} images): loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`);
}

export async function predictCmd(opts: { checkpoint: string; count: number; json?: boolean } & Partial<DataSettings>): Promise<void> {
  const path = resolveCheckpoint(opts.checkpoint);
  const { model, ckpt } = modelFromCheckpoint(path);
  const data = await loadData(dataOf(ckpt.state, opts));
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

export function dumpWeights(opts: { checkpoint: string; out: string }): void {
  const path = resolveCheckpoint(opts.checkpoint);
  const { model } = modelFromCheckpoint(path);
  writeWeightsText(model, opts.out);
  console.log(`Wrote ${model.weights.length} variables of ${model.name} to ${opts.out}`);
}
