/** The zoo's composite blocks on tiny shapes: gradient checks, output shapes and weight tracking. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resetLayerNames } from '../../src/layers/layer.js';
import { Random } from '../../src/tensor/random.js';
import { ConvBNRelu, InceptionBlock, ResnetBlock } from '../../src/zoo/blocks.js';
import { checkLayer } from '../helpers/layers.js';
import { distinct, normal } from '../helpers/tensors.js';

const rng = new Random(808);

// A conv bias right before a training-mode BN has a zero gradient: the batch mean removes it.
const biasBeforeBN = /conv2d(_\d+)?\/bias$/;

test('ConvBNRelu gradient (training mode): input, kernel, bias, gamma, beta', () => {
  const { layer } = checkLayer(() => new ConvBNRelu({ filters: 2, kernelSize: 3, strides: 2 }), [normal([2, 5, 5, 2], rng)], {
    call: { training: true },
    expectWeights: 4,
    allowZero: biasBeforeBN,
  });
  assert.equal(layer.weights.length, 6, 'conv kernel + bias, BN gamma, beta, moving mean, moving variance');
  // In inference mode the bias does reach the output.
  checkLayer(() => new ConvBNRelu({ filters: 2, kernelSize: 1 }), [normal([1, 3, 3, 2], rng)], { call: { training: false }, expectWeights: 4 });
});

test('InceptionBlock gradient (stride 2, training mode): input and all 24 trainable weights', () => {
  const { layer } = checkLayer(() => new InceptionBlock({ filters: 2, strides: 2 }), [distinct([2, 5, 5, 2], rng)], {
    call: { training: true },
    expectWeights: 24,
    allowZero: biasBeforeBN,
  });
  assert.equal(layer.lastOutputShape?.[3], 8, 'four branches of 2 channels');
});

test('ResnetBlock with residualPath (stride 2) gradient, training mode', () => {
  checkLayer(() => new ResnetBlock({ filters: 3, strides: 2, residualPath: true }), [normal([2, 5, 5, 2], rng)], { call: { training: true }, expectWeights: 9 });
});

test('ResnetBlock identity shortcut gradient, training and inference mode', () => {
  checkLayer(() => new ResnetBlock({ filters: 2 }), [normal([2, 4, 4, 2], rng)], { call: { training: true }, expectWeights: 6 });
  checkLayer(() => new ResnetBlock({ filters: 2 }), [normal([1, 4, 4, 2], rng)], { call: { training: false }, expectWeights: 6 });
});

test('blocks infer output shapes symbolically and name themselves as Keras would', () => {
  resetLayerNames();
  const inc = new InceptionBlock({ filters: 4, strides: 2 });
  assert.equal(inc.name, 'inception_blk');
  assert.deepEqual(inc.computeOutputShape([null, 9, 9, 3]), [null, 5, 5, 16]);
  const res = new ResnetBlock({ filters: 6, strides: 2, residualPath: true });
  assert.deepEqual(res.computeOutputShape([null, 8, 8, 3]), [null, 4, 4, 6]);
  assert.equal(res.weights.length, 3 + 3 * 4, 'three convs without bias and three BNs');
  const cbr = new ConvBNRelu({ filters: 5, kernelSize: 1 });
  assert.deepEqual(cbr.computeOutputShape([null, 7, 7, 2]), [null, 7, 7, 5]);
});
