/** Sequential: eager building at add(), Keras's shapes and parameter counts, and summary(). */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Conv2D } from '../../src/layers/conv.js';
import { Dense, Flatten } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { Sequential } from '../../src/models/sequential.js';
import { Tensor } from '../../src/tensor/tensor.js';

beforeEach(() => resetLayerNames());

test('Conv2D(16, kernelSize 2, strides 2, valid) on 200x200x1 -> (null, 100, 100, 16), 80 params', () => {
  const m = new Sequential([new Conv2D({ filters: 16, kernelSize: 2, strides: 2, padding: 'valid', inputShape: [200, 200, 1] })]);
  const [row] = m.summaryData().layers;
  assert.deepEqual(row, { name: 'conv2d', type: 'Conv2D', outputShape: [null, 100, 100, 16], params: 80 });
});

test('MaxPooling2D(2, 2) on 100x100x15 -> (null, 50, 50, 15)', () => {
  const m = new Sequential([Input({ shape: [100, 100, 15] }), new MaxPooling2D({ poolSize: 2, strides: 2 })]);
  assert.deepEqual(m.summaryData().layers[0].outputShape, [null, 50, 50, 15]);
  assert.equal(m.countParams(), 0);
});

test('the 28*28 -> 128 -> 10 MLP has 101,770 params; summary() prints Keras\'s table', () => {
  const m = new Sequential(
    [new Flatten({ inputShape: [28, 28] }), new Dense({ units: 128, activation: 'relu' }), new Dense({ units: 10, activation: 'softmax' })],
    { name: 'mnist_mlp' },
  );
  const s = m.summaryData();
  assert.deepEqual(JSON.parse(JSON.stringify(s)), {
    name: 'mnist_mlp',
    layers: [
      { name: 'flatten', type: 'Flatten', outputShape: [null, 784], params: 0 },
      { name: 'dense', type: 'Dense', outputShape: [null, 128], params: 100480 },
      { name: 'dense_1', type: 'Dense', outputShape: [null, 10], params: 1290 },
    ],
    totalParams: 101770,
    trainableParams: 101770,
    nonTrainableParams: 0,
  });
  const printed: string[] = [];
  const text = m.summary((line) => printed.push(line));
  assert.deepEqual(printed, [text]);
  assert.match(text, /^Model: "mnist_mlp"/);
  assert.match(text, /Layer \(type\) +Output Shape +Param #/);
  assert.match(text, /dense \(Dense\) +\(null, 128\) +100480/);
  assert.match(text, /Total params: 101,770\nTrainable params: 101,770\nNon-trainable params: 0/);
  assert.doesNotMatch(text, /Connected to/);
});

test('add() builds eagerly and fails on a bad shape at add time, naming the layer', () => {
  const m = new Sequential();
  const conv = new Conv2D({ filters: 4, kernelSize: 3, inputShape: [6, 6, 1] });
  m.add(conv);
  assert.equal(conv.built, true);
  assert.deepEqual(conv.kernel.shape, [3, 3, 1, 4]);
  m.add(new MaxPooling2D());
  assert.deepEqual(m.layers.map((l) => l.lastOutputShape), [[null, 4, 4, 4], [null, 2, 2, 4]]);
  assert.throws(() => m.add(new Conv2D({ filters: 2, kernelSize: 3 })), /Conv2D 'conv2d_1': argument 'kernelSize' expected a window no larger than the padded input, received kernel 3x3 over input 2x2/);
  assert.throws(() => new Sequential([Input({ shape: [4] }), new Conv2D({ filters: 1, kernelSize: 1 })]), /Conv2D 'conv2d_2': argument 'input' expected rank 4.*received shape \(null, 4\)/);
  assert.throws(() => m.add(Input({ shape: [3] })), /an Input\(\) may only come first/);
});

test('without an input shape, Sequential builds on first call and then computes', () => {
  const m = new Sequential([new Dense({ units: 3 }), new Dense({ units: 2 })]);
  assert.equal(m.layers[0].built, false);
  const y = m.apply(Tensor.ones([4, 5]));
  assert.deepEqual(y.shape, [4, 2]);
  assert.equal(m.countParams(), 5 * 3 + 3 + 3 * 2 + 2);
  assert.equal(m.pop().name, 'dense_1');
  assert.equal(m.layers.length, 1);
});
