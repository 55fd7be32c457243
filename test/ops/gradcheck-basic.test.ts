/** Gradient checks of the elementwise, activation, linear-algebra, layout and dropout ops. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activation, softmax } from '../../src/ops/activations.js';
import { dropout } from '../../src/ops/dropout.js';
import { add, addN, mean, mul, scale, sub, sum } from '../../src/ops/elementwise.js';
import { concat, flatten, reshape, zeroPad2d } from '../../src/ops/layout.js';
import { biasAdd, dense, matmul } from '../../src/ops/linalg.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { assertClose, fromIntervals, normal } from '../helpers/tensors.js';

const rng = new Random(101);

test('add, sub, mul, addN', () => {
  const a = normal([2, 3, 2], rng);
  const b = normal([2, 3, 2], rng);
  const c = normal([2, 3, 2], rng);
  gradcheck(add, [a, b]);
  gradcheck(sub, [a, b]);
  gradcheck(mul, [a, b]);
  gradcheck((p, q, r) => addN([p, q, r]), [a, b, c]);
});

test('scale, sum, mean (scalar outputs)', () => {
  const x = normal([3, 4], rng);
  gradcheck((t) => scale(t, -2.5), [x]);
  gradcheck(sum, [x]);
  gradcheck(mean, [x]);
  assert.ok(Math.abs(mean(x).item() - sum(x).item() / 12) < 1e-12);
});

test('activations away from their kinks: relu, relu6, sigmoid, tanh, linear', () => {
  const kinkFree = fromIntervals([2, 4, 3], rng, [[-3, -0.1], [0.1, 5.9], [6.1, 8]]);
  for (const kind of ['relu', 'relu6', 'sigmoid', 'tanh', 'linear'] as const) {
    gradcheck((t) => activation(t, kind), [kinkFree], { names: [kind] });
  }
  const wide = fromIntervals([20], rng, [[-30, -10], [10, 30]]);
  gradcheck((t) => activation(t, 'sigmoid'), [wide]); // the overflow-safe branches
});

test('activation values', () => {
  const x = Tensor.from([-2, 0.5, 3, 7], [4], 'float64');
  assertClose(activation(x, 'relu'), [0, 0.5, 3, 7]);
  assertClose(activation(x, 'relu6'), [0, 0.5, 3, 6]);
  assertClose(activation(x, 'sigmoid'), [-2, 0.5, 3, 7].map((v) => 1 / (1 + Math.exp(-v))), undefined, { atol: 1e-15 });
  assertClose(activation(x, 'tanh'), [-2, 0.5, 3, 7].map(Math.tanh), undefined, { atol: 1e-15 });
  assert.equal(activation(Tensor.from([-1000, 1000], [2]), 'sigmoid').data.every(Number.isFinite), true);
});

test('softmax over the last axis', () => {
  const x = normal([3, 4], rng);
  gradcheck(softmax, [x]);
  gradcheck((t) => activation(t, 'softmax'), [normal([2, 2, 3], rng)]);
  const big = Tensor.from([[1000, 1001, 999]], undefined, 'float64');
  const y = softmax(big);
  const e = [Math.exp(-1), 1, Math.exp(-2)];
  const s = e[0] + e[1] + e[2];
  assertClose(y, e.map((v) => v / s), undefined, { atol: 1e-14 });
});

test('matmul, biasAdd, dense (with and without bias, rank 3 input)', () => {
  gradcheck((a, b) => matmul(a, b), [normal([3, 4], rng), normal([4, 2], rng)]);
  gradcheck((x, b) => biasAdd(x, b), [normal([2, 3, 4], rng), normal([4], rng)]);
  gradcheck((x, k, b) => dense(x, k, b), [normal([2, 3, 4], rng), normal([4, 5], rng), normal([5], rng)]);
  gradcheck((x, k) => dense(x, k, null), [normal([3, 4], rng), normal([4, 2], rng)]);
});

test('matmul values against a direct triple loop', () => {
  const a = normal([3, 5], rng);
  const b = normal([5, 2], rng);
  const want = new Float64Array(6);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) for (let p = 0; p < 5; p++) want[i * 2 + j] += a.data[i * 5 + p] * b.data[p * 2 + j];
  assertClose(matmul(a, b), want, undefined, { atol: 1e-12 });
});

test('reshape, flatten, concat, zeroPad2d', () => {
  gradcheck((t) => reshape(t, [3, 2, 2]), [normal([2, 6], rng)]);
  gradcheck((t) => flatten(t), [normal([2, 2, 3, 2], rng)]);
  gradcheck((a, b, c) => concat([a, b, c]), [normal([2, 3, 1], rng), normal([2, 3, 2], rng), normal([2, 3, 3], rng)]);
  gradcheck((t) => zeroPad2d(t, [[1, 0], [2, 1]]), [normal([2, 3, 2, 2], rng)]);
});

test('concat and zeroPad2d values', () => {
  const a = Tensor.from([[1, 2], [3, 4]]);
  const b = Tensor.from([[5], [6]]);
  assert.deepEqual(concat([a, b]).toArray(), [[1, 2, 5], [3, 4, 6]]);
  const x = Tensor.from([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = zeroPad2d(x, [[0, 1], [1, 0]]);
  assert.deepEqual(y.shape, [1, 3, 3, 1]);
  assert.deepEqual(Array.from(y.data), [0, 1, 2, 0, 3, 4, 0, 0, 0]);
});

test('dropout with a fixed mask (generator reseeded before each evaluation)', () => {
  const x = normal([2, 5, 3], rng);
  const gen = new Random(0);
  const f = (t: Tensor): Tensor => {
    gen.seed(77);
    return dropout(t, 0.4, gen);
  };
  gradcheck(f, [x]);
  const y = f(x);
  let kept = 0;
  for (let i = 0; i < x.size; i++) {
    if (y.data[i] !== 0) {
      kept++;
      assert.ok(Math.abs(y.data[i] - x.data[i] / 0.6) < 1e-12, 'kept values are scaled by 1 / (1 - rate)');
    }
  }
  assert.ok(kept > 0 && kept < x.size, 'some values dropped, some kept');
  assert.equal(dropout(x, 0), x, 'rate 0 is the identity');
  // The mask's statistics: the kept share is 1 - rate, and neighbouring values are kept independently.
  const big = Tensor.full([200_000], 1, 'float64');
  const m = dropout(big, 0.3, new Random(5)).data;
  let keptBig = 0;
  let bothKept = 0;
  for (let i = 0; i < m.length; i++) {
    keptBig += m[i] !== 0 ? 1 : 0;
    if (i > 0 && m[i] !== 0 && m[i - 1] !== 0) bothKept++;
  }
  assert.ok(Math.abs(keptBig / m.length - 0.7) < 0.005, `kept share ${keptBig / m.length}, expected 0.7`);
  assert.ok(Math.abs(bothKept / (m.length - 1) - 0.49) < 0.005, `neighbours both kept ${bothKept / (m.length - 1)}, expected 0.49`);
  const again = dropout(big, 0.3, new Random(5)).data;
  const other = dropout(big, 0.3, new Random(6)).data;
  assert.deepEqual(again, m, 'same seed, same mask');
  assert.ok(other.some((v, i) => v !== m[i]), 'another seed, another mask');
  assert.throws(() => dropout(x, 1), /dropout: argument 'rate' expected a number in \[0, 1\), received 1/);
});
