import { test } from 'node:test';
import type { Activation } from '../../src/backend/backend.js';
import { conv2dInfo, type Conv2DInfo, type Padding } from '../../src/backend/geometry.js';
import { nativeAddon, nativeGeom, nativeInfo, setNativeThreads } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, assertSameBits, f64, forEachIsa, randomF32 } from './util.js';

/**
 * The small-M GEMM (native/gemm_small.cc: C of at most 64 rows, weights streamed in place) through its
 * three entries: matmul with B not transposed, and conv2dEx's pointwise and im2col paths at batch 1, where
 * few output pixels make few rows. Swept over M = 1..70 (row tiles of every size 1..6, and past the 64-row
 * threshold onto the main GEMM), N not a multiple of any vector width, K across depth blocks (128 / 512 /
 * 1024 per ISA) and into depth segments (few column blocks, long K). Also the epilogue (bias + activation)
 * on y as a channel slice of a wider buffer, on the small-M path, the main GEMM, the direct few-output
 * kernel and depthwiseConv2dEx, through the test-only convForwardEx / depthwiseForwardEx. Every convolution
 * also runs with its kernel packed as an inference plan packs it: for 2..64 rows that is the column stream.
 */

const MATMUL: [m: number, k: number, n: number][] = [
  [1, 1, 1],
  [1, 1024, 1000], // a dense layer at batch 1: one tile row, N tail of 40 (avx512: 2.5 vectors)
  [2, 37, 17],
  [3, 300, 70],
  [5, 129, 65],
  [6, 128, 64],
  [7, 257, 33],
  [11, 5, 130],
  [13, 2000, 20], // few columns, long K: depth segments
  [16, 4608, 48], // segments of several depth blocks each
  [29, 64, 100],
  [48, 96, 31],
  [63, 700, 129],
  [64, 1, 5],
  [65, 40, 40], // just past the threshold: the main GEMM
  [70, 333, 77],
];

test('native matmul with few rows (small-M path) matches the reference', async (t) => {
  const cases = MATMUL.map(([m, k, n], i) => {
    const a = randomF32(m * k, 300 + i);
    const b = randomF32(k * n, 400 + i);
    return { m, k, n, a, b, want: ref.matmul(f64(a), f64(b), m, k, n, false, false) };
  });
  await forEachIsa(t, (nb, isa) => {
    for (const c of cases) assertClose(`${isa} matmul m=${c.m} k=${c.k} n=${c.n}`, nb.matmul(c.a, c.b, c.m, c.k, c.n, false, false), c.want, [c.m, c.n]);
  });
});

const ACT_CODE: Record<Activation, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4 };

interface Case {
  input: [number, number, number, number];
  kernel: number;
  filters: number;
  stride?: number;
  padding?: Padding;
  note: string;
}

const CONV: Case[] = [
  { input: [1, 4, 4, 512], kernel: 3, filters: 40, note: 'ResNet18 4x4 map, M = 16, few columns: depth segments' },
  { input: [1, 1, 1, 1024], kernel: 1, filters: 1000, note: 'MobileNet classifier, M = 1, N tail' },
  { input: [1, 7, 7, 96], kernel: 1, filters: 130, note: 'pointwise 7x7, M = 49' },
  { input: [1, 5, 7, 19], kernel: 3, filters: 33, stride: 2, note: 'stride 2 same, odd sizes, c < 16 (A packed)' },
  { input: [1, 9, 9, 40], kernel: 3, filters: 50, stride: 2, note: 'stride 2 same, M = 25' },
  { input: [1, 6, 8, 20], kernel: 3, filters: 40, note: 'M = 48: packed, four column-stream panels of 12 rows on two vectors (avx512)' },
  { input: [1, 2, 2, 64], kernel: 3, filters: 70, note: 'VGG 2x2 map: most taps padded' },
  { input: [1, 8, 8, 24], kernel: 3, filters: 36, note: 'M = 64, the threshold' },
  { input: [1, 8, 9, 24], kernel: 3, filters: 36, note: 'M = 72, the main GEMM' },
  { input: [2, 3, 5, 17], kernel: 3, filters: 35, padding: 'valid', note: 'batch 2, valid' },
  { input: [1, 11, 3, 8], kernel: 5, filters: 45, stride: 2, note: 'K = 200 (not a multiple of a block), stride 2' },
];

const info = (c: Case): Conv2DInfo =>
  conv2dInfo({ inputShape: c.input, kernelSize: [c.kernel, c.kernel], strides: [c.stride ?? 1, c.stride ?? 1], padding: c.padding ?? 'same', filters: c.filters });

test('native conv2d with few output pixels (small-M path) matches the reference', async (t) => {
  const cases = CONV.map((c, i) => {
    const g = info(c);
    const x = randomF32(g.n * g.h * g.w * g.c, 500 + i);
    const w = randomF32(g.kh * g.kw * g.c * g.outC, 600 + i);
    return { c, g, x, w, want: ref.conv2d(f64(x), f64(w), g) };
  });
  const addon = nativeAddon();
  await forEachIsa(t, (nb, isa) => {
    for (const { c, g, x, w, want } of cases) {
      assertClose(`${isa} conv2d ${c.note} ${JSON.stringify(c.input)} k${c.kernel}`, nb.conv2d(x, w, g), want, [g.n, g.oh, g.ow, g.outC]);
      // The kernel packed as an inference plan packs it: the column stream for 2..64 rows (gemm_small.cc).
      const y = new Float32Array(g.n * g.oh * g.ow * g.outC);
      addon!.convForwardEx(x, w, y, nativeGeom(g), g.outC, null, ACT_CODE.linear, true);
      assertClose(`${isa} conv2d packed ${c.note} ${JSON.stringify(c.input)} k${c.kernel}`, y, want, [g.n, g.oh, g.ow, g.outC]);
    }
  });
});

/** y = act((conv(x, w) + bias) + addend) written into columns [off, off + outC) of rows `ldy` wide; the rest untouched. */
function referenceEx(x: Float32Array, w: Float32Array, g: Conv2DInfo, bias: Float32Array | null, act: Activation, depthwise: boolean, addend: Float32Array | null = null): Float64Array {
  let y = depthwise ? ref.depthwiseConv2d(f64(x), f64(w), g) : ref.conv2d(f64(x), f64(w), g);
  if (bias) y = ref.biasAdd(y, f64(bias), g.outC);
  if (addend) y = ref.add(y, f64(addend));
  return Float64Array.from(act === 'linear' ? y : ref.activation(act, y));
}

const EPILOGUE: (Case & { act: Activation; bias: boolean; extra: number })[] = [
  { input: [1, 4, 4, 64], kernel: 3, filters: 40, act: 'relu', bias: true, extra: 24, note: 'small-M im2col, depth segments' },
  { input: [1, 7, 7, 32], kernel: 1, filters: 70, act: 'relu6', bias: true, extra: 10, note: 'small-M pointwise' },
  { input: [1, 1, 1, 300], kernel: 1, filters: 37, act: 'sigmoid', bias: true, extra: 3, note: 'small-M, M = 1' },
  { input: [1, 4, 4, 600], kernel: 1, filters: 20, act: 'relu', bias: false, extra: 5, note: 'small-M, segments, no bias' },
  { input: [2, 9, 9, 24], kernel: 3, filters: 40, stride: 2, act: 'relu6', bias: true, extra: 8, note: 'main GEMM, indirect' },
  { input: [2, 10, 10, 16], kernel: 1, filters: 48, act: 'sigmoid', bias: true, extra: 16, note: 'main GEMM, pointwise' },
  { input: [2, 10, 10, 64], kernel: 3, filters: 70, act: 'relu', bias: true, extra: 6, note: 'main GEMM, bias and clip in the microkernel store after 2-3 depth blocks, full and edge tiles' },
  { input: [3, 12, 11, 40], kernel: 1, filters: 96, act: 'relu6', bias: false, extra: 0, note: 'main GEMM, pointwise, clip in the store without bias' },
  { input: [2, 7, 7, 2000], kernel: 1, filters: 40, act: 'relu', bias: true, extra: 2, note: 'main GEMM, pointwise read in place, packed: the whole depth (2000) as one block, 2 edge rows reading zeros' },
  { input: [2, 5, 5, 512], kernel: 3, filters: 40, act: 'relu6', bias: true, extra: 0, note: 'main GEMM, indirect, packed: the whole depth (4608) as one block, 2 edge rows' },
  { input: [2, 15, 17, 32], kernel: 3, filters: 40, act: 'relu6', bias: true, extra: 8, note: 'Winograd: odd map (tiles past the edge), bias and clip in the output transform' },
  { input: [1, 16, 16, 24], kernel: 3, filters: 48, act: 'sigmoid', bias: true, extra: 0, note: 'Winograd, batch 1: activation as a pass after the tiles' },
  { input: [2, 6, 6, 5], kernel: 3, filters: 12, act: 'relu', bias: true, extra: 4, note: 'direct few-output kernel' },
  { input: [2, 9, 9, 6], kernel: 3, filters: 3, act: 'tanh', bias: true, extra: 2, note: 'few outputs, transposed GEMM' },
  { input: [2, 9, 10, 6], kernel: 3, filters: 16, act: 'relu6', bias: true, extra: 8, note: 'direct few-output kernel, bias and clip in registers, whole vectors into the slice' },
  { input: [2, 10, 12, 3], kernel: 3, filters: 6, act: 'relu', bias: true, extra: 5, note: 'planar kernel (pixels in the lanes) into the slice' },
  { input: [1, 11, 9, 2], kernel: 3, filters: 8, act: 'sigmoid', bias: true, extra: 3, note: 'planar kernel, 8 outputs, activation as a pass after the rows' },
];

test('native conv2dEx applies bias, a residual summand and activation on every path, into a channel slice', async (t) => {
  const addon = nativeAddon();
  if (!addon) return t.skip('native backend not built');
  // Every case also with a residual summand (an inference plan's conv + add): (conv + bias) + addend, then act.
  const cases = EPILOGUE.flatMap((c, i) => {
    const g = info(c);
    const x = randomF32(g.n * g.h * g.w * g.c, 700 + i);
    const w = randomF32(g.kh * g.kw * g.c * g.outC, 800 + i);
    const bias = c.bias ? randomF32(g.outC, 900 + i) : null;
    const addend = randomF32(g.n * g.oh * g.ow * g.outC, 1000 + i);
    return [
      { c, g, x, w, bias, addend: null, want: referenceEx(x, w, g, bias, c.act, false) },
      { c: { ...c, note: `${c.note}, residual summand` }, g, x, w, bias, addend, want: referenceEx(x, w, g, bias, c.act, false, addend) },
    ];
  });
  await forEachIsa(t, (_nb, isa) => {
    for (const { c, g, x, w, bias, addend, want } of cases) for (const pack of [false, true]) {
      const rows = g.n * g.oh * g.ow, ldy = g.outC + c.extra, off = c.extra >> 1;
      const y = new Float32Array(rows * ldy).fill(-7);
      addon.convForwardEx(x, w, y.subarray(off), nativeGeom(g), ldy, bias, ACT_CODE[c.act], pack, addend);
      const slice = new Float32Array(rows * g.outC);
      for (let r = 0; r < rows; r++) {
        slice.set(y.subarray(r * ldy + off, r * ldy + off + g.outC), r * g.outC);
        for (let j = 0; j < ldy; j++) {
          if ((j < off || j >= off + g.outC) && y[r * ldy + j] !== -7) throw new Error(`${isa} ${c.note}: row ${r} column ${j} outside the slice was written`);
        }
      }
      assertClose(`${isa} conv2dEx ${c.act} ${pack ? 'packed ' : ''}${c.note} ${JSON.stringify(c.input)} k${c.kernel}`, slice, want, [g.n, g.oh, g.ow, g.outC]);
    }
  });
});

test('native depthwiseConv2dEx applies bias, a residual summand and activation', async (t) => {
  const addon = nativeAddon();
  if (!addon) return t.skip('native backend not built');
  // The 3x3 row kernel (few channels, or an input that fits the cache), the general gather (5x5; a 3x3 input
  // past 4 MiB), both with the epilogue in registers; sigmoid as a pass after each row.
  const shapes: [number[], number, Activation, number][] = [
    [[1, 9, 11, 32], 1, 'relu6', 3],
    [[2, 8, 7, 21], 2, 'relu', 3],
    [[1, 5, 5, 70], 1, 'sigmoid', 3],
    [[1, 7, 9, 37], 1, 'relu', 5],
    [[1, 16, 16, 24], 1, 'relu', 3], // interior rows of 14 pixels: blocks of 8, 4 and 2
    [[1, 7, 7, 40], 1, 'relu6', 3], // 5 interior pixels: 4 + 1
    [[2, 40, 40, 330], 1, 'relu6', 3],
  ];
  await forEachIsa(t, (_nb, isa) => {
    shapes.forEach(([input, s, act, k], i) => {
      const g = conv2dInfo({ inputShape: input, kernelSize: [k, k], strides: [s, s], padding: 'same', depthMultiplier: 1 });
      const x = randomF32(g.n * g.h * g.w * g.c, 1000 + i);
      const w = randomF32(k * k * g.outC, 1100 + i);
      const bias = randomF32(g.outC, 1200 + i);
      const y = new Float32Array(g.n * g.oh * g.ow * g.outC);
      addon.depthwiseForwardEx(x, w, y, nativeGeom(g), bias, ACT_CODE[act]);
      assertClose(`${isa} depthwiseConv2dEx ${act} ${JSON.stringify(input)} s${s}`, y, referenceEx(x, w, g, bias, act, true), [g.n, g.oh, g.ow, g.outC]);
      // With a summand the epilogue is a pass after each row (the kernels' registers take bias and clip only).
      const addend = randomF32(y.length, 1300 + i);
      addon.depthwiseForwardEx(x, w, y, nativeGeom(g), bias, ACT_CODE[act], undefined, addend);
      assertClose(`${isa} depthwiseConv2dEx ${act} + summand ${JSON.stringify(input)} s${s}`, y, referenceEx(x, w, g, bias, act, true, addend), [g.n, g.oh, g.ow, g.outC]);
    });
  });
});

test('native small-M results are bitwise identical for 1, 2 and 3 threads', async (t) => {
  const addon = nativeAddon();
  if (!addon) return t.skip('native backend not built');
  const threads = nativeInfo()!.threads;
  const g = info({ input: [1, 4, 4, 256], kernel: 3, filters: 40, note: '' });
  const x = randomF32(g.n * g.h * g.w * g.c, 1);
  const w = randomF32(g.kh * g.kw * g.c * g.outC, 2);
  const bias = randomF32(g.outC, 3);
  const gPw = info({ input: [1, 8, 8, 300], kernel: 1, filters: 256, note: '' });
  const xPw = randomF32(64 * 300, 6);
  const wPw = randomF32(300 * 256, 7);
  const a = randomF32(5 * 3000, 4);
  const b = randomF32(3000 * 300, 5);
  const run = (): Float32Array[] => {
    const y = new Float32Array(g.oh * g.ow * g.outC);
    addon.convForwardEx(x, w, y, nativeGeom(g), g.outC, bias, ACT_CODE.relu);
    const out = new Float32Array(5 * 300);
    addon.matmul(a, b, out, 5, 3000, 300, false, false);
    const yPacked = new Float32Array(g.oh * g.ow * g.outC);
    addon.convForwardEx(x, w, yPacked, nativeGeom(g), g.outC, bias, ACT_CODE.relu, true);
    // 64 rows x 256 columns, packed: the main GEMM splits the columns among threads, and whether the depth is
    // one block must follow C's 8 column panels, not a thread's 4 (or 3).
    const pw = new Float32Array(64 * 256);
    addon.convForwardEx(xPw, wPw, pw, nativeGeom(gPw), 256, null, ACT_CODE.linear, true);
    return [y, out, yPacked, pw];
  };
  await forEachIsa(t, (_nb, isa) => {
    try {
      setNativeThreads(1);
      const base = run();
      for (const n of [2, 3]) {
        setNativeThreads(n);
        run().forEach((r, i) => assertSameBits(`${isa} ${['conv2dEx, segments', 'matmul', 'conv2dEx packed (column stream)', 'conv2dEx packed, pointwise, 64 rows'][i]}: 1 vs ${n} threads`, base[i], r));
      }
    } finally {
      setNativeThreads(threads);
    }
  });
});
