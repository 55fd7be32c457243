// Seeded uniform values in [-0.5, 0.5) for the kernel timers (bench/gemm.mjs, bench/small-batch.mjs): a
// 32-bit LCG, so that both scripts time the same data without the library's RNG.
export function random(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}
