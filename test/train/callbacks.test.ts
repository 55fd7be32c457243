import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '../../src/train/index.js';
import { CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TrainingContext, formatFilepath } from '../../src/train/callbacks.js';
import { History } from '../../src/train/history.js';
import { Adam } from '../../src/train/optimizers.js';
import { smallCnn } from './helpers.js';

/** A context with a recorded log and saves, to drive callbacks by hand. */
function context(): TrainingContext & { lines: string[]; saves: string[] } {
  const model = smallCnn(1);
  model.build([null, 12, 12, 3]);
  const lines: string[] = [];
  const saves: string[] = [];
  return { model, optimizer: new Adam({ learningRate: 0.01 }), epochs: 10, stepsPerEpoch: 1, batchSize: 1, verbose: 1, history: new History(), stopTraining: false, log: (l) => lines.push(l), save: (p) => saves.push(p), lines, saves };
}

test('filepath placeholders follow Python format specs', () => {
  assert.equal(formatFilepath('ck-{epoch:02d}-{val_loss:.2f}.st', 3, { val_loss: 0.12345 }), 'ck-03-0.12.st');
  assert.equal(formatFilepath('e{epoch}', 12, {}), 'e12');
  assert.throws(() => formatFilepath('{val_acc:.2f}', 1, { loss: 1 }), /names 'val_acc', which is not among the logs \(loss\)/);
});

test('ModelCheckpoint saveBestOnly saves on improvement only, with Keras messages', () => {
  const ctx = context();
  const cb = new ModelCheckpoint({ filepath: join(mkdtempSync(join(tmpdir(), 'ck-')), 'best-{epoch}.st'), saveBestOnly: true, verbose: 1 });
  cb.ctx = ctx;
  cb.onEpochEnd(0, { val_loss: 0.5 });
  cb.onEpochEnd(1, { val_loss: 0.7 });
  cb.onEpochEnd(2, { val_loss: 0.4 });
  assert.equal(ctx.saves.length, 2);
  assert.match(ctx.saves[1], /best-3\.st$/);
  assert.match(ctx.lines[0], /^Epoch 1: val_loss improved from Infinity to 0\.50000, saving model to .*best-1\.st$/);
  assert.equal(ctx.lines[1], 'Epoch 2: val_loss did not improve from 0.50000');
  const mode = new ModelCheckpoint({ filepath: 'x', monitor: 'val_accuracy', saveBestOnly: true });
  assert.equal(mode.mode, 'max');
  assert.deepEqual(cb.getState(), { best: 0.4 });
});

test('EarlyStopping stops after patience epochs and restores the best weights', () => {
  const ctx = context();
  const cb = new EarlyStopping({ patience: 2, restoreBestWeights: true });
  cb.ctx = ctx;
  const w = ctx.model.weights[0];
  const losses = [1.0, 0.8, 0.9, 0.85];
  const bestValues = w.data.slice();
  losses.forEach((l, epoch) => {
    if (epoch === 1) bestValues.set(w.data);
    cb.onEpochEnd(epoch, { val_loss: l });
    w.data.fill(epoch + 10); // training moves on
  });
  assert.equal(ctx.stopTraining, true);
  assert.equal(cb.stoppedEpoch, 3);
  assert.equal(cb.bestEpoch, 1);
});

test('ReduceLROnPlateau and LearningRateScheduler change the optimizer learning rate', () => {
  const ctx = context();
  const plateau = new ReduceLROnPlateau({ factor: 0.5, patience: 1, minLr: 0.004 });
  plateau.ctx = ctx;
  plateau.onEpochEnd(0, { val_loss: 1 });
  plateau.onEpochEnd(1, { val_loss: 1 });
  assert.equal(ctx.optimizer.learningRate, 0.005);
  plateau.onEpochEnd(2, { val_loss: 1 });
  assert.equal(ctx.optimizer.learningRate, 0.004);
  const sched = new LearningRateScheduler((epoch, lr) => (epoch < 1 ? lr : lr * 0.1));
  sched.ctx = ctx;
  sched.onEpochBegin(1);
  assert.ok(Math.abs(ctx.optimizer.learningRate - 0.0004) < 1e-15);
  assert.throws(() => new LearningRateScheduler(() => -1).onEpochBegin.call(Object.assign(new LearningRateScheduler(() => -1), { ctx }), 0), /returned -1 for epoch 0/);
});

test('CSVLogger writes a header and one row per epoch', () => {
  const ctx = context();
  const file = join(mkdtempSync(join(tmpdir(), 'csv-')), 'log.csv');
  const cb = new CSVLogger(file);
  cb.ctx = ctx;
  cb.onTrainBegin();
  cb.onEpochEnd(0, { loss: 1.5, accuracy: 0.25 });
  cb.onEpochEnd(1, { loss: 1.25, accuracy: 0.5 });
  assert.equal(readFileSync(file, 'utf8'), 'epoch,accuracy,loss\n0,0.25,1.5\n1,0.5,1.25\n');
});

test('fit with EarlyStopping ends early and returns the shorter history', async () => {
  const model = smallCnn(3);
  const { Tensor } = await import('../../src/tensor/tensor.js');
  const x = Tensor.zeros([4, 12, 12, 3]);
  const y = Int32Array.from([0, 1, 2, 3]);
  model.compile({ optimizer: new Adam({ learningRate: 1e-9 }), loss: 'sparse_categorical_crossentropy' });
  const h = await model.fit(x, y, { epochs: 20, verbose: 0, callbacks: [new EarlyStopping({ monitor: 'loss', patience: 1, minDelta: 1 })] });
  assert.ok(h.epoch.length < 20, `ran ${h.epoch.length} epochs`);
});
