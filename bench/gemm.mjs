#!/usr/bin/env node
// Speed sanity check of the native backend (not a test): SGEMM 1024^3 and a ResNet-like convolution
// (batch 32, 32x32x64 -> 64, 3x3 same) forward and both backward passes, in GFLOP/s.
//
//   npm run build && node scripts/build-native.mjs && node bench/gemm.mjs [rounds]
//
// Each measurement is the best of several repetitions, and the whole set runs `rounds` times (default 2),
// because other processes may share the CPU: trust the best round, and compare rounds to see the noise.
// For a yardstick, the AVX2 FMA peak is 32 flops per cycle per core (64 with AVX-512 on two FMA ports).
// CONVKIT_THREADS and CONVKIT_ISA apply as usual.
import { conv2dInfo } from '../dist/src/backend/geometry.js';
import { nativeBackend, nativeInfo } from '../dist/src/backend/native/index.js';
import { random } from './lcg.mjs';

const nb = nativeBackend();
if (!nb) {
  console.error('bench: the native backend is not built (node scripts/build-native.mjs)');
  process.exit(1);
}


/** Best GFLOP/s of `reps` timed calls after one warm-up call. */
function gflops(flops, reps, fn) {
  fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { gflops: flops / best / 1e9, ms: best * 1e3 };
}

const N = 1024;
const a = random(N * N, 1);
const b = random(N * N, 2);

const g = conv2dInfo({ inputShape: [32, 32, 32, 64], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 64 });
const x = random(g.n * g.h * g.w * g.c, 3);
const w = random(g.kh * g.kw * g.c * g.outC, 4);
const dy = random(g.n * g.oh * g.ow * g.outC, 5);
const convFlops = 2 * g.n * g.oh * g.ow * g.kh * g.kw * g.c * g.outC;

const cases = [
  ['sgemm 1024x1024x1024', 2 * N ** 3, () => nb.matmul(a, b, N, N, N, false, false)],
  ['sgemm 1024^3 transA transB', 2 * N ** 3, () => nb.matmul(a, b, N, N, N, true, true)],
  ['conv2d forward        32x32x32x64 -> 64, 3x3', convFlops, () => nb.conv2d(x, w, g)],
  ['conv2d backprop input', convFlops, () => nb.conv2dBackpropInput(dy, w, g)],
  ['conv2d backprop filter', convFlops, () => nb.conv2dBackpropFilter(x, dy, g)],
];

const info = nativeInfo();
console.log(`native backend: ${info.isa} kernels (best on this CPU: ${info.bestIsa}), ${info.threads} threads`);
const rounds = Number(process.argv[2] ?? 2);
for (let r = 1; r <= rounds; r++) {
  console.log(`round ${r}`);
  for (const [name, flops, fn] of cases) {
    const { gflops: rate, ms } = gflops(flops, 5, fn);
    console.log(`  ${name.padEnd(46)} ${rate.toFixed(1).padStart(7)} GFLOP/s  (${ms.toFixed(1).padStart(5)} ms)`);
  }
}
