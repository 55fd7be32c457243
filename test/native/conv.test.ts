import { test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { conv2dInfo, type Conv2DInfo, type ExplicitPadding, type Padding } from '../../src/backend/geometry.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, assertSameBits, f64, forEachIsa, randomF32 } from './util.js';

interface ConvCase {
  input: [number, number, number, number];
  kernel: [number, number];
  filters: number;
  strides?: [number, number];
  dilation?: [number, number];
  padding: Padding | ExplicitPadding;
  note: string;
}

/** Every algorithm path of native/conv.cc and every geometry rule the reference encodes. */
const CASES: ConvCase[] = [
  { input: [2, 7, 9, 3], kernel: [3, 3], filters: 5, padding: 'same', note: 'odd H/W, 3 channels' },
  { input: [1, 8, 8, 16], kernel: [3, 3], filters: 24, strides: [2, 2], padding: 'same', note: 'stride 2 same, extra pixel bottom/right' },
  { input: [2, 9, 7, 5], kernel: [3, 3], filters: 17, strides: [2, 2], padding: 'same', note: 'stride 2 same, odd sizes' },
  { input: [1, 11, 10, 4], kernel: [3, 3], filters: 6, dilation: [2, 2], padding: 'same', note: 'dilation 2' },
  { input: [3, 6, 6, 13], kernel: [1, 1], filters: 19, padding: 'valid', note: '1x1 stride 1: plain GEMM' },
  { input: [2, 7, 7, 8], kernel: [1, 1], filters: 12, strides: [2, 2], padding: 'same', note: '1x1 stride 2' },
  { input: [1, 12, 12, 3], kernel: [5, 5], filters: 33, padding: 'valid', note: '5x5 valid' },
  { input: [2, 5, 13, 7], kernel: [2, 4], filters: 9, strides: [2, 3], padding: [[1, 2], [0, 3]], note: 'explicit asymmetric padding' },
  { input: [2, 16, 16, 48], kernel: [3, 3], filters: 70, padding: 'same', note: 'K = 432 crosses KC: im2col read in place, a tap split between depth blocks' },
  { input: [3, 9, 10, 50], kernel: [3, 3], filters: 40, strides: [2, 2], padding: 'same', note: 'im2col read in place: stride 2 same, two depth blocks of 4.5 taps, pixel tail' },
  { input: [2, 11, 9, 32], kernel: [3, 3], filters: 24, strides: [2, 2], padding: 'same', note: 'filter gradient reads im2col columns in place (few outputs): stride 2 same, padded taps' },
  { input: [2, 13, 12, 3], kernel: [3, 3], filters: 40, strides: [2, 2], padding: 'same', note: 'RGB stem: filter gradient as col^T dy, dy read in place; stride 2 same' },
  { input: [1, 7, 8, 24], kernel: [3, 3], filters: 36, padding: 'same', note: 'im2col read in place, batch 1; transposed input gradient reads dy in place' },
  { input: [8, 32, 32, 32], kernel: [3, 3], filters: 4, padding: 'same', note: 'split-k filter gradient, transposed-conv input gradient' },
  { input: [8, 32, 32, 16], kernel: [3, 3], filters: 8, strides: [2, 2], padding: 'same', note: 'stride 2: dcol in several chunks' },
  { input: [2, 6, 5, 3], kernel: [2, 2], filters: 5, padding: [[2, 0], [0, 2]], note: 'padding wider than the kernel: col2im path at stride 1' },
  { input: [4, 32, 32, 3], kernel: [5, 5], filters: 6, padding: 'valid', note: 'LeNet conv1: outC 6 < NR, transposed GEMM' },
  { input: [4, 14, 14, 6], kernel: [5, 5], filters: 16, padding: 'valid', note: 'LeNet conv2: input gradient with c 6 < NR' },
  { input: [1, 9, 11, 13], kernel: [3, 3], filters: 14, strides: [2, 2], padding: 'same', note: 'direct few-output kernel, two vectors, stride 2 same' },
  { input: [1, 5, 23, 2], kernel: [3, 2], filters: 3, dilation: [2, 1], padding: 'same', note: 'direct few-output kernel, row tail and dilation' },
  { input: [2, 25, 26, 20], kernel: [1, 1], filters: 9, padding: 'valid', note: 'pointwise, few outputs: direct filter gradient over several pixel blocks' },
  { input: [2, 9, 8, 5], kernel: [2, 2], filters: 7, strides: [2, 3], padding: [[1, 0], [0, 2]], note: 'disjoint windows (stride >= kernel) with gaps and padding: input gradient written once' },
  { input: [1, 10, 11, 12], kernel: [3, 3], filters: 20, strides: [3, 3], padding: 'same', note: 'disjoint 3x3 stride 3, same' },
  { input: [6, 20, 23, 5], kernel: [5, 3], filters: 13, strides: [1, 2], padding: 'same', note: 'direct filter gradient: padded rows, dy padded to the channel block, two pixel segments' },
  { input: [3, 9, 11, 16], kernel: [5, 5], filters: 16, padding: 'same', note: 'direct filter gradient with 80-tap rows (Inception10 5x5 16 -> 16)' },
  { input: [2, 7, 9, 13], kernel: [5, 5], filters: 7, strides: [2, 2], padding: 'same', note: 'direct filter gradient, 65-tap rows, stride 2 same' },
  { input: [1, 13, 17, 5], kernel: [3, 5], filters: 7, padding: 'same', note: 'planar kernel (pixels in the lanes): batch 1, 7 outputs, odd rows, input gradient with 5 outputs' },
  { input: [3, 10, 40, 2], kernel: [3, 3], filters: 8, padding: 'valid', note: 'planar kernel: 8 outputs, two pixel blocks and a tail, rows taken two at a time across images' },
  { input: [2, 11, 9, 3], kernel: [3, 3], filters: 64, padding: 'same', note: 'RGB stem, 64 outputs: the direct kernel with 4 vectors (AVX-512), the GEMM elsewhere' },
  { input: [1, 13, 12, 3], kernel: [3, 3], filters: 96, strides: [2, 2], padding: 'same', note: 'RGB stem, 96 outputs (6 vectors), stride 2 same, batch 1' },
  { input: [2, 10, 9, 1], kernel: [5, 5], filters: 40, padding: 'valid', note: 'grayscale stem, 40 outputs (3 vectors, the last partial)' },
  { input: [2, 15, 14, 3], kernel: [3, 3], filters: 32, strides: [2, 2], padding: 'same', note: "MobileNet's stem: direct filter gradient in 4 output blocks of 8 (dy read unpadded)" },
  { input: [1, 9, 10, 4], kernel: [3, 3], filters: 75, strides: [1, 2], padding: 'same', dilation: [2, 1], note: '4 channels, 75 outputs (5 vectors), dilated rows' },
  { input: [6, 5, 5, 64], kernel: [3, 3], filters: 72, padding: 'same', note: 'small map, too few tiles for Winograd: pixels grouped by padding class (tiles filled with rows of no pixel), input gradient likewise' },
  { input: [128, 5, 5, 24], kernel: [5, 5], filters: 40, padding: 'same', note: 'padding classes over more rows than one GEMM call takes (3,200 pixels)' },
  { input: [24, 5, 5, 64], kernel: [3, 3], filters: 72, padding: 'same', note: 'Winograd F(2x2, 3x3) on 5x5 maps: the last tile row and column half past the edge, input gradient likewise' },
  { input: [1, 17, 17, 40], kernel: [3, 3], filters: 33, padding: 'same', note: 'Winograd, batch 1, odd map, 33 outputs (a column tail); input gradient with 40' },
  { input: [3, 19, 14, 24], kernel: [3, 3], filters: 48, padding: 'valid', note: 'Winograd, valid: odd output rows (17 x 12); the input gradient a full convolution (windows from 2 before the map)' },
  { input: [2, 16, 16, 17], kernel: [3, 3], filters: 16, padding: 'same', note: 'Winograd where the panel is 16 wide (17 channels: a lane tail in the transforms); input gradient with 16 channels' },
  { input: [2, 15, 13, 72], kernel: [3, 3], filters: 80, padding: 'same', note: 'Winograd filter gradient (72 x 80 channels): odd map, outputs past the edge with zero gradient, lane tails' },
  { input: [3, 11, 12, 66], kernel: [3, 3], filters: 70, padding: 'valid', note: 'Winograd filter gradient, valid, odd channel counts' },
  { input: [11, 32, 31, 16], kernel: [3, 3], filters: 32, padding: 'same', note: 'Winograd over two chunks of tiles (2,816 tiles of 16 + 32 channels)' },
  { input: [4, 31, 30, 48], kernel: [3, 3], filters: 96, padding: 'same', note: 'Winograd filter gradient summed over two chunks of tiles (1,024), input gradient likewise' },
  // 16 x 136 x 968 floats of transformed kernel, past winograd.cc's kBlockUFloats (2^21): the training passes go by
  // blocks of output channels, 960 + 8 (forward, filter gradient) and 128 + 8 (input gradient: 968 -> 136), each
  // tail inside one panel; 144 tiles, enough for Winograd with 8-wide vectors too.
  { input: [1, 23, 23, 136], kernel: [3, 3], filters: 968, padding: 'same', note: 'Winograd by blocks of output channels (kernel transform past 8 MiB), odd map, tails inside a panel' },
  { input: [48, 4, 6, 64], kernel: [3, 3], filters: 40, strides: [2, 2], padding: 'same', note: 'padding classes at stride 2 same (padded bottom and right only)' },
  { input: [12, 6, 7, 48], kernel: [3, 3], filters: 40, dilation: [2, 2], padding: 'same', note: 'padding classes with dilation 2' },
  { input: [24, 4, 4, 16], kernel: [5, 5], filters: 33, padding: 'same', note: 'padding classes, 5x5 kernel on 4x4 maps: 25 taps over depth blocks, a column tail' },
];

function info(c: ConvCase): Conv2DInfo {
  return conv2dInfo({ inputShape: c.input, kernelSize: c.kernel, strides: c.strides ?? [1, 1], dilation: c.dilation ?? [1, 1], padding: c.padding, filters: c.filters });
}

const prepared = CASES.map((c, i) => {
  const g = info(c);
  const x = randomF32(g.n * g.h * g.w * g.c, 10 + i);
  const w = randomF32(g.kh * g.kw * g.c * g.outC, 20 + i);
  const dy = randomF32(g.n * g.oh * g.ow * g.outC, 30 + i);
  return {
    c,
    g,
    x,
    w,
    dy,
    y: ref.conv2d(f64(x), f64(w), g),
    dx: ref.conv2dBackpropInput(f64(dy), f64(w), g),
    dw: ref.conv2dBackpropFilter(f64(x), f64(dy), g),
  };
});

function check(nb: Backend, isa: string, p: (typeof prepared)[number]): void {
  const { g } = p;
  const name = (pass: string) => `${isa} ${pass} ${p.c.note} ${JSON.stringify(p.c.input)} k${g.kh}x${g.kw} s${g.sh}x${g.sw} d${g.dh}x${g.dw}`;
  assertClose(name('conv2d'), nb.conv2d(p.x, p.w, g), p.y, [g.n, g.oh, g.ow, g.outC]);
  assertClose(name('conv2dBackpropInput'), nb.conv2dBackpropInput(p.dy, p.w, g), p.dx, [g.n, g.h, g.w, g.c]);
  assertClose(name('conv2dBackpropFilter'), nb.conv2dBackpropFilter(p.x, p.dy, g), p.dw, [g.kh, g.kw, g.c, g.outC]);
}

test('native conv2d and both backward passes match the reference', async (t) => {
  await forEachIsa(t, (nb, isa) => {
    for (const p of prepared) check(nb, isa, p);
  });
});

test('a convolution output larger than the last-level cache (stored past it) has the bits of the same images apart', async (t) => {
  // 2 x 160 x 160 x 128 outputs (26 MB) is above native/gemm.h's streamOutput threshold (24 MiB); each image
  // alone is below it. The stores differ, the sums do not.
  const g = info({ input: [2, 160, 160, 8], kernel: [1, 1], padding: 'same', filters: 128, note: 'streamed' });
  const one = info({ input: [1, 160, 160, 8], kernel: [1, 1], padding: 'same', filters: 128, note: 'one image' });
  const x = randomF32(g.n * g.h * g.w * g.c, 90);
  const w = randomF32(g.c * g.outC, 91);
  const per = one.h * one.w * one.c;
  await forEachIsa(t, (nb, isa) => {
    const whole = nb.conv2d(x, w, g) as Float32Array;
    for (let i = 0; i < 2; i++) {
      const part = nb.conv2d(x.subarray(i * per, (i + 1) * per), w, one) as Float32Array;
      assertSameBits(`${isa} image ${i}`, whole.subarray(i * part.length, (i + 1) * part.length), part);
    }
  });
});
