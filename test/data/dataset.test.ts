import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/tensor/random.js';
import { ImageDataset, batches, numBatches, splitValidation, subset, toTensor, validateDataset } from '../../src/data/dataset.js';

/** n images of 2x3x2 whose every byte encodes (image, position); label = image index mod 3. */
function tinyDataset(n: number): ImageDataset {
  const size = 2 * 3 * 2;
  const images = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) images[i * size + j] = (i * 16 + j) & 255;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return { name: 'tiny', images, labels, n, height: 2, width: 3, channels: 2, classNames: ['a', 'b', 'c'] };
}

test('toTensor scales to [0, 1], keeps NHWC and follows the index order', () => {
  const ds = tinyDataset(5);
  const all = toTensor(ds);
  assert.deepEqual(all.x.shape, [5, 2, 3, 2]);
  assert.equal(all.x.dtype, 'float32');
  assert.deepEqual([...all.y], [0, 1, 2, 0, 1]);
  assert.ok(all.y instanceof Int32Array);
  for (let k = 0; k < ds.images.length; k++) assert.equal(all.x.data[k], Math.fround(ds.images[k] / 255));

  const some = toTensor(ds, [4, 1]);
  assert.deepEqual(some.x.shape, [2, 2, 3, 2]);
  assert.deepEqual([...some.y], [1, 1]);
  assert.equal(some.x.data[0], Math.fround(ds.images[4 * 12] / 255));
  assert.equal(some.x.data[12], Math.fround(ds.images[1 * 12] / 255));
  assert.throws(() => toTensor(ds, [0, 5]), /toTensor: indices\[1\] must be an integer in \[0, 4\] for dataset 'tiny', received 5/);
});

test('subset shares memory with its parent and checks its bounds', () => {
  const ds = tinyDataset(6);
  const part = subset(ds, 2, 5);
  assert.equal(part.n, 3);
  assert.deepEqual([...part.labels], [2, 0, 1]);
  assert.equal(part.images[0], ds.images[2 * 12]);
  assert.equal(part.images.buffer, ds.images.buffer, 'no copy: images stay where they are');
  assert.equal(subset(ds, 3, 3).n, 0);
  assert.throws(() => subset(ds, 4, 7), /subset: expected integers 0 <= start <= end <= 6 for dataset 'tiny', received start=4, end=7/);
  assert.throws(() => subset(ds, 3, 2), /received start=3, end=2/);
});

test('splitValidation takes the last fraction before shuffling, split at floor(n * (1 - fraction)) as Keras', () => {
  const ds = tinyDataset(10);
  const { train, validation } = splitValidation(ds, 0.2);
  assert.equal(train.n, 8);
  assert.equal(validation.n, 2);
  assert.equal(validation.images[0], ds.images[8 * 12]);
  assert.deepEqual([...validation.labels], [2, 0]);
  // floor(10 * 0.75) = 7: the odd sample goes to validation.
  assert.equal(splitValidation(ds, 0.25).train.n, 7);
  assert.throws(() => splitValidation(ds, 0), /fraction must be in \(0, 1\), received 0/);
  assert.throws(() => splitValidation(ds, 1), /received 1/);
  assert.throws(() => splitValidation(tinyDataset(3), 0.7), /fraction 0.7 of 3 samples leaves 0 for training and 3 for validation/);
});

test('batches without shuffle go in order and keep the last partial batch', () => {
  const ds = tinyDataset(10);
  const got = [...batches(ds, { batchSize: 4, shuffle: false })];
  assert.equal(got.length, numBatches(10, 4));
  assert.deepEqual(got.map((b) => [...b.indices]), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(got[2].x.shape, [2, 2, 3, 2]);
  assert.deepEqual([...got[2].y], [2, 0]);
  assert.deepEqual(got[1].x.data, toTensor(ds, [4, 5, 6, 7]).x.data);
});

test('batches shuffle with the given generator: same state, same order; every sample once', () => {
  const ds = tinyDataset(23);
  const order = (seed: number): number[] => [...batches(ds, { batchSize: 5, rng: new Random(seed) })].flatMap((b) => [...b.indices]);
  const a = order(7);
  assert.deepEqual(a, order(7));
  assert.notDeepEqual(a, order(8));
  assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 23 }, (_, i) => i));
  // The permutation is the generator's Fisher-Yates shuffle of 0..n-1, drawn when batches() is called.
  const expected = new Random(7).shuffle(Int32Array.from({ length: 23 }, (_, i) => i));
  assert.deepEqual(a, [...expected]);
  const rng = new Random(7);
  const it = batches(ds, { batchSize: 5, rng });
  rng.uniform(); // draws made between batches do not change the order already chosen
  assert.deepEqual([...it].flatMap((b) => [...b.indices]), a);
});

test('batches apply augmentation deterministically and labels stay with their images', () => {
  const ds = tinyDataset(12);
  const run = (): { x: Float32Array; y: Int32Array; indices: Int32Array }[] =>
    [...batches(ds, { batchSize: 5, rng: new Random(3), augment: { padding: 1, horizontalFlip: true } })].map((b) => ({
      x: b.x.data as Float32Array,
      y: b.y,
      indices: b.indices,
    }));
  const a = run();
  const b = run();
  assert.deepEqual(a, b);
  const plain = [...batches(ds, { batchSize: 5, rng: new Random(3) })];
  assert.deepEqual(a.map((z) => [...z.indices]), plain.map((z) => [...z.indices]), 'augmentation draws come after the shuffle');
  assert.notDeepEqual(a.map((z) => [...z.x]), plain.map((z) => [...z.x.data]));
  for (const batch of a) assert.deepEqual([...batch.y], [...batch.indices].map((i) => i % 3));
});

test('batches and validateDataset reject bad arguments with what was expected', () => {
  const ds = tinyDataset(4);
  assert.throws(() => batches(ds, { batchSize: 0 }), /batchSize must be a positive integer, received 0/);
  assert.throws(() => batches(ds, { batchSize: 2, augment: { padding: -1 } }), /augment \(dataset 'tiny'\): padding must be a non-negative integer, received -1/);
  validateDataset(ds);
  assert.throws(() => validateDataset({ ...ds, n: 5 }), /images must hold n\*h\*w\*c = 5\*2\*3\*2 = 60 bytes, received 48/);
  assert.throws(() => validateDataset({ ...ds, labels: Uint8Array.of(0, 1, 2, 3) }), /label of image 3 must be in \[0, 2\], received 3/);
});
