import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/tensor/tensor.js';
import { embeddedDataset } from '../../src/data/embedded.js';
import { imageSource, sliceSource, takeBatch, tensorSource } from '../../src/train/source.js';

const rows = (n: number, w: number): Tensor => new Tensor(Float32Array.from({ length: n * w }, (_, i) => i), [n, w]);

test('takeBatch lends the rows take gives: views when consecutive, one reused buffer when shuffled', () => {
  const x = rows(10, 3);
  const labels = Int32Array.from({ length: 10 }, (_, i) => 100 + i);
  const src = tensorSource(x, labels);
  for (const idx of [[2, 3, 4], [7, 1, 4, 0], [9]]) {
    const given = src.take(idx, true);
    const lent = takeBatch(src, Int32Array.from(idx), true);
    assert.deepEqual(lent.x.shape, given.x.shape);
    assert.deepEqual(Array.from(lent.x.data), Array.from(given.x.data), `x of ${idx}`);
    assert.deepEqual(Array.from(lent.y as Int32Array), Array.from(given.y as Int32Array), `y of ${idx}`);
  }
  // Consecutive rows: the source's own memory, nothing copied.
  const view = takeBatch(src, [4, 5], false);
  assert.equal(view.x.data.buffer, x.data.buffer);
  assert.equal((view.y as Int32Array).buffer, labels.buffer);
  // Shuffled rows: the same buffer every time (its front for a smaller batch).
  const a = takeBatch(src, [3, 1, 2], true).x.data;
  const b = takeBatch(src, [0, 2], true).x.data;
  assert.equal(a.buffer, b.buffer);
  assert.notEqual(a.buffer, x.data.buffer);
  assert.deepEqual(Array.from(b), [0, 1, 2, 6, 7, 8]);
});

test('takeBatch on a slice shifts the indices, and tensor targets are lent like inputs', () => {
  const x = rows(8, 2);
  const y = rows(8, 1);
  const part = sliceSource(tensorSource(x, y), 5, 8);
  const b = takeBatch(part, [2, 0], true);
  assert.deepEqual(Array.from(b.x.data), [14, 15, 10, 11]);
  assert.deepEqual(Array.from((b.y as Tensor).data), [7, 5]);
  assert.deepEqual((b.y as Tensor).shape, [2, 1]);
  // A source that cannot lend is asked with take, on a copy of the indices it may keep.
  const kept: ArrayLike<number>[] = [];
  const plain = { size: 4, take: (indices: ArrayLike<number>) => (kept.push(indices), { x: rows(indices.length, 1), y: new Int32Array(indices.length) }) };
  takeBatch(sliceSource(plain, 1, 4), [0, 2], true);
  takeBatch(sliceSource(plain, 1, 4), [1], true);
  assert.deepEqual(kept.map((k) => Array.from(k)), [[1, 3], [2]]);
});

test('an image source lends batches converted into one kept buffer, equal to take', () => {
  const ds = embeddedDataset({ seed: 1, trainSize: 12, testSize: 0 }).train;
  const src = imageSource(ds);
  const first = takeBatch(src, [5, 2, 9], true);
  assert.deepEqual(Array.from(first.x.data), Array.from(src.take([5, 2, 9], true).x.data));
  assert.deepEqual(Array.from(first.y as Int32Array), Array.from(src.take([5, 2, 9], true).y as Int32Array));
  const second = takeBatch(src, [0, 11], true);
  assert.deepEqual(second.x.shape, [2, 32, 32, 3]);
  assert.equal(second.x.data.buffer, first.x.data.buffer);
  assert.deepEqual(Array.from(second.x.data), Array.from(src.take([0, 11], true).x.data));
});
