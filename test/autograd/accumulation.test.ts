/**
 * Gradient accumulation where one tensor feeds several consumers: a ResNet-style shortcut
 * y = relu(conv(x)) + x, and an Inception-style input read by four branches, gradient-checked end to end.
 */
import { test } from 'node:test';
import { Conv2D } from '../../src/layers/conv.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { relu } from '../../src/ops/activations.js';
import { add, mul } from '../../src/ops/elementwise.js';
import { concat } from '../../src/ops/layout.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { randomizeWeights } from '../helpers/layers.js';
import { distinct, normal, withFloat64 } from '../helpers/tensors.js';

const rng = new Random(707);

test('x used twice by one op and once more: x * x + x', () => {
  gradcheck((x) => add(mul(x, x), x), [normal([2, 3], rng)]);
});

test('residual shortcut y = relu(conv(x)) + x, with respect to x and the conv weights', () => {
  withFloat64(() => {
    const conv = new Conv2D({ filters: 2, kernelSize: 3, padding: 'same' });
    const x = normal([2, 4, 4, 2], rng);
    conv.apply(x);
    randomizeWeights(conv, rng);
    gradcheck((t) => add(relu(conv.apply(t)), t), [x, ...conv.trainableWeights]);
  });
});

test('one input read by four branches (1x1 | 3x3 | pool -> 1x1 | identity), concatenated', () => {
  withFloat64(() => {
    const a = new Conv2D({ filters: 2, kernelSize: 1 });
    const b = new Conv2D({ filters: 1, kernelSize: 3, padding: 'same', activation: 'tanh' });
    const pool = new MaxPooling2D({ poolSize: 3, strides: 1, padding: 'same' });
    const c = new Conv2D({ filters: 2, kernelSize: 1 });
    const x = distinct([1, 4, 4, 2], rng);
    const f = (t: Tensor): Tensor => concat([a.apply(t), b.apply(t), c.apply(pool.apply(t)), t]);
    f(x);
    for (const l of [a, b, c]) randomizeWeights(l, rng);
    gradcheck(f, [x, ...a.trainableWeights, ...b.trainableWeights, ...c.trainableWeights]);
  });
});
