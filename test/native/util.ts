import type { TestContext } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { nativeBackend, nativeInfo, setNativeIsa } from '../../src/backend/native/index.js';

/**
 * Shared pieces of the native-vs-reference sweeps. The oracle is the reference backend run in float64 on the
 * very float32 values the native backend gets, so the comparison measures the native kernel's float32
 * rounding and nothing else.
 */

export const TOLERANCE = 1e-4;

/** mulberry32: a tiny seeded generator, so every run sweeps the same values. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1) (or [lo, hi)), as float32. */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

export const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);

/** Multi-index of flat index i in a row-major shape, for failure messages. */
export function coordinate(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

/**
 * Max |got - want| relative to max |want| must stay below TOLERANCE; on failure the message names the case,
 * the worst coordinate and both values.
 */
export function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, shape: readonly number[], tol = TOLERANCE): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length}, expected ${want.length}`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  scale = Math.max(scale, 1e-30);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) {
      worst = e; // NaN compares false and is caught here
      at = i;
    }
  }
  if (at >= 0 && !(worst / scale <= tol)) {
    throw new Error(
      `${what}: relative error ${(worst / scale).toExponential(2)} > ${tol} at [${coordinate(at, shape).join(', ')}] ` +
        `(flat ${at}): native ${got[at]}, reference ${want[at]}, max |reference| ${scale}`,
    );
  }
}

/** Both arrays hold the very same bits (NaN included). */
export function assertSameBits(what: string, a: Float32Array, b: Float32Array): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) throw new Error(`${what}: lengths ${ua.length} and ${ub.length}`);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new Error(`${what}: runs differ at flat index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** The native backend, or null after marking the test skipped. */
export function nativeOrSkip(t: TestContext): Backend | null {
  const nb = nativeBackend();
  if (!nb) t.skip('native backend not built');
  return nb;
}

/**
 * Runs `body` once per kernel ISA this CPU supports (avx512, avx2, portable), as subtests, then restores the
 * best ISA. Unsupported ISAs are reported as skipped.
 */
export async function forEachIsa(t: TestContext, body: (nb: Backend, isa: string) => void): Promise<void> {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  const best = nativeInfo()!.bestIsa;
  try {
    for (const isa of ['avx512', 'avx2', 'portable']) {
      await t.test(isa, (st) => {
        if (!setNativeIsa(isa)) {
          st.skip(`this CPU does not support ${isa}`);
          return;
        }
        body(nb, isa);
      });
    }
  } finally {
    setNativeIsa(best);
  }
}
