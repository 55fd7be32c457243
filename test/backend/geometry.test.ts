/** TensorFlow's padding rule and the output-size formulas, checked directly against worked numbers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conv2dInfo, pool2dInfo, windowAxis } from '../../src/backend/geometry.js';
import { samePads1d } from '../helpers/naive.js';

const conv = (h: number, w: number, k: number, s: number, padding: 'same' | 'valid', d = 1) =>
  conv2dInfo({ inputShape: [1, h, w, 3], kernelSize: [k, k], strides: [s, s], dilation: [d, d], padding, filters: 8 });

test('same, h=w=5, k=3, s=2: out 3, pads 1/1', () => {
  const g = conv(5, 5, 3, 2, 'same');
  assert.deepEqual([g.oh, g.ow, g.padTop, g.padBottom, g.padLeft, g.padRight], [3, 3, 1, 1, 1, 1]);
});

test('same, h=w=6, k=3, s=2: out 3, padTop 0, padBottom 1 (the odd pixel goes bottom/right)', () => {
  const g = conv(6, 6, 3, 2, 'same');
  assert.deepEqual([g.oh, g.ow, g.padTop, g.padBottom, g.padLeft, g.padRight], [3, 3, 0, 1, 0, 1]);
});

test('more worked cases of same and valid', () => {
  // [in, k, s, d] -> [out, before, after]
  const same: [number, number, number, number, number, number, number][] = [
    [224, 3, 2, 1, 112, 0, 1], // MobileNet conv1
    [32, 5, 1, 1, 32, 2, 2],
    [7, 1, 1, 1, 7, 0, 0],
    [5, 2, 2, 1, 3, 0, 1],
    [4, 4, 1, 1, 4, 1, 2],
    [5, 3, 1, 2, 5, 2, 2],
    [1, 3, 3, 1, 1, 1, 1],
    [10, 3, 3, 1, 4, 1, 1],
    [5, 1, 3, 1, 2, 0, 0],
  ];
  for (const [n, k, s, d, out, before, after] of same) assert.deepEqual(windowAxis(n, k, s, d, 'same'), { out, before, after }, `same ${n} ${k} ${s} ${d}`);
  const valid: [number, number, number, number, number][] = [
    [200, 2, 2, 1, 100],
    [32, 5, 1, 1, 28],
    [30, 3, 2, 1, 14],
    [12, 3, 2, 1, 5],
    [7, 3, 1, 2, 3],
    [14, 7, 1, 1, 8],
    [5, 5, 1, 1, 1],
  ];
  for (const [n, k, s, d, out] of valid) assert.deepEqual(windowAxis(n, k, s, d, 'valid'), { out, before: 0, after: 0 }, `valid ${n} ${k} ${s} ${d}`);
});

test('the geometry agrees with the test suite\'s restatement of the rule over a sweep', () => {
  for (let n = 1; n <= 12; n++)
    for (let k = 1; k <= 5; k++)
      for (let s = 1; s <= 3; s++)
        for (let d = 1; d <= 2; d++) {
          const a = windowAxis(n, k, s, d, 'same');
          const [before, after] = samePads1d(n, k, s, d);
          assert.deepEqual(a, { out: Math.ceil(n / s), before, after }, `same n=${n} k=${k} s=${s} d=${d}`);
          const kEff = (k - 1) * d + 1;
          const v = windowAxis(n, k, s, d, 'valid');
          assert.equal(v.out, n >= kEff ? Math.ceil((n - kEff + 1) / s) : 0, `valid n=${n} k=${k} s=${s} d=${d}`);
        }
});

test('explicit padding and dilation', () => {
  assert.deepEqual(windowAxis(5, 3, 2, 1, [0, 1]), { out: 2, before: 0, after: 1 });
  const g = conv2dInfo({ inputShape: [2, 7, 9, 4], kernelSize: [3, 2], strides: [1, 2], dilation: [2, 1], padding: [[1, 2], [0, 3]], filters: 5 });
  assert.deepEqual([g.n, g.oh, g.ow, g.outC, g.padTop, g.padBottom, g.padLeft, g.padRight], [2, 6, 6, 5, 1, 2, 0, 3]);
  const dw = conv2dInfo({ inputShape: [1, 5, 5, 3], kernelSize: [3, 3], strides: [1, 1], padding: 'same', depthMultiplier: 2 });
  assert.equal(dw.outC, 6);
  assert.equal(dw.depthMultiplier, 2);
});

test('pool2dInfo: MaxPooling2D(2, 2) on 100x100 -> 50x50; 3x3/2 valid on 30 -> 14', () => {
  const p = pool2dInfo({ inputShape: [1, 100, 100, 15], kernelSize: [2, 2], strides: [2, 2], padding: 'valid' });
  assert.deepEqual([p.oh, p.ow, p.c], [50, 50, 15]);
  assert.equal(pool2dInfo({ inputShape: [1, 30, 30, 1], kernelSize: [3, 3], strides: [2, 2], padding: 'valid' }).oh, 14);
});

test('geometry errors name who, argument, expected and received', () => {
  assert.throws(() => conv2dInfo({ inputShape: [1, 3, 3, 1], kernelSize: [5, 5], strides: [1, 1], padding: 'valid', who: "Conv2D 'c'" }),
    /Conv2D 'c': argument 'kernelSize' expected a window no larger than the padded input, received kernel 5x5 over input 3x3/);
  assert.throws(() => conv2dInfo({ inputShape: [3, 3, 1], kernelSize: [1, 1], strides: [1, 1], padding: 'valid' }), /argument 'input' expected rank 4.*received shape \[3, 3, 1\]/);
  assert.throws(() => conv2dInfo({ inputShape: [1, 3, 3, 1], kernelSize: [1, 1], strides: [0, 1], padding: 'valid' }), /argument 'strides' expected positive integers, received 0/);
  assert.throws(() => conv2dInfo({ inputShape: [1, 5, 5, 1], kernelSize: [3, 3], strides: [1, 1], dilation: [3, 3], padding: 'valid' }), /dilation 3x3/);
});
