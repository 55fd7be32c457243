/** Gradient checks of pooling and batch normalization ops. */
import { test } from 'node:test';
import { globalAvgPool2d, globalMaxPool2d, avgPool2d, maxPool2d } from '../../src/ops/pool.js';
import { batchNormInference, batchNormTraining } from '../../src/ops/normalization.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { distinct, normal, uniform } from '../helpers/tensors.js';

const rng = new Random(303);

test('maxPool2d 2x2 valid on odd 5x5 (the last row and column are dropped)', () => {
  gradcheck((x) => maxPool2d(x, { poolSize: 2 }), [distinct([2, 5, 5, 2], rng)]);
});

test('maxPool2d 3x3 stride 2 same (padded cells never win) and overlapping stride 1', () => {
  gradcheck((x) => maxPool2d(x, { poolSize: 3, strides: 2, padding: 'same' }), [distinct([1, 5, 6, 3], rng)]);
  gradcheck((x) => maxPool2d(x, { poolSize: 3, strides: 1, padding: 'same' }), [distinct([1, 4, 4, 2], rng)]);
});

test('avgPool2d same with partial windows, and valid', () => {
  gradcheck((x) => avgPool2d(x, { poolSize: 2, strides: 2, padding: 'same' }), [normal([2, 5, 5, 2], rng)]);
  gradcheck((x) => avgPool2d(x, { poolSize: 3, strides: 1, padding: 'same' }), [normal([1, 4, 5, 2], rng)]);
  gradcheck((x) => avgPool2d(x, { poolSize: [2, 3], strides: [1, 2], padding: 'valid' }), [normal([1, 5, 5, 3], rng)]);
});

test('globalAvgPool2d and globalMaxPool2d (with and without keepdims)', () => {
  gradcheck((x) => globalAvgPool2d(x), [normal([2, 3, 5, 3], rng)]);
  gradcheck((x) => globalAvgPool2d(x, true), [normal([1, 3, 3, 2], rng)]);
  gradcheck((x) => globalMaxPool2d(x), [distinct([2, 3, 5, 3], rng)]);
  gradcheck((x) => globalMaxPool2d(x, true), [distinct([1, 3, 3, 2], rng)]);
});

test('batchNormTraining with respect to x, gamma and beta (rank 4 and rank 2)', () => {
  const f = (x: Tensor, gm: Tensor, b: Tensor): Tensor => batchNormTraining(x, gm, b, 1e-3).y;
  const g = normal([2, 3, 3, 3], rng);
  gradcheck(f, [g, uniform([3], rng, 0.5, 1.5), normal([3], rng)], { names: ['x', 'gamma', 'beta'] });
  gradcheck(f, [normal([5, 4], rng), uniform([4], rng, 0.5, 1.5), normal([4], rng)], { names: ['x', 'gamma', 'beta'] });
});

test('batchNormTraining fused with ReLU and ReLU6, with respect to x, gamma and beta', () => {
  // gamma up to 5 and beta spread the normalised values past 0 and 6, so both clips cut somewhere.
  for (const act of ['relu', 'relu6'] as const) {
    const f = (x: Tensor, gm: Tensor, b: Tensor): Tensor => batchNormTraining(x, gm, b, 1e-3, act).y;
    gradcheck(f, [normal([2, 3, 3, 4], rng), uniform([4], rng, 2, 5), uniform([4], rng, -3, 3)], { names: ['x', 'gamma', 'beta'] });
  }
});

test('batchNormInference with respect to x, gamma and beta (moving statistics fixed)', () => {
  const mean = normal([3], rng);
  const variance = uniform([3], rng, 0.2, 2);
  gradcheck((x, gm, b) => batchNormInference(x, gm, b, mean, variance, 1e-3), [normal([2, 3, 2, 3], rng), uniform([3], rng, 0.5, 1.5), normal([3], rng)], {
    names: ['x', 'gamma', 'beta'],
  });
  for (const act of ['relu', 'relu6'] as const) {
    gradcheck((x, gm, b) => batchNormInference(x, gm, b, mean, variance, 1e-3, act), [normal([2, 3, 2, 3], rng), uniform([3], rng, 2, 5), uniform([3], rng, -3, 3)], {
      names: ['x', 'gamma', 'beta'],
    });
  }
});
