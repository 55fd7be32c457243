/** Per-layer output shapes and names of zoo models (Keras's summaries), and a forward pass on tiny inputs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../../src/autograd/tape.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { ModelSummary } from '../../src/models/summary.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { alexnet8, inception10, lenet5, mobilenet, resnet18 } from '../../src/zoo/index.js';

const shapeOf = (s: ModelSummary, name: string) => s.layers.find((l) => l.name === name)?.outputShape;

test('lenet5: every layer, Keras names, shapes and params', () => {
  resetLayerNames();
  const s = lenet5().summaryData();
  assert.deepEqual(s.layers.map((l) => [l.name, l.outputShape, l.params]), [
    ['conv2d', [null, 28, 28, 6], 456],
    ['max_pooling2d', [null, 14, 14, 6], 0],
    ['conv2d_1', [null, 10, 10, 16], 2416],
    ['max_pooling2d_1', [null, 5, 5, 16], 0],
    ['flatten', [null, 400], 0],
    ['dense', [null, 120], 48120],
    ['dense_1', [null, 84], 10164],
    ['dense_2', [null, 10], 850],
  ]);
});

test('alexnet8: spot checks, including (null, 2, 2, 256) after the third pool', () => {
  resetLayerNames();
  const s = alexnet8().summaryData();
  const want: [string, (number | null)[]][] = [
    ['conv2d', [null, 30, 30, 96]],
    ['max_pooling2d', [null, 14, 14, 96]],
    ['conv2d_1', [null, 12, 12, 256]],
    ['max_pooling2d_1', [null, 5, 5, 256]],
    ['conv2d_4', [null, 5, 5, 256]],
    ['max_pooling2d_2', [null, 2, 2, 256]],
    ['flatten', [null, 1024]],
    ['dense', [null, 2048]],
    ['dense_2', [null, 10]],
  ];
  for (const [name, shape] of want) assert.deepEqual(shapeOf(s, name), shape, name);
  assert.equal(s.layers.find((l) => l.name === 'batch_normalization')?.params, 4 * 96);
});

test('mobilenet: Keras layer names and shapes', () => {
  const s = mobilenet().summaryData();
  assert.equal(s.name, 'mobilenet_1.00_224');
  const want: [string, (number | null)[]][] = [
    ['conv1', [null, 112, 112, 32]],
    ['conv1_relu', [null, 112, 112, 32]],
    ['conv_dw_1', [null, 112, 112, 32]],
    ['conv_pw_1', [null, 112, 112, 64]],
    ['conv_pad_2', [null, 113, 113, 64]],
    ['conv_dw_2', [null, 56, 56, 64]],
    ['conv_dw_2_bn', [null, 56, 56, 64]],
    ['conv_pw_6_relu', [null, 14, 14, 512]],
    ['conv_pad_12', [null, 15, 15, 512]],
    ['conv_dw_12', [null, 7, 7, 512]],
    ['conv_pw_13_relu', [null, 7, 7, 1024]],
    ['global_average_pooling2d', [null, 1, 1, 1024]],
    ['conv_preds', [null, 1, 1, 1000]],
    ['reshape_2', [null, 1000]],
    ['predictions', [null, 1000]],
  ];
  for (const [name, shape] of want) assert.deepEqual(shapeOf(s, name), shape, name);
  assert.deepEqual(s.layers[0].outputShape, [null, 224, 224, 3], 'the input layer comes first');
  assert.equal(s.layers.find((l) => l.name === 'conv_dw_1')?.type, 'DepthwiseConv2D');
  assert.equal(s.layers.find((l) => l.name === 'conv_dw_1')?.params, 3 * 3 * 32);
  assert.equal(s.layers.find((l) => l.name === 'conv1_relu')?.type, 'ReLU');
});

test('mobilenet options: alpha 0.25 at 128 without top, average pooling', () => {
  const m = mobilenet({ inputShape: [128, 128, 3], alpha: 0.25, includeTop: false, pooling: 'avg' });
  assert.deepEqual(m.outputs[0].shape, [null, 256]);
  assert.equal(m.name, 'mobilenet_0.25_128');
});

test('small zoo variants run forward in training mode to softmax rows (inception10, resnet18, mobilenet)', () => {
  const rows = (t: Tensor, c: number): number[] => {
    const sums = new Array<number>(t.shape[0]).fill(0);
    for (let i = 0; i < t.size; i++) sums[Math.floor(i / c)] += t.data[i];
    return sums;
  };
  const x = Tensor.randomNormal([2, 8, 8, 3]);
  for (const [model, c] of [
    [inception10({ inputShape: [8, 8, 3], numClasses: 4, initCh: 4 }), 4],
    [resnet18({ inputShape: [8, 8, 3], numClasses: 3, blockList: [1, 1], initialFilters: 4 }), 3],
    [mobilenet({ inputShape: [32, 32, 3], alpha: 0.25, numClasses: 5 }), 5],
  ] as const) {
    const input = model.inputs[0].shape[1] === 8 ? x : Tensor.randomNormal([2, 32, 32, 3]);
    // Training mode: from-scratch MobileNet's signal fades through 27 layers at init (Keras's depthwise fans),
    // and the batch statistics restore it.
    const y = noGrad(() => model.apply(input, { training: true }));
    assert.deepEqual(y.shape, [2, c], model.name);
    assert.ok(y.data.every(Number.isFinite), `${model.name}: finite outputs`);
    for (const s of rows(y, c)) assert.ok(Math.abs(s - 1) < 1e-5, `${model.name}: rows sum to 1`);
    // ReLU maps NaN to 0, so a broken kernel upstream can hide behind a constant output: require variation.
    assert.ok(new Set(Array.from(y.data)).size > c, `${model.name}: outputs vary with class and sample`);
  }
});
