/** Loss ops: gradient checks of every form, and values against direct formulas (Keras semantics). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { softmax } from '../../src/ops/activations.js';
import { EPSILON, categoricalCrossentropy, l2Penalty, meanSquaredError, sparseCategoricalCrossentropy } from '../../src/ops/losses.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { normal, uniform } from '../helpers/tensors.js';

const rng = new Random(404);
const labels = [0, 3, 1];

function logSumExp(row: number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
}
const rows = (t: Tensor, c: number): number[][] => Array.from({ length: t.size / c }, (_, r) => Array.from(t.data.subarray(r * c, (r + 1) * c)));
const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('sparseCategoricalCrossentropy fromLogits: gradient and value', () => {
  const z = normal([3, 4], rng);
  gradcheck((t) => sparseCategoricalCrossentropy(labels, t, { fromLogits: true }), [z]);
  const want = rows(z, 4).reduce((s, row, r) => s + logSumExp(row) - row[labels[r]], 0) / 3;
  close(sparseCategoricalCrossentropy(labels, z, { fromLogits: true }).item(), want);
});

test('sparseCategoricalCrossentropy on probabilities not from a softmax (rows not summing to 1)', () => {
  const p = uniform([3, 4], rng, 0.05, 0.9);
  assert.ok(rows(p, 4).some((row) => Math.abs(row.reduce((a, b) => a + b) - 1) > 0.1));
  gradcheck((t) => sparseCategoricalCrossentropy(labels, t), [p]);
  const want = rows(p, 4).reduce((s, row, r) => s - Math.log(row[labels[r]] / row.reduce((a, b) => a + b)), 0) / 3;
  close(sparseCategoricalCrossentropy(labels, p).item(), want);
});

test('sparseCategoricalCrossentropy clips probabilities to [1e-7, 1 - 1e-7]', () => {
  const p = Tensor.from([[1e-12, 0.5, 0.5]], undefined, 'float64');
  const want = -Math.log(EPSILON / (EPSILON + 1));
  close(sparseCategoricalCrossentropy([0], p).item(), want);
});

test('sparseCategoricalCrossentropy on softmax output uses the logits, as Keras does', () => {
  const z = normal([3, 4], rng);
  gradcheck((t) => sparseCategoricalCrossentropy(labels, softmax(t)), [z]);
  const extreme = Tensor.from([[0, 60, -60]], undefined, 'float64');
  const fromLogits = sparseCategoricalCrossentropy([2], extreme, { fromLogits: true }).item();
  close(fromLogits, logSumExp([0, 60, -60]) + 60);
  close(sparseCategoricalCrossentropy([2], softmax(extreme)).item(), fromLogits, 1e-9);
});

test('categoricalCrossentropy fromLogits with soft targets: gradient and value', () => {
  const z = normal([3, 4], rng);
  const t = uniform([3, 4], rng, 0, 1);
  gradcheck((x) => categoricalCrossentropy(t, x, { fromLogits: true }), [z]);
  const tr = rows(t, 4);
  const want = rows(z, 4).reduce((s, row, r) => s - row.reduce((acc, v, j) => acc + tr[r][j] * (v - logSumExp(row)), 0), 0) / 3;
  close(categoricalCrossentropy(t, z, { fromLogits: true }).item(), want);
});

test('categoricalCrossentropy on probabilities: normalised per row, then clipped', () => {
  const p = uniform([3, 4], rng, 0.05, 0.9);
  const t = Tensor.from([[1, 0, 0, 0], [0, 0.3, 0.7, 0], [0.2, 0.2, 0.2, 0.4]], undefined, 'float64');
  gradcheck((x) => categoricalCrossentropy(t, x), [p]);
  const tr = rows(t, 4);
  const want = rows(p, 4).reduce((s, row, r) => {
    const total = row.reduce((a, b) => a + b);
    return s - row.reduce((acc, v, j) => acc + tr[r][j] * Math.log(v / total), 0);
  }, 0) / 3;
  close(categoricalCrossentropy(t, p).item(), want);
});

test('categoricalCrossentropy on softmax output uses the logits, as Keras does', () => {
  const z = normal([2, 3], rng);
  const t = Tensor.from([[0, 1, 0], [0.5, 0, 0.5]], undefined, 'float64');
  gradcheck((x) => categoricalCrossentropy(t, softmax(x)), [z]);
  const extreme = Tensor.from([[0, 60, -60]], undefined, 'float64');
  const onehot = Tensor.from([[0, 0, 1]], undefined, 'float64');
  const fromLogits = categoricalCrossentropy(onehot, extreme, { fromLogits: true }).item();
  close(fromLogits, logSumExp([0, 60, -60]) + 60);
  close(categoricalCrossentropy(onehot, softmax(extreme)).item(), fromLogits, 1e-9);
});

test('meanSquaredError: gradient and value', () => {
  const y = normal([2, 3], rng);
  const yHat = normal([2, 3], rng);
  gradcheck((p) => meanSquaredError(y, p), [yHat]);
  let s = 0;
  for (let i = 0; i < 6; i++) s += (y.data[i] - yHat.data[i]) ** 2;
  close(meanSquaredError(y, yHat).item(), s / 6);
});

test('l2Penalty: gradient and value', () => {
  const w = normal([3, 2], rng);
  gradcheck((x) => l2Penalty(x, 0.01), [w]);
  let s = 0;
  for (const v of w.data) s += v * v;
  close(l2Penalty(w, 0.01).item(), 0.01 * s);
});

test('losses reject bad labels and shapes, naming argument, expected and received', () => {
  const p = uniform([2, 3], rng, 0.1, 0.9);
  assert.throws(() => sparseCategoricalCrossentropy([0, 3], p), /sparseCategoricalCrossentropy: argument 'yTrue' expected integer labels in \[0, 3\), received 3 at index 1/);
  assert.throws(() => sparseCategoricalCrossentropy([-1, 0], p), /'yTrue' expected integer labels in \[0, 3\), received -1 at index 0/);
  assert.throws(() => sparseCategoricalCrossentropy([0, 1.5], p), /'yTrue' expected integer labels in \[0, 3\), received 1\.5/);
  assert.throws(() => sparseCategoricalCrossentropy([0], p), /'yTrue' expected 2 labels .*received 1/);
  assert.throws(() => categoricalCrossentropy(Tensor.zeros([2, 4], 'float64'), p), /categoricalCrossentropy: expected yTrue and yPred of the same shape, received \(2, 4\) and \(2, 3\)/);
  assert.throws(() => meanSquaredError(Tensor.zeros([3], 'float64'), p), /meanSquaredError: .*same shape.*\(3\) and \(2, 3\)/);
});
