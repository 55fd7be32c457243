/**
 * Transfer learning on a frozen MobileNet base (alpha 0.25, 32x32, random weights and BN statistics): frozen
 * weights and BN moving statistics do not move, and training the head on cached features gives the losses of
 * fitting the whole model, within 1e-5.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '../../src/index.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Adam } from '../../src/train/optimizers.js';
import { fitOnFeatures, splitModel } from '../../src/train/feature-cache.js';
import { tensorSource } from '../../src/train/source.js';
import { TRANSFER_FEATURES, freezeLayers, mobilenetTransfer, unfreezeFrom } from '../../src/zoo/transfer.js';
import { randomizeWeights } from '../io/keras-h5-fixtures.js';

const N = 24;
const CLASSES = 3;

function data(seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Random(seed);
  const x = new Float32Array(N * 32 * 32 * 3);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    y[i] = i % CLASSES;
    for (let j = 0; j < 32 * 32 * 3; j++) x[i * 3072 + j] = 2 * rng.uniform() - 1 + 0.3 * y[i] * ((j % 3) - 1);
  }
  return { x: new Tensor(x, [N, 32, 32, 3]), y };
}

/** A frozen transfer model with the weights of `file` (written once so both runs start equal). */
async function frozenModel(file: string | null) {
  const t = mobilenetTransfer({ numClasses: CLASSES, inputShape: [32, 32, 3], alpha: 0.25 });
  if (file) await t.model.loadWeights(file);
  freezeLayers(t.base.layers);
  t.model.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return t;
}

test('frozen MobileNet base: weights and BN statistics unchanged; the feature cache gives the slow path\'s losses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'feature-cache-'));
  const file = join(dir, 'start.safetensors');
  const first = mobilenetTransfer({ numClasses: CLASSES, inputShape: [32, 32, 3], alpha: 0.25 });
  randomizeWeights(first.model, 11);
  first.model.saveWeights(file);

  const train = data(1);
  const val = data(2);
  const opts = { epochs: 3, batchSize: 8, verbose: 0 as const };

  const slow = await frozenModel(file);
  assert.equal(slow.model.trainableWeights.length, 2, 'only the new Dense kernel and bias train');
  const before = slow.base.weights.map((w) => w.data.slice());
  setSeed(5);
  const hSlow = await slow.model.fit(tensorSource(train.x, train.y), undefined, { ...opts, validationData: tensorSource(val.x, val.y) });
  slow.base.weights.forEach((w, i) => assert.deepEqual(w.data, before[i], `${w.name} unchanged`));
  assert.ok(slow.base.weights.some((w) => w.name.endsWith('moving_mean')), 'the BN statistics are among the checked weights');

  const fast = await frozenModel(file);
  setSeed(5);
  const hFast = await fitOnFeatures(fast.model, TRANSFER_FEATURES, tensorSource(train.x, train.y), { ...opts, validationData: tensorSource(val.x, val.y) });
  fast.base.weights.forEach((w, i) => assert.deepEqual(w.data, before[i], `${w.name} unchanged`));

  for (const key of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) {
    const a = hSlow.history[key];
    const b = hFast.history[key];
    assert.equal(a.length, 3, key);
    a.forEach((v, e) => assert.ok(Math.abs(v! - b[e]!) < 1e-5, `${key} epoch ${e + 1}: slow ${v}, cached ${b[e]}`));
  }
  assert.ok(hSlow.history.loss[2]! < hSlow.history.loss[0]!, 'the head learns');
  // The head trained in place: both models predict the same.
  const ps = slow.model.predict(val.x).data;
  const pf = fast.model.predict(val.x).data;
  ps.forEach((v, i) => assert.ok(Math.abs(v - pf[i]) < 1e-5));
});

test('fitOnFeatures refuses a base with trainable weights; unfreezeFrom opens the top blocks but keeps BN frozen', async () => {
  const t = mobilenetTransfer({ numClasses: 2, inputShape: [32, 32, 3], alpha: 0.25 });
  t.model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  const { x } = data(3);
  const y = new Int32Array(N).map((_, i) => i % 2);
  await assert.rejects(fitOnFeatures(t.model, TRANSFER_FEATURES, tensorSource(x, y), { verbose: 0 }), /base of .* must be frozen, but 81 weights are trainable \(first: conv1\/kernel\)/);
  freezeLayers(t.base.layers);
  assert.equal(unfreezeFrom(t.model, 'conv_dw_13'), 5, 'conv_dw_13, its relu, conv_pw_13, its relu, the pooling (the top layers were trainable already)');
  assert.deepEqual(t.model.trainableWeights.map((w) => w.name), ['conv_dw_13/depthwise_kernel', 'conv_pw_13/kernel', 'predictions/kernel', 'predictions/bias']);
  assert.throws(() => unfreezeFrom(t.model, 'nope'), /expected a layer of .* received 'nope'/);
  const { base, head } = splitModel(t.model, TRANSFER_FEATURES);
  assert.deepEqual(base.outputs[0].shape, [null, 256]);
  assert.deepEqual(head.layers.map((l) => l.name).slice(-2), ['top_dropout', 'predictions']);
});
