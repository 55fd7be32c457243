import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, FloatArray } from '../../src/backend/backend.js';
import { BufferArena, withArena } from '../../src/backend/arena.js';
import { conv2dInfo, pool2dInfo } from '../../src/backend/geometry.js';
import { nativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, f64, nativeOrSkip, randomF32 } from './util.js';

test('native concat, split, pad and crop match the reference', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  for (const [rows, widths] of [[1, [1]], [7, [3, 1, 16]], [5000, [17, 32, 5, 64]]] as [number, number[]][]) {
    const parts = widths.map((wk, i) => randomF32(rows * wk, 60 + i));
    const y = nb.concatLastAxis(parts, widths, rows);
    const total = widths.reduce((a, b) => a + b, 0);
    assertClose(`concat ${rows}x[${widths}]`, y, ref.concatLastAxis(parts.map(f64), widths, rows), [rows, total]);
    nb.splitLastAxis(y, widths, rows).forEach((p, i) => assertClose(`split ${rows}x[${widths}] part ${i}`, p, parts[i], [rows, widths[i]]));
  }
  for (const [n, h, w, c, top, bottom, left, right] of [[1, 1, 1, 1, 0, 1, 0, 1], [2, 5, 7, 3, 1, 2, 0, 1], [3, 16, 16, 33, 0, 1, 0, 1]]) {
    const x = randomF32(n * h * w * c, 70);
    const p = nb.pad2d(x, n, h, w, c, top, bottom, left, right);
    const oh = h + top + bottom;
    const ow = w + left + right;
    assertClose(`pad2d ${[n, h, w, c]}`, p, ref.pad2d(f64(x), n, h, w, c, top, bottom, left, right), [n, oh, ow, c]);
    assertClose(`crop2d ${[n, oh, ow, c]}`, nb.crop2d(p, n, oh, ow, c, top, bottom, left, right), x, [n, h, w, c]);
  }
});

test('native copyRows refuses ranges outside its arrays', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  assert.throws(() => nb.concatLastAxis([new Float32Array(5), new Float32Array(3)], [2, 1], 3), /src/);
});

test('native gatherRows copies the rows asked for, in their order, as the reference does', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  // Row lengths below and above a cache line; batches below and above the size that takes both threads.
  for (const [rows, rowLength, count] of [[1, 1, 1], [9, 5, 4], [300, 17, 33], [2000, 3072, 64]]) {
    const src = randomF32(rows * rowLength, 80 + rowLength);
    const indices = new Int32Array(count).map((_, i) => (i * 7919 + 3) % rows);
    const got = new Float32Array(count * rowLength).fill(Number.NaN);
    nb.gatherRows(src, rowLength, indices, got);
    const want = new Float64Array(count * rowLength);
    ref.gatherRows(f64(src), rowLength, indices, want);
    assertClose(`gatherRows ${rows}x${rowLength} -> ${count}`, got, want, [count, rowLength]);
    for (let i = 0; i < count; i++) assert.equal(got[i * rowLength], src[indices[i] * rowLength], `row ${i} is row ${indices[i]}`);
  }
});

test('gatherRows refuses an index outside src and a dst too short, on both backends, before copying', () => {
  const nb = nativeBackend();
  for (const be of nb ? [ref, nb] : [ref]) {
    const src = new Float32Array(12).fill(1);
    const dst = new Float32Array(8).fill(7);
    assert.throws(() => be.gatherRows(src, 4, new Int32Array([0, 3]), dst), /indices/, `${be.name}: row 3 of 3`);
    assert.throws(() => be.gatherRows(src, 4, new Int32Array([-1, 0]), dst), /indices/, `${be.name}: row -1`);
    assert.throws(() => be.gatherRows(src, 4, new Int32Array([0, 1, 2]), dst), /dst/, `${be.name}: 3 rows into 2`);
    assert.ok(dst.every((v) => v === 7), `${be.name}: nothing copied before the check failed`);
  }
});

/**
 * Every kernel writes all of its output: inside a training step outputs are recycled arrays holding the
 * previous step's values (src/backend/arena.ts). Each op runs once to learn its output sizes, the arena's
 * arrays are filled with NaN, and the op runs again on them.
 */
function onPoisonedOutputs<T>(fn: () => T): T {
  const arena = new BufferArena();
  withArena(arena, fn);
  arena.reclaim();
  arena.poison();
  return withArena(arena, fn);
}

test('native kernels write every element of recycled (NaN-filled) outputs', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  const check = (what: string, f: (b: Backend) => FloatArray | FloatArray[] | Record<string, FloatArray>) => {
    const flat = (r: ReturnType<typeof f>): FloatArray[] => (r instanceof Float32Array || r instanceof Float64Array ? [r] : Array.isArray(r) ? r : Object.values(r));
    const got = flat(onPoisonedOutputs(() => f(nb)));
    const want = flat(f(nb));
    got.forEach((g, i) => assertClose(`${what} [${i}]`, g, want[i], [g.length]));
  };
  for (const [input, kernel, strides, padding] of [
    [[2, 7, 9, 5], [3, 3], [1, 1], 'same'],
    [[1, 8, 11, 19], [3, 3], [2, 2], 'same'],
    [[2, 6, 5, 4], [1, 1], [1, 1], 'valid'],
    [[1, 9, 8, 40], [5, 5], [2, 2], 'valid'],
    [[2, 9, 8, 6], [1, 1], [2, 2], 'same'],
  ] as const) {
    const g = conv2dInfo({ inputShape: [...input], kernelSize: [...kernel], strides: [...strides], dilation: [1, 1], padding, filters: 7 });
    const x = randomF32(g.n * g.h * g.w * g.c, 1);
    const w = randomF32(g.kh * g.kw * g.c * g.outC, 2);
    const dy = randomF32(g.n * g.oh * g.ow * g.outC, 3);
    const tag = `${input} k${kernel} s${strides} ${padding}`;
    check(`conv2d ${tag}`, (b) => b.conv2d(x, w, g));
    check(`conv2dBackpropInput ${tag}`, (b) => b.conv2dBackpropInput(dy, w, g));
    check(`conv2dBackpropFilter ${tag}`, (b) => b.conv2dBackpropFilter(x, dy, g));
    const d = conv2dInfo({ inputShape: [...input], kernelSize: [...kernel], strides: [...strides], dilation: [1, 1], padding, depthMultiplier: 2 });
    const wd = randomF32(d.kh * d.kw * d.outC, 4);
    const dyd = randomF32(d.n * d.oh * d.ow * d.outC, 5);
    check(`depthwise ${tag}`, (b) => b.depthwiseConv2d(x, wd, d));
    check(`depthwiseBackpropInput ${tag}`, (b) => b.depthwiseConv2dBackpropInput(dyd, wd, d));
    check(`depthwiseBackpropFilter ${tag}`, (b) => b.depthwiseConv2dBackpropFilter(x, dyd, d));
    const p = pool2dInfo({ inputShape: [...input], kernelSize: [...kernel], strides: [...strides], padding });
    const dyp = randomF32(p.n * p.oh * p.ow * p.c, 6);
    check(`maxPool ${tag}`, (b) => b.maxPool(x, p));
    check(`avgPool ${tag}`, (b) => b.avgPool(x, p));
    check(`maxPoolBackward ${tag}`, (b) => b.maxPoolBackward(x, dyp, p));
    check(`avgPoolBackward ${tag}`, (b) => b.avgPoolBackward(dyp, p));
    const [n, h, wd2, c] = input;
    const dyg = randomF32(n * c, 7);
    check(`globalAvgPool ${tag}`, (b) => b.globalAvgPool(x, n, h * wd2, c));
    check(`globalMaxPool ${tag}`, (b) => b.globalMaxPool(x, n, h * wd2, c));
    check(`globalAvgPoolBackward ${tag}`, (b) => b.globalAvgPoolBackward(dyg, n, h * wd2, c));
    check(`globalMaxPoolBackward ${tag}`, (b) => b.globalMaxPoolBackward(x, dyg, n, h * wd2, c));
    const gamma = randomF32(c, 8);
    const beta = randomF32(c, 9);
    const bn = nb.batchNormTrain(x, gamma, beta, c, 1e-3);
    check(`batchNormTrain ${tag}`, (b) => b.batchNormTrain(x, gamma, beta, c, 1e-3));
    check(`batchNormTrainBackward ${tag}`, (b) => b.batchNormTrainBackward(x, x, gamma, bn.mean, bn.variance, c, 1e-3));
    check(`pad2d ${tag}`, (b) => b.pad2d(x, n, h, wd2, c, 1, 2, 0, 1));
    check(`concat ${tag}`, (b) => b.concatLastAxis([x, x], [c, c], n * h * wd2));
  }
  const a = randomF32(37 * 19, 10);
  check('matmul', (b) => b.matmul(a, a, 37, 19, 37, false, true));
  check('softmax', (b) => b.softmax(a, 19));
  check('sumRows', (b) => b.sumRows(a, 19));
  check('activationBackward relu', (b) => b.activationBackward('relu', a, a, a));
});
