import { test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { conv2dInfo, pool2dInfo } from '../../src/backend/geometry.js';
import { nativeInfo, setNativeThreads } from '../../src/backend/native/index.js';
import { assertSameBits, nativeOrSkip, randomF32 } from './util.js';

/**
 * Reductions are partitioned by the shape, never by the schedule (native/gemm.cc, conv.cc, depthwise.cc,
 * norm.cc), so results must be bitwise identical from run to run, and also across thread counts.
 */

/** Every kernel with a reduction split across threads, on shapes large enough to use all of them. */
function runAll(nb: Backend): Float32Array[] {
  // Float32 in, float32 out: the native backend never widens.
  const g = conv2dInfo({ inputShape: [8, 16, 16, 24], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 20 });
  const x = randomF32(g.n * g.h * g.w * g.c, 1);
  const w = randomF32(g.kh * g.kw * g.c * g.outC, 2);
  const dy = randomF32(g.n * g.oh * g.ow * g.outC, 3);
  const dg = conv2dInfo({ inputShape: [8, 16, 16, 24], kernelSize: [3, 3], strides: [2, 2], padding: 'same', depthMultiplier: 1 });
  const ddy = randomF32(dg.n * dg.oh * dg.ow * dg.outC, 4);
  const a = randomF32(20 * 9000, 5);
  const b = randomF32(9000 * 30, 6);
  const rows = g.n * g.h * g.w;
  const gamma = randomF32(g.c, 7);
  const bn = nb.batchNormTrain(x, gamma, randomF32(g.c, 8), g.c, 1e-3);
  const bnBack = nb.batchNormTrainBackward(x, randomF32(rows * g.c, 9), gamma, bn.mean, bn.variance, g.c, 1e-3);
  const beta = randomF32(g.c, 8);
  const fused = nb.batchNormTrain(x, gamma, beta, g.c, 1e-3, 'relu6');
  const fusedBack = nb.batchNormTrainBackward(x, randomF32(rows * g.c, 9), gamma, fused.mean, fused.variance, g.c, 1e-3, 'relu6', beta);
  // The direct filter gradient (short kernel rows, few outputs) over several pixel segments and blocks.
  const tg = conv2dInfo({ inputShape: [8, 32, 32, 3], kernelSize: [5, 5], strides: [1, 1], padding: 'same', filters: 6 });
  const tx = randomF32(tg.n * tg.h * tg.w * tg.c, 10);
  const tdy = randomF32(tg.n * tg.oh * tg.ow * tg.outC, 11);
  // Max pooling of one image: its channels are split into blocks by the thread count.
  const pg = pool2dInfo({ inputShape: [1, 12, 12, 72], kernelSize: [3, 3], strides: [1, 1], padding: 'same' });
  const px = randomF32(pg.n * pg.h * pg.w * pg.c, 12).map((v) => Math.round(v * 3));
  const pdy = randomF32(pg.n * pg.oh * pg.ow * pg.c, 13);
  // Filter gradients whose B (im2col columns) is read in place (few outputs, channels a multiple of the
  // panel), the RGB stem's col^T dy form, and a split-k matmul with B read in place.
  const cg = conv2dInfo({ inputShape: [8, 16, 16, 32], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 24 });
  const cx = randomF32(cg.n * cg.h * cg.w * cg.c, 16);
  const cdy = randomF32(cg.n * cg.oh * cg.ow * cg.outC, 17);
  const sg = conv2dInfo({ inputShape: [8, 32, 32, 3], kernelSize: [3, 3], strides: [2, 2], padding: 'same', filters: 40 });
  const sx = randomF32(sg.n * sg.h * sg.w * sg.c, 18);
  const sdy = randomF32(sg.n * sg.oh * sg.ow * sg.outC, 19);
  const b32 = randomF32(9000 * 32, 20);
  // Winograd F(2x2, 3x3): stride 1, enough channels and tiles (native/winograd.cc), forward and input gradient.
  const wg = conv2dInfo({ inputShape: [8, 16, 16, 72], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 80 });
  const wx = randomF32(wg.n * wg.h * wg.w * wg.c, 21);
  const ww = randomF32(9 * wg.c * wg.outC, 22);
  const wdy = randomF32(wg.n * wg.oh * wg.ow * wg.outC, 23);
  const results = [
    nb.conv2d(x, w, g),
    nb.conv2dBackpropInput(dy, w, g),
    nb.conv2dBackpropFilter(x, dy, g),
    nb.depthwiseConv2dBackpropFilter(x, ddy, dg),
    nb.matmul(a, b, 20, 9000, 30, false, false), // split-k
    nb.matmul(b, a, 30, 9000, 20, true, true),
    bn.y,
    bn.mean,
    bn.variance,
    bnBack.dx,
    bnBack.dgamma,
    nb.sumRows(x, g.c),
    Float32Array.of(nb.sum(x), nb.sumSquares(x)),
    fused.y,
    fusedBack.dx,
    fusedBack.dgamma,
    nb.conv2dBackpropFilter(tx, tdy, tg),
    nb.maxPoolBackward(px, pdy, pg),
    nb.dropout(x, 0.3, 12345),
    nb.addN([x, randomF32(x.length, 14), x, randomF32(x.length, 15)]),
    nb.conv2dBackpropFilter(cx, cdy, cg),
    nb.conv2dBackpropFilter(sx, sdy, sg),
    nb.matmul(a, b32, 20, 9000, 32, false, false),
    nb.conv2d(wx, ww, wg),
    nb.conv2dBackpropInput(wdy, ww, wg),
    nb.conv2dBackpropFilter(wx, wdy, wg),
  ];
  return results as Float32Array[];
}

const NAMES = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'depthwiseConv2dBackpropFilter', 'matmul split-k', 'matmul transposed', 'batchNorm y', 'batchNorm mean', 'batchNorm variance', 'batchNorm dx', 'batchNorm dgamma', 'sumRows', 'sum, sumSquares', 'batchNorm+relu6 y', 'batchNorm+relu6 dx', 'batchNorm+relu6 dgamma', 'direct filter gradient', 'maxPoolBackward, one image', 'dropout', 'addN', 'filter gradient, B in place', 'filter gradient, RGB stem', 'matmul split-k, B in place', 'conv2d Winograd', 'conv2dBackpropInput Winograd', 'conv2dBackpropFilter Winograd'];

test('native kernels give identical bits on every run', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  const first = runAll(nb);
  const second = runAll(nb);
  first.forEach((r, i) => assertSameBits(`${NAMES[i]}, run 1 vs run 2`, r, second[i]));
});

test('native kernels give identical bits for 1, 3 and the default number of threads', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  const threads = nativeInfo()!.threads;
  try {
    const base = runAll(nb);
    for (const n of [1, 3]) {
      setNativeThreads(n);
      runAll(nb).forEach((r, i) => assertSameBits(`${NAMES[i]}, ${threads} vs ${n} threads`, base[i], r));
    }
  } finally {
    setNativeThreads(threads);
  }
});
