/** Keras behaviours of layers: weights and their names, BN statistics, Dropout modes, Dense on any rank. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { Dense, Dropout } from '../../src/layers/core.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { image, naiveConv2d, naiveMoments } from '../helpers/naive.js';
import { assertClose, normal, withFloat64 } from '../helpers/tensors.js';

const rng = new Random(909);
beforeEach(() => resetLayerNames());

test('Conv2D: Keras names, HWIO kernel, zero bias, glorot-uniform limits', () => {
  setSeed(1);
  const a = new Conv2D({ filters: 4, kernelSize: 3 });
  const b = new Conv2D({ filters: 4, kernelSize: [1, 2], useBias: false });
  a.apply(Tensor.zeros([1, 5, 5, 2]));
  b.apply(Tensor.zeros([1, 5, 5, 2]));
  assert.deepEqual([a.name, b.name], ['conv2d', 'conv2d_1']);
  assert.deepEqual(a.weights.map((w) => [w.name, w.shape]), [['conv2d/kernel', [3, 3, 2, 4]], ['conv2d/bias', [4]]]);
  assert.deepEqual(b.weights.map((w) => w.name), ['conv2d_1/kernel']);
  assert.ok(a.bias?.data.every((v) => v === 0));
  const limit = Math.sqrt(6 / (3 * 3 * 2 + 3 * 3 * 4));
  assert.ok(a.kernel.data.every((v) => Math.abs(v) <= limit));
  assert.ok(Math.max(...a.kernel.data.map(Math.abs)) > 0.8 * limit, 'uses the range');
  assert.equal(new DepthwiseConv2D({ kernelSize: 3 }).name, 'depthwise_conv2d');
  assert.equal(new BatchNormalization().name, 'batch_normalization');
});

test('Conv2D forward = naive convolution + bias, then the activation', () => {
  withFloat64(() => {
    const conv = new Conv2D({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' });
    const x = normal([2, 6, 5, 2], rng);
    conv.apply(x);
    conv.bias?.assign(Tensor.from([0.5, -1, 2], [3], 'float64'));
    const y = conv.apply(x);
    const raw = naiveConv2d(image(x.data, x.shape), { kernel: conv.kernel.data, kernelShape: conv.kernel.shape, strides: [2, 2], padding: 'same' });
    const want = raw.data.map((v, i) => Math.tanh(v + [0.5, -1, 2][i % 3]));
    assertClose(y, want, y.shape, { atol: 1e-12 });
  });
});

test('Dense acts on the last axis of any rank', () => {
  withFloat64(() => {
    const d = new Dense({ units: 2 });
    const x = normal([2, 3, 4], rng);
    const y = d.apply(x);
    assert.deepEqual(y.shape, [2, 3, 2]);
    const k = d.kernel.data;
    const want = new Float64Array(12);
    for (let r = 0; r < 6; r++) for (let j = 0; j < 2; j++) for (let i = 0; i < 4; i++) want[r * 2 + j] += x.data[r * 4 + i] * k[i * 2 + j];
    assertClose(y, want, y.shape, { atol: 1e-12 });
  });
});

test('BatchNormalization training: batch statistics, moving averages with momentum 0.99 and the biased variance', () => {
  withFloat64(() => {
    const bn = new BatchNormalization();
    const x = normal([4, 2, 3, 3], rng);
    bn.apply(x, { training: false });
    assert.deepEqual(Array.from(bn.movingMean.data), [0, 0, 0]);
    bn.apply(x, { training: true });
    const m = naiveMoments(x.data, 3);
    assertClose(bn.movingMean, m.mean.map((v) => 0.01 * v), [3], { atol: 1e-14 });
    assertClose(bn.movingVariance, m.variance.map((v) => 0.99 + 0.01 * v), [3], { atol: 1e-14 });
    assert.equal(bn.epsilon, 1e-3);
  });
});

test('BatchNormalization inference uses moving statistics; a frozen layer runs in inference mode and keeps them', () => {
  withFloat64(() => {
    const bn = new BatchNormalization();
    const x = normal([3, 2], rng);
    bn.apply(x);
    bn.movingMean.assign([1, -1]);
    bn.movingVariance.assign([4, 0.25]);
    const want = x.data.map((v, i) => (i % 2 === 0 ? (v - 1) / Math.sqrt(4 + 1e-3) : (v + 1) / Math.sqrt(0.25 + 1e-3)));
    assertClose(bn.apply(x), want, x.shape, { atol: 1e-14 });
    bn.trainable = false;
    assertClose(bn.apply(x, { training: true }), want, x.shape, { atol: 1e-14, label: 'frozen BN in training' });
    assert.deepEqual(Array.from(bn.movingMean.data), [1, -1], 'frozen BN does not update its statistics');
  });
});

test('Dropout: identity in inference; in training, seeded, inverted and about rate dropped', () => {
  const d = new Dropout({ rate: 0.25 });
  const x = Tensor.ones([4000]);
  assert.equal(d.apply(x), x);
  assert.equal(d.apply(x, { training: false }), x);
  setSeed(3);
  const y = d.apply(x, { training: true });
  setSeed(3);
  assert.deepEqual(d.apply(x, { training: true }).data, y.data, 'same seed, same mask');
  const zeros = y.data.filter((v) => v === 0).length;
  assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `dropped ${zeros}`);
  assert.ok(y.data.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
});
