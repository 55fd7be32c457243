import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Activation } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, assertSameBits, f64, forEachIsa, nativeOrSkip, randomF32 } from './util.js';

/**
 * The small ops: elementwise, activations, softmax, reductions, channel ops, batch norm, optimizer steps.
 * These are compiled once (memory-bound; no per-ISA copies), so one pass covers them, except Adam's step (vectorised
 * per ISA for its division and square root), which must give the same bits on every ISA. Lengths straddle the
 * sizes at which the kernels start using threads and fixed summation blocks.
 */
const LENGTHS = [1, 17, 100_003];

test('native elementwise ops, activations and reductions match the reference', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  LENGTHS.forEach((n, i) => {
    const a = randomF32(n, 1 + i, -8, 8);
    const b = randomF32(n, 2 + i);
    const dy = randomF32(n, 3 + i);
    const [a64, b64, dy64] = [f64(a), f64(b), f64(dy)];
    assertClose(`add n=${n}`, nb.add(a, b), ref.add(a64, b64), [n]);
    assertClose(`sub n=${n}`, nb.sub(a, b), ref.sub(a64, b64), [n]);
    // addN: the very bits of adding one part after another, for 2 to 8 parts.
    const parts = [a, b, dy, a, randomF32(n, 4 + i), b, dy, a];
    for (let k = 2; k <= parts.length; k += 3) {
      let pairwise = parts[0];
      for (let j = 1; j < k; j++) pairwise = nb.add(pairwise, parts[j]) as Float32Array;
      assertSameBits(`addN k=${k} n=${n}`, nb.addN(parts.slice(0, k)) as Float32Array, pairwise);
      assertClose(`addN k=${k} n=${n} vs reference`, nb.addN(parts.slice(0, k)), ref.addN(parts.slice(0, k).map(f64)), [n]);
    }
    assertClose(`mul n=${n}`, nb.mul(a, b), ref.mul(a64, b64), [n]);
    assertClose(`scale n=${n}`, nb.scale(a, 0.3), ref.scale(a64, 0.3), [n]);
    assertClose(`sum n=${n}`, [nb.sum(a)], [ref.sum(a64)], [1], 1e-6);
    assertClose(`sumSquares n=${n}`, [nb.sumSquares(a)], [ref.sumSquares(a64)], [1], 1e-6);
    assert.equal(nb.allFinite(a), true, `allFinite n=${n}`);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const c = a.slice();
      c[n - 1] = bad;
      assert.equal(nb.allFinite(c), false, `allFinite n=${n} with ${bad} last`);
    }
    for (const [rate, seed] of [[0.2, 0], [0.5, 4294967295], [0.9, 123456789]]) {
      // The very same mask on both backends: training is seeded, so a switch of backend keeps the masks.
      assertSameBits(`dropout rate ${rate} seed ${seed} n=${n}`, nb.dropout(a, rate, seed) as Float32Array, ref.dropout(a, rate, seed) as Float32Array);
    }
    for (const kind of ['linear', 'relu', 'relu6', 'sigmoid', 'tanh'] as Activation[]) {
      const y = nb.activation(kind, a);
      assertClose(`activation ${kind} n=${n}`, y, ref.activation(kind, a64), [n]);
      // The backward pass gets the native y, as it would in training.
      assertClose(`activationBackward ${kind} n=${n}`, nb.activationBackward(kind, a, y, dy), ref.activationBackward(kind, a64, f64(y), dy64), [n]);
    }
  });
});

test('native sigmoid and tanh are accurate value by value on every ISA', async (t) => {
  // Their exponentials are vectorised per ISA (native/vmath.inc), so each value is checked against the
  // float64 reference on its own scale: tiny, moderate and saturating values, signed zeros, infinities and
  // NaN, and lengths that leave a vector tail.
  const specials = [0, -0, 1e-30, -1e-30, 1e-7, -3e-6, 0.1, -0.6249, 0.6251, 1, -2.5, 9, -15, 30, -87, 88, -100, 1e4, Infinity, -Infinity, NaN];
  const grid = Array.from({ length: 4001 }, (_, i) => (i - 2000) / 100);
  const values = Float32Array.from([...specials, ...grid, ...randomF32(37, 9, -40, 40)]);
  await forEachIsa(t, (nb, isa) => {
    for (const kind of ['sigmoid', 'tanh'] as Activation[]) {
      for (const n of [values.length, 5]) {
        const x = values.subarray(0, n);
        const got = nb.activation(kind, x);
        const want = ref.activation(kind, f64(x));
        for (let i = 0; i < n; i++) {
          const w = Math.fround(want[i]);
          const ok = Number.isNaN(w) ? Number.isNaN(got[i]) : Math.abs(got[i] - w) <= 4e-7 * Math.abs(w) + 1.5e-38;
          if (!ok) throw new Error(`${isa} ${kind}(${x[i]}): native ${got[i]}, reference ${want[i]}`);
        }
      }
    }
  });
});

test('native softmax and channel ops match the reference on every ISA', async (t) => {
  // The channel ops' row loops are compiled per ISA (native/norm_rows.inc).
  const shapes: [number, number][] = [[1, 1], [7, 10], [37, 19], [300, 1000], [4100, 33]];
  await forEachIsa(t, (nb) => shapes.forEach(([rows, c], i) => {
    const x = randomF32(rows * c, 10 + i, -5, 5);
    const dy = randomF32(rows * c, 11 + i);
    const bias = randomF32(c, 12 + i);
    const shift = randomF32(c, 13 + i);
    const y = nb.softmax(x, c);
    assertClose(`softmax ${rows}x${c}`, y, ref.softmax(f64(x), c), [rows, c]);
    assertClose(`softmaxBackward ${rows}x${c}`, nb.softmaxBackward(y, dy, c), ref.softmaxBackward(f64(y), f64(dy), c), [rows, c]);
    assertClose(`biasAdd ${rows}x${c}`, nb.biasAdd(x, bias, c), ref.biasAdd(f64(x), f64(bias), c), [rows, c]);
    assertClose(`sumRows ${rows}x${c}`, nb.sumRows(x, c), ref.sumRows(f64(x), c), [c]);
    assertClose(`channelAffine ${rows}x${c}`, nb.channelAffine(x, bias, shift, c), ref.channelAffine(f64(x), f64(bias), f64(shift), c), [rows, c]);
    for (const act of ['relu', 'relu6'] as const) {
      assertSameBits(`channelAffine+${act} ${rows}x${c}`, nb.channelAffine(x, bias, shift, c, act) as Float32Array, nb.activation(act, nb.channelAffine(x, bias, shift, c)) as Float32Array);
      assertClose(`channelAffine+${act} vs reference ${rows}x${c}`, nb.channelAffine(x, bias, shift, c, act), ref.channelAffine(f64(x), f64(bias), f64(shift), c, act), [rows, c]);
    }
  }));
});

test('native batch norm matches the reference on every ISA', async (t) => {
  // 17003 x 67: over 2^20 values, so the statistics take four rows at a time (native/norm_rows.inc), with row
  // blocks that do not divide by four and a lane tail.
  const shapes: [number, number][] = [[1, 5], [37, 19], [4100, 33], [2048, 64], [17003, 67]];
  await forEachIsa(t, (nb) => shapes.forEach(([rows, c], i) => {
    // An offset mean, as real activations have, so the variance pass is tested against cancellation.
    const x = randomF32(rows * c, 20 + i, 0.5, 3);
    const dy = randomF32(rows * c, 21 + i);
    const gamma = randomF32(c, 22 + i, 0.5, 1.5);
    const beta = randomF32(c, 23 + i);
    const eps = 1e-3;
    const got = nb.batchNormTrain(x, gamma, beta, c, eps);
    const want = ref.batchNormTrain(f64(x), f64(gamma), f64(beta), c, eps);
    assertClose(`batchNormTrain y ${rows}x${c}`, got.y, want.y, [rows, c]);
    assertClose(`batchNormTrain mean ${rows}x${c}`, got.mean, want.mean, [c]);
    assertClose(`batchNormTrain variance ${rows}x${c}`, got.variance, want.variance, [c]);
    const gb = nb.batchNormTrainBackward(x, dy, gamma, got.mean, got.variance, c, eps);
    const wb = ref.batchNormTrainBackward(f64(x), f64(dy), f64(gamma), f64(got.mean), f64(got.variance), c, eps);
    assertClose(`batchNormTrainBackward dx ${rows}x${c}`, gb.dx, wb.dx, [rows, c]);
    assertClose(`batchNormTrainBackward dgamma ${rows}x${c}`, gb.dgamma, wb.dgamma, [c]);
    assertClose(`batchNormTrainBackward dbeta ${rows}x${c}`, gb.dbeta, wb.dbeta, [c]);
    for (const act of ['relu', 'relu6'] as const) {
      // Fused with the clip after it: the same as the two ops one after the other, on both backends.
      const wide = randomF32(c, 24 + i, 1, 8);
      const fy = nb.batchNormTrain(x, wide, beta, c, eps, act);
      assertSameBits(`batchNormTrain+${act} y ${rows}x${c}`, fy.y as Float32Array, nb.activation(act, nb.batchNormTrain(x, wide, beta, c, eps).y) as Float32Array);
      assertClose(`batchNormTrain+${act} y vs reference ${rows}x${c}`, fy.y, ref.batchNormTrain(f64(x), f64(wide), f64(beta), c, eps, act).y, [rows, c]);
      const fb = nb.batchNormTrainBackward(x, dy, wide, fy.mean, fy.variance, c, eps, act, beta);
      const masked = nb.activationBackward(act, fy.y, fy.y, dy);
      const sb = nb.batchNormTrainBackward(x, masked, wide, fy.mean, fy.variance, c, eps);
      assertSameBits(`batchNormTrainBackward+${act} dx ${rows}x${c}`, fb.dx as Float32Array, sb.dx as Float32Array);
      assertSameBits(`batchNormTrainBackward+${act} dgamma ${rows}x${c}`, fb.dgamma as Float32Array, sb.dgamma as Float32Array);
      const wr = ref.batchNormTrainBackward(f64(x), f64(dy), f64(wide), f64(fy.mean), f64(fy.variance), c, eps, act, f64(beta));
      assertClose(`batchNormTrainBackward+${act} dx vs reference ${rows}x${c}`, fb.dx, wr.dx, [rows, c]);
      assertClose(`batchNormTrainBackward+${act} dbeta vs reference ${rows}x${c}`, fb.dbeta, wr.dbeta, [c]);
    }
  }));
});

test('native optimizer steps match the reference', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  for (const n of LENGTHS) {
    const p = randomF32(n, 30);
    const state = [p, new Float32Array(n), new Float32Array(n)];
    const state64 = state.map(f64);
    for (let step = 1; step <= 3; step++) {
      const g = randomF32(n, 31 + step);
      nb.adamUpdate(state[0], g, state[1], state[2], 1e-2, 0.9, 0.999, 1e-7, step);
      ref.adamUpdate(state64[0], f64(g), state64[1], state64[2], 1e-2, 0.9, 0.999, 1e-7, step);
    }
    ['param', 'm', 'v'].forEach((what, k) => assertClose(`adamUpdate ${what} n=${n}`, state[k], state64[k], [n]));

    for (const [momentum, nesterov] of [[0, false], [0.9, false], [0.9, true]] as [number, boolean][]) {
      const q = randomF32(n, 40);
      const vel = new Float32Array(n);
      const [q64, vel64] = [f64(q), f64(vel)];
      for (let step = 0; step < 3; step++) {
        const g = randomF32(n, 41 + step);
        nb.sgdUpdate(q, g, momentum ? vel : null, 0.05, momentum, nesterov);
        ref.sgdUpdate(q64, f64(g), momentum ? vel64 : null, 0.05, momentum, nesterov);
      }
      assertClose(`sgdUpdate momentum=${momentum} nesterov=${nesterov} n=${n}`, q, q64, [n]);
    }
  }
});

test('native adamUpdate gives the same bits on every ISA (no FMA contraction in its vector copies)', async (t) => {
  const n = 100_003;
  const states = new Map<string, Float32Array[]>();
  await forEachIsa(t, (nb, isa) => {
    const state = [randomF32(n, 50), randomF32(n, 51, 0, 0.1), randomF32(n, 52, 0, 0.01)];
    for (let step = 1; step <= 3; step++) nb.adamUpdate(state[0], randomF32(n, 53 + step), state[1], state[2], 3e-3, 0.9, 0.999, 1e-7, step);
    states.set(isa, state);
  });
  const portable = states.get('portable');
  for (const [isa, state] of states) {
    if (portable && isa !== 'portable') ['param', 'm', 'v'].forEach((what, k) => assertSameBits(`adamUpdate ${what} ${isa} vs portable`, state[k], portable[k]));
  }
});

test('native adamUpdate flushes denormals to zero, as TensorFlow runs its CPU kernels, and otherwise follows the reference', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  const n = 1000;
  // Gradients of ~1e-20: g^2 ~1e-40 is below float32's smallest normal (1.18e-38), where every operation on it
  // would take a microcode assist (17x slower Adam on this machine's Xeon).
  const g = Float32Array.from(randomF32(n, 60), (v) => v * 1e-20);
  const state = [randomF32(n, 61), new Float32Array(n), new Float32Array(n)];
  const state64 = state.map(f64);
  nb.adamUpdate(state[0], g, state[1], state[2], 1e-3, 0.9, 0.999, 1e-7, 1);
  ref.adamUpdate(state64[0], f64(g), state64[1], state64[2], 1e-3, 0.9, 0.999, 1e-7, 1);
  const tiny = 1.1754943508222875e-38;
  for (let i = 0; i < n; i++) {
    assert.ok(state64[2][i] < tiny, `the reference's v[${i}] = ${state64[2][i]} is denormal in float32`);
    assert.equal(state[2][i], 0, `v[${i}] flushed to zero`);
  }
  assertClose('adamUpdate param with denormal moments', state[0], state64[0], [n]);
  assertClose('adamUpdate m with denormal moments', state[1], state64[1], [n]);
});
