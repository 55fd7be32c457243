/** Every layer, gradient-checked with respect to its inputs and its weights (float64). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { Activation, Dense, Dropout, Flatten, ReLU, Reshape } from '../../src/layers/core.js';
import { Add, Concatenate, ZeroPadding2D } from '../../src/layers/merge.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../../src/layers/pooling.js';
import { Random } from '../../src/tensor/random.js';
import { Variable } from '../../src/tensor/variable.js';
import { l1, l2 } from '../../src/layers/regularizers.js';
import { addScalars } from '../../src/ops/elementwise.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { checkLayer } from '../helpers/layers.js';
import { distinct, fromIntervals, normal, withFloat64 } from '../helpers/tensors.js';

const rng = new Random(606);

test('Conv2D with bias and activation, stride 2 same (asymmetric) and valid', () => {
  checkLayer(() => new Conv2D({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }), [normal([2, 6, 5, 2], rng)], { expectWeights: 2 });
  checkLayer(() => new Conv2D({ filters: 2, kernelSize: [2, 3], activation: 'sigmoid' }), [normal([1, 4, 5, 3], rng)], { expectWeights: 2 });
  checkLayer(() => new Conv2D({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false }), [normal([1, 5, 5, 2], rng)], { expectWeights: 1 });
});

test('DepthwiseConv2D multiplier 2 with bias, and stride 2 same', () => {
  checkLayer(() => new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'tanh' }), [normal([2, 4, 4, 2], rng)], { expectWeights: 2 });
  checkLayer(() => new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 'same', useBias: false }), [normal([1, 6, 5, 3], rng)], { expectWeights: 1 });
});

test('Dense on rank 2 and rank 3 inputs (softmax activation)', () => {
  checkLayer(() => new Dense({ units: 3, activation: 'tanh' }), [normal([2, 4], rng)], { expectWeights: 2 });
  checkLayer(() => new Dense({ units: 4, activation: 'softmax' }), [normal([2, 3, 3], rng)], { expectWeights: 2 });
});

test('BatchNormalization in training mode (batch statistics) and inference mode (moving statistics)', () => {
  const { layer } = checkLayer(() => new BatchNormalization(), [normal([2, 3, 3, 3], rng)], { call: { training: true }, expectWeights: 2 });
  assert.equal(layer.nonTrainableWeights.length, 2);
  checkLayer(() => new BatchNormalization({ epsilon: 0.01 }), [normal([2, 2, 3, 2], rng)], { call: { training: false }, expectWeights: 2 });
  checkLayer(() => new BatchNormalization({ center: false }), [normal([4, 3], rng)], { call: { training: true }, expectWeights: 1 });
});

test('Activation and ReLU / ReLU(6) away from kinks', () => {
  const x = fromIntervals([2, 3, 4], rng, [[-2, -0.1], [0.1, 5.9], [6.1, 7]]);
  for (const activation of ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'linear'] as const) checkLayer(() => new Activation({ activation }), [x]);
  checkLayer(() => new ReLU(), [x]);
  checkLayer(() => new ReLU({ maxValue: 6 }), [x]);
});

test('MaxPooling2D and AveragePooling2D', () => {
  checkLayer(() => new MaxPooling2D({ poolSize: 2 }), [distinct([2, 5, 5, 2], rng)]);
  checkLayer(() => new MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same' }), [distinct([1, 6, 5, 2], rng)]);
  checkLayer(() => new AveragePooling2D({ poolSize: 2, padding: 'same' }), [normal([2, 5, 3, 2], rng)]);
});

test('GlobalAveragePooling2D and GlobalMaxPooling2D', () => {
  checkLayer(() => new GlobalAveragePooling2D(), [normal([2, 3, 3, 3], rng)]);
  checkLayer(() => new GlobalMaxPooling2D({ keepdims: true }), [distinct([2, 3, 3, 3], rng)]);
});

test('Dropout in training (global generator reseeded before each evaluation)', () => {
  checkLayer(() => new Dropout({ rate: 0.3 }), [normal([2, 4, 3], rng)], { call: { training: true }, seed: 5 });
});

test('Flatten, Reshape, ZeroPadding2D', () => {
  checkLayer(() => new Flatten(), [normal([2, 2, 3, 2], rng)]);
  checkLayer(() => new Reshape({ targetShape: [-1, 2] }), [normal([2, 3, 4], rng)]);
  checkLayer(() => new ZeroPadding2D({ padding: [[1, 0], [0, 2]] }), [normal([2, 3, 2, 2], rng)]);
});

test('Concatenate and Add on three inputs', () => {
  checkLayer(() => new Concatenate(), [normal([2, 3, 3, 1], rng), normal([2, 3, 3, 2], rng), normal([2, 3, 3, 3], rng)]);
  checkLayer(() => new Add(), [normal([2, 3, 3, 2], rng), normal([2, 3, 3, 2], rng), normal([2, 3, 3, 2], rng)]);
});

test('regularization losses: L2 kernel and L1 bias penalties of a Dense layer, gradient and value', () => {
  withFloat64(() => {
    const d = new Dense({ units: 3, kernelRegularizer: l2(0.02), biasRegularizer: l1(0.5) });
    d.apply(normal([2, 4], rng));
    d.bias?.assign(Array.from({ length: 3 }, (_, i) => (i % 2 === 0 ? 0.3 : -0.4)));
    const loss = () => addScalars(d.regularizationLosses());
    let want = 0;
    for (const v of d.kernel.data) want += 0.02 * v * v;
    want += 0.5 * (0.3 + 0.4 + 0.3);
    assert.ok(Math.abs(loss().item() - want) < 1e-12);
    gradcheck(loss, [d.kernel, d.bias as Variable]);
  });
});
