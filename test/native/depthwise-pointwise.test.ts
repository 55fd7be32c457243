import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activePlanRunner } from '../../src/backend/index.js';
import { conv2dInfo, geometryFields, type Conv2DInfo, type Padding } from '../../src/backend/geometry.js';
import { setNativeThreads, nativeInfo } from '../../src/backend/native/index.js';
import { OP } from '../../src/backend/plan/compile.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, assertSameBits, f64, forEachIsa, randomF32 } from './util.js';

/**
 * The inference plan's depthwise-pointwise pair (native/depthwise.cc depthwisePointwise) against the reference
 * backend's two layers apart, in float64: the depthwise rows of a tile into a buffer, then the pointwise GEMM on
 * that tile, with both epilogues, a row stride wider than the outputs (a concatenation's slice) and tiles that
 * split an image and cross into the next one. Every kernel ISA; the same bits on one thread and two.
 */

interface PairCase {
  input: [number, number, number, number];
  kernel: number;
  stride: number;
  padding: Padding;
  outC: number;
  dwAct: number; // linear 0, relu 1, relu6 2
  pwAct: number; // the same, sigmoid 3, tanh 4
  note: string;
}

const CASES: PairCase[] = [
  { input: [1, 9, 11, 8], kernel: 3, stride: 1, padding: 'same', outC: 12, dwAct: 2, pwAct: 2, note: 'batch 1, odd sizes, one tile' },
  { input: [2, 11, 9, 13], kernel: 3, stride: 2, padding: 'same', outC: 17, dwAct: 1, pwAct: 0, note: 'stride 2 same, 13 channels: the vector tail' },
  { input: [1, 12, 10, 16], kernel: 3, stride: 2, padding: 'valid', outC: 40, dwAct: 0, pwAct: 3, note: 'stride 2 valid, a sigmoid after the GEMM' },
  { input: [2, 10, 13, 6], kernel: 5, stride: 1, padding: 'same', outC: 9, dwAct: 2, pwAct: 4, note: '5x5: the general depthwise rows' },
  { input: [3, 37, 41, 48], kernel: 3, stride: 1, padding: 'same', outC: 33, dwAct: 2, pwAct: 2, note: 'several 33-row tiles per thread, split across images' },
  { input: [2, 64, 64, 32], kernel: 3, stride: 2, padding: 'same', outC: 64, dwAct: 2, pwAct: 1, note: 'MobileNet-like, stride 2, rows of several tiles' },
  // 2 x 160 x 160 x 128 outputs (26 MB): above native/gemm.h's streamOutput threshold, stored past the caches.
  { input: [2, 160, 160, 8], kernel: 3, stride: 1, padding: 'same', outC: 128, dwAct: 2, pwAct: 2, note: 'an output larger than the last-level cache' },
];

/** act of (v + b[channel]) per element of rows of c channels, in float64. */
function finish(v: Float64Array | Float32Array, b: Float32Array, c: number, act: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const s = v[i] + b[i % c];
    out[i] = act === 1 ? Math.max(0, s) : act === 2 ? Math.min(6, Math.max(0, s)) : act === 3 ? 1 / (1 + Math.exp(-s)) : act === 4 ? Math.tanh(s) : s;
  }
  return out;
}

const prepared = CASES.map((c, i) => {
  const dw: Conv2DInfo = conv2dInfo({ inputShape: c.input, kernelSize: [c.kernel, c.kernel], strides: [c.stride, c.stride], padding: c.padding, depthMultiplier: 1 });
  const pw = conv2dInfo({ inputShape: [dw.n, dw.oh, dw.ow, dw.c], kernelSize: [1, 1], strides: [1, 1], padding: 'valid', filters: c.outC });
  const x = randomF32(dw.n * dw.h * dw.w * dw.c, 40 + i);
  const dwW = randomF32(c.kernel * c.kernel * dw.c, 50 + i);
  const dwB = randomF32(dw.c, 60 + i, 0, 1);
  const pwW = randomF32(dw.c * c.outC, 70 + i, -0.5, 0.5);
  const pwB = randomF32(c.outC, 80 + i);
  const mid = finish(ref.depthwiseConv2d(f64(x), f64(dwW), dw) as Float64Array, dwB, dw.c, c.dwAct);
  const want = finish(ref.conv2d(mid, f64(pwW), pw) as Float64Array, pwB, c.outC, c.pwAct);
  return { c, dw, x, consts: [dwW, dwB, pwW, pwB], want };
});

/** One pair as a plan, writing columns [offset, offset + outC) of rows `ld` wide; returns those columns. */
function runPair(p: (typeof prepared)[number], ld: number, offset: number): Float32Array {
  const runner = activePlanRunner()!;
  const { c, dw } = p;
  const rows = dw.n * dw.oh * dw.ow;
  // op, act, outBuf, outOff, outLd, nIn, (buf, off), nInts, ints, nConsts, consts
  const ints = [...geometryFields(dw), c.outC, c.dwAct];
  const code = Int32Array.from([OP.depthwisePointwise, c.pwAct, -2, offset, ld, 1, -1, 0, ints.length, ...ints, 4, 0, 1, 2, 3]);
  const plan = runner.planCreate(code, p.consts.map((a) => a.slice()), [], p.x.length, rows * ld);
  const y = new Float32Array(rows * ld).fill(Number.NaN);
  runner.planRun(plan, p.x, y);
  const got = new Float32Array(rows * c.outC);
  for (let r = 0; r < rows; r++) {
    got.set(y.subarray(r * ld + offset, r * ld + offset + c.outC), r * c.outC);
    for (let j = 0; j < ld; j++) if (j < offset || j >= offset + c.outC) assert.ok(Number.isNaN(y[r * ld + j]), `column ${j} of row ${r} outside the slice was written`);
  }
  return got;
}

test('native depthwise-pointwise pair matches the two layers of the reference, in a slice of wider rows', async (t) => {
  if (!activePlanRunner()) return t.skip('native backend not built');
  await forEachIsa(t, (_nb, isa) => {
    for (const p of prepared) {
      const shape = [p.dw.n, p.dw.oh, p.dw.ow, p.c.outC];
      const what = `${isa} ${p.c.note} ${JSON.stringify(p.c.input)} k${p.c.kernel} s${p.c.stride} ${p.c.padding} > ${p.c.outC}`;
      assertClose(what, runPair(p, p.c.outC, 0), p.want, shape);
      assertClose(`${what}, columns 5.. of rows ${p.c.outC + 9} wide`, runPair(p, p.c.outC + 9, 5), p.want, shape);
    }
  });
});

test('native depthwise-pointwise pair: the same bits on one thread and on two', (t) => {
  if (!activePlanRunner()) return t.skip('native backend not built');
  const threads = nativeInfo()!.threads;
  const p = prepared[4];
  const two = runPair(p, p.c.outC, 0);
  try {
    setNativeThreads(1);
    assertSameBits('one thread against two', runPair(p, p.c.outC, 0), two);
  } finally {
    setNativeThreads(threads);
  }
});

test('native plan decoder refuses a depthwise-pointwise pair without its kernels, or with a depth multiplier', (t) => {
  const runner = activePlanRunner();
  if (!runner) return t.skip('native backend not built');
  const dw = conv2dInfo({ inputShape: [1, 6, 6, 4], kernelSize: [3, 3], strides: [1, 1], padding: 'same', depthMultiplier: 1 });
  const consts = [new Float32Array(36), new Float32Array(4), new Float32Array(4 * 5), new Float32Array(5)];
  const code = (fields: number[], more: number[], constIdx = [0, 1, 2, 3]) =>
    Int32Array.from([OP.depthwisePointwise, 0, -2, 0, 5, 1, -1, 0, fields.length + more.length, ...fields, ...more, constIdx.length, ...constIdx]);
  const make = (c: Int32Array, k = consts) => runner.planCreate(c, k, [], 144, 180);
  assert.ok(make(code(geometryFields(dw), [5, 2])), 'a well-formed pair');
  const pair = /a depthwise-pointwise pair with its geometry and kernels/;
  assert.throws(() => make(code(geometryFields(dw), [5])), pair, 'no depthwise activation');
  assert.throws(() => make(code(geometryFields(dw), [5, 3])), pair, 'a sigmoid inside the pair');
  assert.throws(() => make(code(geometryFields(dw), [5, 2], [0, 1, -1, 3])), pair, 'no pointwise kernel');
  assert.throws(() => make(code(geometryFields(dw), [5, 2]), [consts[0], consts[1], new Float32Array(19), consts[3]]), pair, 'a pointwise kernel one short');
  const m2 = conv2dInfo({ inputShape: [1, 6, 6, 4], kernelSize: [3, 3], strides: [1, 1], padding: 'same', depthMultiplier: 2 });
  assert.throws(() => make(code(geometryFields(m2), [5, 2])), pair, 'depth multiplier 2');
});
