/** Tensor values, shapes and their errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatShape, shapesEqual, sizeOf, stridesOf } from '../../src/tensor/shape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/tensor/variable.js';

test('from nested arrays infers the shape; toArray round-trips', () => {
  const t = Tensor.from([[[1, 2], [3, 4], [5, 6]]]);
  assert.deepEqual(t.shape, [1, 3, 2]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toArray(), [[[1, 2], [3, 4], [5, 6]]]);
  assert.equal(Tensor.scalar(2.5, 'float64').toArray(), 2.5);
  assert.deepEqual(Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], 'float64').toArray(), [[1, 2, 3], [4, 5, 6]]);
});

test('zeros, ones, full, clone (cast), detach', () => {
  assert.deepEqual(Array.from(Tensor.full([2, 2], 3).data), [3, 3, 3, 3]);
  const o = Tensor.ones([3], 'float64');
  assert.ok(o.data instanceof Float64Array);
  const c = o.clone('float32');
  assert.ok(c.data instanceof Float32Array);
  c.data[0] = 7;
  assert.equal(o.data[0], 1, 'clone copies');
  o.requiresGrad = true;
  const d = o.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.data, o.data, 'detach shares values');
});

test('shape utilities and placeholders', () => {
  assert.equal(sizeOf([2, 3, 4]), 24);
  assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
  assert.equal(formatShape([null, 32, 32, 3]), '(null, 32, 32, 3)');
  assert.ok(shapesEqual([null, 2], [null, 2]) && !shapesEqual([1, 2], [2, 1]));
  const p = Tensor.placeholder([4, 5]);
  assert.equal(p.isPlaceholder, true);
  assert.equal(p.size, 20);
  assert.equal(p.data.length, 0);
});

test('errors: mismatched data length, bad shape, item of several values, variable assign', () => {
  assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /Tensor: data length 5 does not match shape \(2, 3\) \(6 values\)/);
  assert.throws(() => new Tensor(new Float32Array(0), [2, -1]), /expected a shape of non-negative integers, received \(2, -1\)/);
  assert.throws(() => Tensor.zeros([2]).item(), /Tensor.item: expected a tensor of one value, received shape \(2\)/);
  const v = new Variable('dense/kernel', new Float32Array(4), [2, 2]);
  assert.equal(v.requiresGrad, true);
  v.assign([1, 2, 3, 4]);
  assert.deepEqual(Array.from(v.data), [1, 2, 3, 4]);
  assert.throws(() => v.assign(Tensor.zeros([4])), /Variable dense\/kernel: expected shape \(2, 2\), received \(4\)/);
  assert.throws(() => v.assign([1]), /expected 4 values, received 1/);
  assert.equal(new Variable('bn/moving_mean', new Float32Array(2), [2], false).requiresGrad, false);
});
