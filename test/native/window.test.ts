import { test } from 'node:test';
import { conv2dInfo, pool2dInfo, type ExplicitPadding, type Padding } from '../../src/backend/geometry.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, f64, forEachIsa, randomF32 } from './util.js';

/** Depthwise convolution and pooling: the windowed ops that native/ computes directly (no GEMM). */

interface WindowCase {
  input: [number, number, number, number];
  kernel: [number, number];
  strides?: [number, number];
  dilation?: [number, number];
  padding: Padding | ExplicitPadding;
  multiplier?: number;
}

const DEPTHWISE: WindowCase[] = [
  { input: [2, 7, 9, 5], kernel: [3, 3], padding: 'same', multiplier: 1 },
  { input: [1, 8, 11, 19], kernel: [3, 3], strides: [2, 2], padding: 'same', multiplier: 1 },
  { input: [2, 9, 7, 6], kernel: [3, 3], strides: [2, 2], padding: 'same', multiplier: 2 },
  { input: [1, 12, 10, 3], kernel: [3, 3], dilation: [2, 2], padding: 'same', multiplier: 2 },
  { input: [3, 6, 5, 33], kernel: [5, 3], strides: [1, 2], padding: 'valid', multiplier: 1 },
  { input: [1, 6, 7, 4], kernel: [2, 3], strides: [2, 1], padding: [[0, 2], [1, 1]], multiplier: 3 },
  { input: [16, 16, 16, 40], kernel: [3, 3], padding: 'same', multiplier: 1 }, // several gradient blocks
  // The 3x3 row kernel (depthwise_rows.inc, dwForwardRow3x3): interior windows by blocks of 4 / 8 pixels and
  // single pixels, channels by whole vectors (32: 2 avx512 vectors, below the 4-vector block) and a lane tail.
  { input: [1, 13, 21, 32], kernel: [3, 3], padding: 'same', multiplier: 1 },
  { input: [1, 12, 23, 64], kernel: [3, 3], strides: [2, 2], padding: 'same', multiplier: 1 }, // s2 same: pad right only
  { input: [1, 11, 19, 21], kernel: [3, 3], strides: [2, 2], padding: 'same', multiplier: 1 },
  { input: [2, 7, 30, 70], kernel: [3, 3], padding: 'valid', multiplier: 1 },
  { input: [1, 2, 2, 48], kernel: [3, 3], padding: 'same', multiplier: 1 }, // no interior window
  // Above 128 channels the forward row goes by blocks of pixels (depthwise_3x3.inc, dw3x3Blocks).
  { input: [1, 9, 19, 160], kernel: [3, 3], padding: 'same', multiplier: 1 },
  { input: [2, 10, 13, 136], kernel: [3, 3], strides: [2, 2], padding: 'same', multiplier: 1 },
  { input: [1, 5, 3, 144], kernel: [3, 3], padding: 'valid', multiplier: 1 },
];

const POOLS: WindowCase[] = [
  // Batch 1, the max pool forward by rows on one thread (pool_max.inc, maxRows): 4-vector channel blocks, then
  // 2 and 1 vectors and lanes (130 = 2 x 64 + 2 on avx512), Inception's 3x3 stride-1 same, VGG's 2x2 stride 2.
  { input: [1, 9, 10, 130], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [1, 16, 16, 64], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [1, 11, 13, 48], kernel: [2, 2], strides: [2, 2], padding: 'valid' },
  { input: [2, 8, 8, 5], kernel: [2, 2], strides: [2, 2], padding: 'valid' },
  { input: [1, 9, 7, 19], kernel: [3, 3], strides: [2, 2], padding: 'same' },
  { input: [2, 7, 9, 3], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [1, 10, 11, 17], kernel: [3, 2], strides: [1, 2], padding: 'valid' },
  { input: [3, 5, 6, 8], kernel: [2, 3], strides: [2, 2], padding: [[1, 0], [2, 1]] },
  { input: [1, 4, 4, 2], kernel: [4, 4], strides: [1, 1], padding: 'same' },
  // One image, 37 channels: split into channel blocks across threads, with 4-lane and 1-lane tails.
  { input: [1, 6, 5, 37], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  // Stride 1 with even kernels (asymmetric same padding) and valid windows, with and without ties (odd indices
  // tie): the first maximum of each window must win in both passes.
  { input: [2, 6, 7, 33], kernel: [4, 4], strides: [1, 1], padding: 'same' },
  { input: [2, 7, 6, 20], kernel: [2, 3], strides: [1, 1], padding: 'valid' },
  { input: [1, 5, 5, 16], kernel: [3, 3], strides: [1, 1], padding: 'valid' },
  { input: [2, 6, 7, 33], kernel: [4, 4], strides: [1, 1], padding: 'same' },
  // Windows past the map on several sides: a map narrower than the window, one column, padding of 2 on the left
  // and none on the right, windows 2 high at stride (2, 1).
  { input: [1, 2, 2, 48], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [2, 3, 1, 20], kernel: [3, 3], strides: [1, 1], padding: 'same' },
  { input: [1, 6, 9, 35], kernel: [3, 3], strides: [1, 1], padding: [[0, 1], [2, 0]] },
  { input: [2, 5, 8, 18], kernel: [2, 3], strides: [2, 1], padding: 'same' },
];

test('native depthwise conv2d and its backward passes match the reference', async (t) => {
  const cases = DEPTHWISE.map((c, i) => {
    const g = conv2dInfo({ inputShape: c.input, kernelSize: c.kernel, strides: c.strides ?? [1, 1], dilation: c.dilation ?? [1, 1], padding: c.padding, depthMultiplier: c.multiplier });
    const x = randomF32(g.n * g.h * g.w * g.c, 40 + i);
    const w = randomF32(g.kh * g.kw * g.outC, 50 + i);
    const dy = randomF32(g.n * g.oh * g.ow * g.outC, 60 + i);
    const want = {
      y: ref.depthwiseConv2d(f64(x), f64(w), g),
      dx: ref.depthwiseConv2dBackpropInput(f64(dy), f64(w), g),
      dw: ref.depthwiseConv2dBackpropFilter(f64(x), f64(dy), g),
    };
    return { c, g, x, w, dy, want };
  });
  await forEachIsa(t, (nb, isa) => {
    for (const { c, g, x, w, dy, want } of cases) {
      const name = (pass: string) => `${isa} ${pass} ${JSON.stringify(c)}`;
      assertClose(name('depthwiseConv2d'), nb.depthwiseConv2d(x, w, g), want.y, [g.n, g.oh, g.ow, g.outC]);
      assertClose(name('depthwiseConv2dBackpropInput'), nb.depthwiseConv2dBackpropInput(dy, w, g), want.dx, [g.n, g.h, g.w, g.c]);
      assertClose(name('depthwiseConv2dBackpropFilter'), nb.depthwiseConv2dBackpropFilter(x, dy, g), want.dw, [g.kh, g.kw, g.c, g.depthMultiplier]);
    }
  });
});

test('native 3x3 depthwise forward on an input past the last-level cache (rows prefetched ahead) matches the reference', async (t) => {
  // 6.5M floats, above the 24 MiB from which the forward row fetches the next output row's input rows: stride 1
  // and 2, odd sizes, a channel tail on every ISA (36 = 2 x 16 + 4).
  const cases = ([[1, 1], [2, 2]] as [number, number][]).map((strides, i) => {
    const g = conv2dInfo({ inputShape: [1, 451, 401, 36], kernelSize: [3, 3], strides, padding: 'same', depthMultiplier: 1 });
    const x = randomF32(g.n * g.h * g.w * g.c, 90 + i);
    const w = randomF32(9 * g.outC, 95 + i);
    return { strides, g, x, w, want: ref.depthwiseConv2d(f64(x), f64(w), g) };
  });
  await forEachIsa(t, (nb, isa) => {
    for (const { strides, g, x, w, want } of cases) {
      assertClose(`${isa} depthwiseConv2d stride ${strides[0]}`, nb.depthwiseConv2d(x, w, g), want, [g.n, g.oh, g.ow, g.outC]);
    }
  });
});

test('native pooling matches the reference', async (t) => {
  const cases = POOLS.map((c, i) => {
    const g = pool2dInfo({ inputShape: c.input, kernelSize: c.kernel, strides: c.strides ?? [1, 1], padding: c.padding });
    // Every other case rounds x to a few levels, so windows hold ties and the first maximum must win.
    const x = randomF32(g.n * g.h * g.w * g.c, 70 + i).map((v) => (i % 2 === 1 ? Math.round(v * 2) : v));
    const dy = randomF32(g.n * g.oh * g.ow * g.c, 80 + i);
    const want = {
      max: ref.maxPool(f64(x), g),
      maxBack: ref.maxPoolBackward(f64(x), f64(dy), g),
      avg: ref.avgPool(f64(x), g),
      avgBack: ref.avgPoolBackward(f64(dy), g),
    };
    return { c, g, x, dy, want };
  });
  await forEachIsa(t, (nb, isa) => {
    for (const { c, g, x, dy, want } of cases) {
      const name = (pass: string) => `${isa} ${pass} ${JSON.stringify(c)}`;
      const yShape = [g.n, g.oh, g.ow, g.c];
      const xShape = [g.n, g.h, g.w, g.c];
      assertClose(name('maxPool'), nb.maxPool(x, g), want.max, yShape);
      assertClose(name('maxPoolBackward'), nb.maxPoolBackward(x, dy, g), want.maxBack, xShape);
      assertClose(name('avgPool'), nb.avgPool(x, g), want.avg, yShape);
      assertClose(name('avgPoolBackward'), nb.avgPoolBackward(dy, g), want.avgBack, xShape);
    }
  });
});

test('native global pooling matches the reference', async (t) => {
  const shapes: [number, number, number][] = [[1, 1, 1], [2, 49, 19], [5, 9, 64], [3, 256, 7]];
  await forEachIsa(t, (nb, isa) => {
    shapes.forEach(([n, hw, c], i) => {
      const x = randomF32(n * hw * c, 90 + i);
      const dy = randomF32(n * c, 95 + i);
      const name = (pass: string) => `${isa} ${pass} n=${n} hw=${hw} c=${c}`;
      assertClose(name('globalAvgPool'), nb.globalAvgPool(x, n, hw, c), ref.globalAvgPool(f64(x), n, hw, c), [n, c]);
      assertClose(name('globalMaxPool'), nb.globalMaxPool(x, n, hw, c), ref.globalMaxPool(f64(x), n, hw, c), [n, c]);
      assertClose(name('globalAvgPoolBackward'), nb.globalAvgPoolBackward(dy, n, hw, c), ref.globalAvgPoolBackward(f64(dy), n, hw, c), [n, hw, c]);
      assertClose(name('globalMaxPoolBackward'), nb.globalMaxPoolBackward(x, dy, n, hw, c), ref.globalMaxPoolBackward(f64(x), f64(dy), n, hw, c), [n, hw, c]);
    });
  });
});
