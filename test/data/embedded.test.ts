import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMBEDDED_CLASS_NAMES, embeddedDataset } from '../../src/data/embedded.js';
import { validateDataset } from '../../src/data/dataset.js';

// Small sizes keep this file fast; the generator is the same at 60,000 images.
const small = embeddedDataset({ seed: 0, trainSize: 600, testSize: 200 });

test('embeddedDataset has CIFAR-10 shapes, the requested sizes and its class names', () => {
  for (const [ds, n, name] of [[small.train, 600, 'embedded-train'], [small.test, 200, 'embedded-test']] as const) {
    validateDataset(ds);
    assert.equal(ds.name, name);
    assert.deepEqual([ds.n, ds.height, ds.width, ds.channels], [n, 32, 32, 3]);
    assert.equal(ds.images.length, n * 3072);
    assert.deepEqual(ds.classNames, [...EMBEDDED_CLASS_NAMES]);
  }
  assert.equal(EMBEDDED_CLASS_NAMES.length, 10);
  assert.equal(new Set(EMBEDDED_CLASS_NAMES).size, 10);
  const empty = embeddedDataset({ trainSize: 0, testSize: 0 });
  assert.equal(empty.train.n + empty.test.n, 0);
});

test('embeddedDataset is deterministic: same seed same bytes, another seed other bytes', () => {
  const again = embeddedDataset({ seed: 0, trainSize: 600, testSize: 200 });
  assert.deepEqual(again.train.images, small.train.images);
  assert.deepEqual(again.train.labels, small.train.labels);
  assert.deepEqual(again.test.images, small.test.images);
  const other = embeddedDataset({ seed: 1, trainSize: 600, testSize: 200 });
  assert.notDeepEqual(other.train.images, small.train.images);
  assert.notDeepEqual(other.train.labels, small.train.labels);
  assert.notDeepEqual(small.test.images, small.train.images.subarray(0, small.test.images.length), 'test is not a copy of train');
});

test('a smaller embedded dataset is a prefix of a larger one with the same seed', () => {
  const prefix = embeddedDataset({ seed: 0, trainSize: 45, testSize: 7 });
  assert.deepEqual(prefix.train.images, small.train.images.subarray(0, 45 * 3072));
  assert.deepEqual(prefix.train.labels, small.train.labels.subarray(0, 45));
  assert.deepEqual(prefix.test.images, small.test.images.subarray(0, 7 * 3072));
});

test('embedded labels are balanced: each class exactly a tenth of every aligned block of 10', () => {
  for (const ds of [small.train, small.test]) {
    const counts = new Array<number>(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    assert.deepEqual(counts, new Array<number>(10).fill(ds.n / 10));
    for (let b = 0; b < ds.n; b += 10) {
      assert.deepEqual([...ds.labels.subarray(b, b + 10)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `block at ${b}`);
    }
  }
  // Not in a fixed cycle: blocks are shuffled independently.
  assert.notDeepEqual([...small.train.labels.subarray(0, 10)], [...small.train.labels.subarray(10, 20)]);
});

test('embedded images use the whole pixel range and are not blank', () => {
  const { images } = small.train;
  let min = 255;
  let max = 0;
  for (const v of images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 255);
  for (let i = 0; i < 50; i++) {
    const img = images.subarray(i * 3072, (i + 1) * 3072);
    const mean = img.reduce((a, b) => a + b, 0) / img.length;
    const variance = img.reduce((a, b) => a + (b - mean) ** 2, 0) / img.length;
    assert.ok(variance > 100, `image ${i} is nearly uniform (variance ${variance.toFixed(1)})`);
  }
});

test('embedded classes differ in shape, not in average colour', () => {
  // Foreground and background colours are random for every image, so the mean colour of a class must say
  // almost nothing about the class: each class mean is near the overall mean.
  const ds = embeddedDataset({ seed: 3, trainSize: 2000, testSize: 0 }).train;
  const sums = new Array<number>(10).fill(0);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < ds.n; i++) {
    let s = 0;
    for (let j = i * 3072; j < (i + 1) * 3072; j++) s += ds.images[j];
    sums[ds.labels[i]] += s / 3072;
    counts[ds.labels[i]]++;
  }
  const means = sums.map((s, k) => s / counts[k]);
  const overall = means.reduce((a, b) => a + b, 0) / 10;
  for (let k = 0; k < 10; k++) assert.ok(Math.abs(means[k] - overall) < 12, `${EMBEDDED_CLASS_NAMES[k]} mean ${means[k].toFixed(1)} vs ${overall.toFixed(1)}`);
});

test('embeddedDataset rejects bad options', () => {
  assert.throws(() => embeddedDataset({ seed: 0.5 }), /seed must be an integer, received 0.5/);
  assert.throws(() => embeddedDataset({ trainSize: -1 }), /trainSize must be a non-negative integer, received -1/);
  assert.throws(() => embeddedDataset({ testSize: 1.5, trainSize: 0 }), /testSize must be a non-negative integer, received 1.5/);
});
