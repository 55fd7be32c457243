/** The functional API, subclassed models, predict() and trainable/non-trainable weight bookkeeping. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { gradients } from '../../src/autograd/tape.js';
import { Conv2D } from '../../src/layers/conv.js';
import { Dense, Flatten } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { CallOptions, LayerInput, resetLayerNames } from '../../src/layers/layer.js';
import { Concatenate } from '../../src/layers/merge.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { GlobalAveragePooling2D } from '../../src/layers/pooling.js';
import { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { conv2d } from '../../src/ops/conv.js';
import { concat } from '../../src/ops/layout.js';
import { biasAdd } from '../../src/ops/linalg.js';
import { sum } from '../../src/ops/elementwise.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/tensors.js';

const rng = new Random(1001);
beforeEach(() => resetLayerNames());

test('a model with two inputs joined by Concatenate computes what the ops compute', () => {
  const a = Input({ shape: [4, 4, 2], name: 'image_a' });
  const b = Input({ shape: [4, 4, 3], name: 'image_b' });
  const joined = new Concatenate().apply([a, b]);
  const conv = new Conv2D({ filters: 2, kernelSize: 3, padding: 'same' });
  const out = conv.apply(joined);
  const model = new Model({ inputs: [a, b], outputs: out, name: 'two_inputs' });
  assert.deepEqual(out.shape, [null, 4, 4, 2]);
  assert.deepEqual(model.layers.map((l) => l.name), ['image_a', 'image_b', 'concatenate', 'conv2d']);
  conv.bias?.assign([0.25, -0.5]);
  const xa = Tensor.randomNormal([3, 4, 4, 2], 0, 1, rng);
  const xb = Tensor.randomNormal([3, 4, 4, 3], 0, 1, rng);
  const want = biasAdd(conv2d(concat([xa, xb]), conv.kernel, { padding: 'same' }), conv.bias as Tensor);
  assertClose(model.apply([xa, xb]), want, want.shape, { atol: 1e-6 });
  const rows = model.summaryData().layers;
  assert.deepEqual(rows.find((r) => r.name === 'concatenate')?.inputs, ['image_a[0][0]', 'image_b[0][0]']);
  assert.match(model.summary(null), /Connected to/);
  assert.throws(() => model.apply([xa]), /Model 'two_inputs': argument 'inputs' expected 2 tensor\(s\), received 1/);
  assert.throws(() => model.apply([xa, Tensor.zeros([3, 5, 4, 3])]), /InputLayer 'image_b': argument 'input' expected shape \(null, 4, 4, 3\), received shape \(3, 5, 4, 3\)/);
});

test('predict() in batches equals a single inference call', () => {
  setSeed(4);
  const model = new Sequential([
    new Conv2D({ filters: 3, kernelSize: 3, inputShape: [6, 6, 2] }),
    new BatchNormalization(),
    new Flatten(),
    new Dense({ units: 4, activation: 'softmax' }),
  ]);
  const x = Tensor.randomNormal([7, 6, 6, 2], 0, 1, rng);
  const whole = model.apply(x, { training: false });
  for (const batchSize of [1, 3, 7, 32]) {
    const y = model.predict(x, { batchSize });
    assert.deepEqual(y.shape, [7, 4]);
    assertClose(y, whole, y.shape, { atol: 1e-7, label: `batchSize ${batchSize}` });
    assert.equal(y.requiresGrad, false);
  }
  assert.throws(() => model.predict(x, { batchSize: 0 }), /predict: argument 'batchSize' expected a positive integer, received 0/);
});

class TinyNet extends Model {
  conv = new Conv2D({ filters: 3, kernelSize: 3, padding: 'same' });
  bn = new BatchNormalization();
  pool = new GlobalAveragePooling2D();
  head = new Dense({ units: 2 });

  override call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    return this.head.apply(this.pool.apply(this.bn.apply(this.conv.apply(inputs, opts), opts)));
  }
}

test('a subclassed model tracks the weights of the layers in its fields, and gradients reach them', () => {
  const net = new TinyNet({ name: 'tiny' });
  net.build([null, 5, 5, 2]);
  assert.deepEqual(net.weights.map((w) => w.name), [
    'conv2d/kernel', 'conv2d/bias',
    'batch_normalization/gamma', 'batch_normalization/beta', 'batch_normalization/moving_mean', 'batch_normalization/moving_variance',
    'dense/kernel', 'dense/bias',
  ]);
  assert.equal(net.countParams(), 3 * 3 * 2 * 3 + 3 + 4 * 3 + 3 * 2 + 2);
  assert.equal(net.trainableWeights.length, 6);
  assert.equal(net.nonTrainableWeights.length, 2);
  const y = net.apply(Tensor.randomNormal([2, 5, 5, 2], 0, 1, rng), { training: true });
  const grads = gradients(sum(y), net.trainableWeights);
  for (const [i, g] of grads.entries()) {
    if (net.trainableWeights[i].name === 'conv2d/bias') continue; // removed by the training-mode BN
    assert.ok(g.data.some((v) => v !== 0), `gradient reaches ${net.trainableWeights[i].name}`);
  }
  assert.equal(net.summaryData().layers.length, 4);
});

test('trainable and non-trainable weights: BN statistics are non-trainable; trainable=false freezes a layer', () => {
  const inputs = Input({ shape: [4, 4, 1] });
  const conv = new Conv2D({ filters: 2, kernelSize: 3 });
  const bn = new BatchNormalization();
  const dense = new Dense({ units: 3 });
  const outputs = dense.apply(new Flatten().apply(bn.apply(conv.apply(inputs))));
  const model = new Model({ inputs, outputs });
  const count = () => [model.trainableWeights.length, model.nonTrainableWeights.length];
  assert.deepEqual(count(), [6, 2]);
  assert.deepEqual(bn.nonTrainableWeights.map((w) => w.name), ['batch_normalization/moving_mean', 'batch_normalization/moving_variance']);
  conv.trainable = false;
  assert.deepEqual(count(), [4, 4]);
  assert.equal(model.summaryData().trainableParams, 2 * 2 + 8 * 3 + 3);
  conv.trainable = true;
  model.trainable = false;
  assert.deepEqual(count(), [0, 8]);
  const s = model.summaryData();
  assert.equal(s.trainableParams, 0);
  assert.equal(s.nonTrainableParams, s.totalParams);
});

test('a functional model is usable as a layer inside another model', () => {
  const i1 = Input({ shape: [3] });
  const inner = new Model({ inputs: i1, outputs: new Dense({ units: 2 }).apply(i1), name: 'inner' });
  const i2 = Input({ shape: [3] });
  const outer = new Model({ inputs: i2, outputs: new Dense({ units: 1 }).apply(inner.apply(i2)), name: 'outer' });
  assert.equal(outer.countParams(), 3 * 2 + 2 + 2 + 1);
  assert.deepEqual(outer.apply(Tensor.ones([5, 3])).shape, [5, 1]);
});

test('a layer shared by two calls has its weights counted once and prints "multiple"', () => {
  const a = Input({ shape: [3], name: 'left' });
  const b = Input({ shape: [3], name: 'right' });
  const shared = new Dense({ units: 2 });
  const model = new Model({ inputs: [a, b], outputs: new Concatenate().apply([shared.apply(a), shared.apply(b)]) });
  assert.equal(model.countParams(), 3 * 2 + 2);
  const row = model.summaryData().layers.find((l) => l.name === 'dense');
  assert.equal(row?.outputShape, 'multiple');
  assert.deepEqual(row?.inputs, ['left[0][0]', 'right[0][0]']);
  const y = model.apply([Tensor.ones([1, 3]), Tensor.ones([1, 3])]);
  assert.deepEqual(Array.from(y.data.subarray(0, 2)), Array.from(y.data.subarray(2, 4)), 'same weights on both calls');
});
