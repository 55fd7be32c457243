import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { embeddedDataset } from '../../src/data/embedded.js';
import { toTensor } from '../../src/data/dataset.js';
import '../../src/train/index.js';
import { Adam, SGD } from '../../src/train/optimizers.js';
import { ModelCheckpoint } from '../../src/train/callbacks.js';
import { setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { smallCnn } from './helpers.js';

/** 12x12 crops of the embedded dataset keep these tests fast on the reference backend. */
function smallData(n: number, seed = 3): { x: Tensor; y: Int32Array } {
  const { train } = embeddedDataset({ seed, trainSize: n, testSize: 0 });
  const { x, y } = toTensor(train);
  const out = Tensor.zeros([n, 12, 12, 3]);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) {
        for (let c = 0; c < 3; c++) out.data[((b * 12 + i) * 12 + j) * 3 + c] = x.data[((b * 32 + i * 2 + 4) * 32 + j * 2 + 4) * 3 + c];
      }
    }
  }
  return { x: out, y };
}

test('a CNN overfits 64 embedded samples to 100% training accuracy', async () => {
  const { x, y } = smallData(64);
  const model = smallCnn(1, { bn: false });
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const history = await model.fit(x, y, { batchSize: 16, epochs: 60, verbose: 0 });
  const last = history.history.loss.at(-1) as number;
  assert.ok(last < 0.05, `final training loss ${last}`);
  const r = model.evaluate(x, y);
  assert.equal(r.accuracy, 1, `accuracy after overfitting: ${r.accuracy}`);
});

test('training 4 epochs straight equals training 2, saving, and resuming 2, bit for bit', async () => {
  const { x, y } = smallData(48);
  const dir = mkdtempSync(join(tmpdir(), 'convkit-resume-'));
  const ckpt = join(dir, 'ckpt.safetensors');
  const run = async (epochs: number, resume: boolean) => {
    const model = smallCnn(7, { dropout: 0.3 });
    if (!resume) setSeed(11);
    model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const h = await model.fit(x, y, {
      batchSize: 16,
      epochs,
      validationData: [x, y],
      verbose: 0,
      callbacks: [new ModelCheckpoint({ filepath: ckpt })],
      resumeFrom: resume ? ckpt : undefined,
    });
    return { model, h };
  };
  const straight = await run(4, false);
  await run(2, false);
  const resumed = await run(4, true);
  const a = straight.model.weights;
  const b = resumed.model.weights;
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(Buffer.from(w.data.buffer), Buffer.from(b[i].data.buffer), `weight ${w.name} differs`));
  assert.deepEqual(resumed.h.toJSON(), straight.h.toJSON());
  assert.equal(resumed.h.epoch.length, 4);
});

test('validationSplit holds out the last samples and validationFreq leaves nulls between validations', async () => {
  const { x, y } = smallData(40);
  const model = smallCnn(2);
  model.compile({ optimizer: new SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const h = await model.fit(x, y, { batchSize: 8, epochs: 4, validationSplit: 0.25, validationFreq: 2, verbose: 0 });
  assert.deepEqual(h.epoch, [0, 1, 2, 3]);
  assert.equal(h.history.val_loss[0], null);
  assert.equal(h.history.val_loss[2], null);
  assert.ok(typeof h.history.val_loss[1] === 'number' && typeof h.history.val_loss[3] === 'number');
  assert.equal(h.history.accuracy.length, 4);
});

test('fit rejects bad arguments with the argument named', async () => {
  const { x, y } = smallData(8);
  const model = smallCnn(2);
  await assert.rejects(() => model.fit(x, y, { epochs: 1 }), /call compile/);
  model.compile({ loss: 'sparse_categorical_crossentropy' });
  await assert.rejects(() => model.fit(x, y, { batchSize: 0, verbose: 0 }), /'batchSize' expected a positive integer, received 0/);
  await assert.rejects(() => model.fit(x, y.subarray(0, 5), { verbose: 0 }), /8 samples and y with 5/);
  await assert.rejects(() => model.fit(x, y, { validationSplit: 1.5, verbose: 0 }), /'validationSplit' expected a number in \(0, 1\), received 1.5/);
  assert.throws(() => model.compile({ loss: 'hinge' as never }), /'loss' expected one of .* received 'hinge'/);
});

test('a full checkpoint holds every callback state of its epoch, whatever the callback order', async () => {
  const { x, y } = smallData(32);
  const dir = mkdtempSync(join(tmpdir(), 'convkit-order-'));
  const latest = join(dir, 'latest.safetensors');
  const best = join(dir, 'best.safetensors');
  const model = smallCnn(4);
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy' });
  // The full checkpoint is listed first, so it is asked for before the best-only callback updates its best.
  const h = await model.fit(x, y, {
    batchSize: 8,
    epochs: 3,
    verbose: 0,
    validationData: [x, y],
    callbacks: [new ModelCheckpoint({ filepath: latest }), new ModelCheckpoint({ filepath: best, saveBestOnly: true, saveWeightsOnly: true })],
  });
  const { readCheckpoint } = await import('../../src/io/checkpoint.js');
  const state = readCheckpoint(latest).state;
  const bestSoFar = Math.min(...(h.history.val_loss as number[]));
  // Keyed by file name, so a moved run folder still resumes with its best value.
  assert.deepEqual(state.callbacks?.[`ModelCheckpoint:${best.split('/').pop()}`], { best: bestSoFar });
  assert.equal(state.epoch, 3);
  assert.equal(readCheckpoint(best).kind, 'weights');
});

test('a run folder moved elsewhere resumes with the best value ModelCheckpoint had so far', async () => {
  const { x, y } = smallData(32);
  const first = mkdtempSync(join(tmpdir(), 'convkit-move-a-'));
  const model = smallCnn(4);
  model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy' });
  const callbacks = (d: string): ModelCheckpoint[] => [new ModelCheckpoint({ filepath: join(d, 'latest.safetensors') }), new ModelCheckpoint({ filepath: join(d, 'best.safetensors'), saveBestOnly: true })];
  const h = await model.fit(x, y, { batchSize: 8, epochs: 2, verbose: 0, validationData: [x, y], callbacks: callbacks(first) });
  const moved = `${first}-moved`;
  (await import('node:fs')).renameSync(first, moved);
  const cbs = callbacks(moved);
  await model.fit(x, y, { batchSize: 8, epochs: 2, verbose: 0, validationData: [x, y], callbacks: cbs, resumeFrom: join(moved, 'latest.safetensors') });
  // Resumed at epoch 2 of 2: nothing trains, and the best is the first run's.
  assert.equal((cbs[1] as unknown as { best: number }).best, Math.min(...(h.history.val_loss as number[])));
});

test('fit calls onBatchEnd every step with the running logs, and timers still run during an epoch', async () => {
  const { x, y } = smallData(40);
  const model = smallCnn(2);
  model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const seen: [number, number, number][] = [];
  let timerFiredAtStep = -1;
  const steps = 40 / 4;
  const stepper = {
    onBatchEnd(step: number, logs: Record<string, number>) {
      seen.push([step, logs.loss, logs.accuracy]);
      // fit yields to the event loop every 50 ms: a timer set now fires before the epoch ends.
      if (step === 0) setTimeout(() => (timerFiredAtStep = seen.length), 0);
      if (step < steps - 1) {
        const until = performance.now() + 12;
        while (performance.now() < until); // a slow step
      }
    },
  } as unknown as import('../../src/train/callbacks.js').Callback;
  const history = await model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0, shuffle: false, callbacks: [stepper] });
  assert.deepEqual(seen.map((s) => s[0]), Array.from({ length: steps }, (_, i) => i));
  assert.ok(seen.every(([, loss, acc]) => Number.isFinite(loss) && acc >= 0 && acc <= 1));
  // The last step's running logs are the epoch's logs.
  assert.equal(seen.at(-1)![1], history.history.loss[0]);
  assert.ok(timerFiredAtStep > 0 && timerFiredAtStep < steps, `the timer fired after step ${timerFiredAtStep} of ${steps}`);
});
