import { type Made, OP, type PlanOp } from './ops.js';

/**
 * The fusion passes of compile.ts over the lowered op list: bias, batch norm and activations into their
 * producers (fuse), residual sums into convolutions (fuseResidual), depthwise convolutions into the pointwise
 * ones that read them (fuseDepthwisePointwise).
 */

/** W' = W * s per output column (the last axis of HWIO, [kh, kw, c, m] and [k, n] kernels alike). */
function scaleColumns(w: Float32Array, s: Float32Array): void {
  const c = s.length;
  for (let i = 0; i < w.length; i++) w[i] *= s[i % c];
}

/** Absorbs bias, batch norm and an activation into producers; returns the surviving ops in order. */
export function fuse(ops: PlanOp[], readers: Map<number, number>, made: Made): PlanOp[] {
  const producer = new Map<number, number>();
  ops.forEach((o, i) => producer.set(o.out, i));
  const readerOf = new Map<number, number>();
  ops.forEach((o, i) => o.ins.forEach((v) => readerOf.set(v, i)));
  const gone = new Set<number>();
  const gemmLike = (o: PlanOp) => o.op === OP.conv || o.op === OP.depthwise || o.op === OP.dense;
  const actAfter: number[] = [OP.add, OP.maxPool, OP.avgPool, OP.globalAvg, OP.globalMax, OP.affine, OP.bias, OP.binary, OP.scale];
  const takesAct = (o: PlanOp) => gemmLike(o) || actAfter.includes(o.op);
  ops.forEach((o, i) => {
    if (gone.has(i)) return;
    for (;;) {
      if (o.act !== 0 || readers.get(o.out) !== 1) break;
      const j = readerOf.get(o.out);
      if (j === undefined || j <= i || gone.has(j)) break;
      const next = ops[j];
      if (next.ins.length !== 1) break;
      if (gemmLike(o) && next.op === OP.bias) {
        const b = next.consts[0] as Float32Array;
        o.consts[1] = o.consts[1] ? o.consts[1].map((v, k) => v + b[k]) : Float32Array.from(b);
      } else if (gemmLike(o) && next.op === OP.affine) {
        const [scale, shift] = next.consts as Float32Array[];
        const w = o.consts[0] as Float32Array;
        if (!o.ownsWeights) (o.consts[0] = made.take(() => Float32Array.from(w))), (o.ownsWeights = true);
        if (!made.reused) scaleColumns(o.consts[0] as Float32Array, scale);
        const b = o.consts[1];
        o.consts[1] = shift.map((t, k) => (b ? b[k] : 0) * scale[k] + t);
        o.act = next.act;
      } else if (takesAct(o) && next.op === OP.activation) {
        o.act = next.act;
      } else {
        break;
      }
      gone.add(j);
      o.out = next.out;
    }
  });
  return ops.filter((_, i) => !gone.has(i));
}

/**
 * A two-term add whose summand u is the output of a linear convolution that nothing else reads, and whose
 * other summand v is ready when that convolution runs (computed before it, or the input), is fused into it:
 * the convolution reads v and writes act((conv + bias) + v) to the add's output, so the sum costs no pass of
 * its own. The same additions in the same order as the add op: the same bits. Of two candidate convolutions
 * (a projection shortcut) the later one takes the sum, so the other's output is ready. Liveness (below) then
 * keeps v alive until the convolution, which writes a buffer allocated before v's is freed: the output never
 * overwrites the summand it is still reading.
 */
export function fuseResidual(ops: PlanOp[], readers: Map<number, number>): PlanOp[] {
  const at = new Map<number, number>();
  ops.forEach((o, i) => at.set(o.out, i));
  const gone = new Set<number>();
  ops.forEach((a, k) => {
    if (a.op !== OP.add || a.ins.length !== 2) return;
    const host = [0, 1]
      .map((s) => ({ s, i: at.get(a.ins[s]) }))
      .filter(({ s, i }) => {
        if (i === undefined || gone.has(i)) return false;
        const p = ops[i];
        const other = at.get(a.ins[1 - s]);
        return p.op === OP.conv && p.act === 0 && !p.into && !p.residual && readers.get(a.ins[s]) === 1 && (a.ins[1 - s] === 0 || (other !== undefined && other < i)) && i < k;
      })
      .sort((x, y) => (y.i as number) - (x.i as number))[0];
    if (!host) return;
    const p = ops[host.i as number];
    p.ins = [p.ins[0], a.ins[1 - host.s]];
    p.out = a.out;
    p.act = a.act;
    p.residual = true;
    at.set(a.out, host.i as number);  // the sum is now made where the convolution runs
    gone.add(k);
  });
  return ops.filter((_, i) => !gone.has(i));
}

/** Fields of geometryFields(): depth multiplier, kernel, strides, padding. */
const G = { n: 0, c: 3, kh: 4, kw: 5, sh: 6, sw: 7, padTop: 10, padBottom: 11, padLeft: 12, padRight: 13, oh: 14, ow: 15, outC: 16, multiplier: 17 } as const;

/**
 * A depthwise convolution (multiplier 1, a clip activation) whose output nothing but a pointwise convolution
 * (1x1, stride 1, unpadded) reads becomes one op with it: native/depthwise.cc runs the depthwise rows of a
 * tile into a buffer that stays in cache and the pointwise GEMM on that tile, so MobileNet's intermediate
 * maps are never written out and read back. The pair runs where the pointwise convolution ran, reading the
 * depthwise input (and the pointwise one's residual summand and concatenation slice, if it had them). Only
 * where the product has more rows than the small-M GEMM takes (more than 64 pixels): there the pointwise
 * convolution runs the same main GEMM, tile by tile, the same sums in the same order; and with fewer than 4096
 * channels, below which the GEMM never splits the depth of a tile (gemm.cc), so the bits do not depend on the
 * tiles, hence on the thread count.
 *
 * And only where the map would leave the caches (PAIR_MAP_BYTES), or where the pointwise convolution makes few
 * outputs per value it reads (PAIR_FEW_OUTPUTS, a memory-bound product): below that the two layers apart ran
 * faster (each GEMM one product over every row, blocked as the GEMM likes, where the pair's threads each run
 * tiles of their own rows against the whole pointwise kernel). On Zen 5, MobileNet's plans in one process, the two
 * layers' time over the pair's: at batch 1 (maps of 0.4-1.6 MB) 0.76-1.00 (stride-2 pairs 0.76-0.94), so the
 * plan took 0.95-0.98 of the fused one's time; maps of 3.2 MB 0.91-1.00 at batches 4-32, 6.4 MB 0.96-1.06,
 * 12.8 MB 0.93-1.14, 25.7 MB and 51 MB 1.10-1.35; the 112x112x32 -> 64 pair 1.02 at batch 1 and 1.20 at 4.
 */
const PAIR_MAP_BYTES = 8 << 20;
const PAIR_FEW_OUTPUTS = 64;

export function fuseDepthwisePointwise(ops: PlanOp[], readers: Map<number, number>, output: number, batchScale: number): PlanOp[] {
  const readerOf = new Map<number, number>();
  ops.forEach((o, i) => o.ins.forEach((v) => readerOf.set(v, i)));
  const gone = new Set<number>();
  ops.forEach((d, i) => {
    const dw = d.ints;
    if (d.op !== OP.depthwise || dw[G.multiplier] !== 1 || d.act > 2 || d.into || d.out === output || readers.get(d.out) !== 1) return;
    const n = dw[G.n] * batchScale;
    if (n * dw[G.oh] * dw[G.ow] <= 64 || dw[G.c] >= 4096) return;
    const mapBytes = 4 * n * dw[G.oh] * dw[G.ow] * dw[G.c];
    const j = readerOf.get(d.out);
    if (j === undefined || j <= i) return;
    const p = ops[j];
    const pw = p.ints;
    const pointwise = pw[G.kh] === 1 && pw[G.kw] === 1 && pw[G.sh] === 1 && pw[G.sw] === 1 && pw[G.padTop] + pw[G.padBottom] + pw[G.padLeft] + pw[G.padRight] === 0;
    if (p.op !== OP.conv || !pointwise || p.ins[0] !== d.out) return;
    if (mapBytes < PAIR_MAP_BYTES && pw[G.outC] > PAIR_FEW_OUTPUTS) return;
    ops[j] = {
      ...p,
      op: OP.depthwisePointwise,
      ins: [d.ins[0], ...p.ins.slice(1)],
      ints: [...dw, pw[G.outC], d.act],
      consts: [d.consts[0], d.consts[1], p.consts[0], p.consts[1]],
      ownsWeights: d.ownsWeights,
      ownsPointwise: p.ownsWeights,
    };
    gone.add(i);
  });
  return ops.filter((_, i) => !gone.has(i));
}
