import { type Conv2DInfo, type Pool2DInfo, geometryFields } from '../geometry.js';
import { fuse, fuseDepthwisePointwise, fuseResidual } from './fuse.js';
import { ACT, BINARY, Made, OP, type PlanOp } from './ops.js';
import type { Ref, Trace, TraceStep } from './trace.js';
import { Untraceable } from './trace.js';

export { OP } from './ops.js';

/**
 * From a trace to the op list native/plan.cc runs (its header documents the encoding):
 *   - a convolution, depthwise convolution or dense product absorbs what follows it while each value has a
 *     single reader: a bias add, an inference batch norm (channelAffine: the weights' columns scaled, the
 *     bias shifted: W' = W * s, b' = b * s + t) and one activation, which becomes the GEMM's epilogue;
 *   - adds, pools and unfolded affines absorb a following activation;
 *   - a concatenation's parts that are convolutions read by nothing else write their channel slice of the
 *     concatenated buffer directly (row stride = its width) and are never copied;
 *   - a sum of two values, one of them a convolution's output read by nothing else, becomes that
 *     convolution's epilogue (ResNet's shortcut: act((conv + bias) + shortcut), ONNX Runtime's Conv + Sum);
 *   - a depthwise convolution read only by a pointwise one runs with it as one op, tile by tile
 *     (fuseDepthwisePointwise);
 *   - every value gets a slice of a few buffers, reused once the value's last reader has run; a residual sum
 *     takes its summand's buffer when it is the summand's last reader.
 * The fusion passes are in fuse.ts, the vocabulary they share with this file in ops.ts.
 */

export interface CompiledPlan {
  code: Int32Array;
  consts: Float32Array[];
  /**
   * 1 for a constant made for this plan alone (weights with batch norm folded in, transposed dense kernels):
   * the native plan may pack it in place and let the original layout go. 0 for the model's own arrays.
   */
  owned: Uint8Array;
  bufferSizes: number[];
  inputSize: number;
  outputSize: number;
  /** Ops after fusion, by kind (for tests and the bench's report). */
  opCounts: Record<string, number>;
  /** Each op's kind and shape, in order (the profile's labels). */
  opNames: string[];
  /** The weight arrays this compile made, in order (Made). */
  made: Float32Array[];
}

function value(r: Ref | undefined, what: string): number {
  if (!r || r.kind !== 'value') throw new Untraceable(`${what} is not computed from the input`);
  return r.id;
}

function constant(r: Ref | undefined, what: string): Float32Array {
  if (!r || r.kind !== 'const') throw new Untraceable(`${what} depends on the input`);
  return r.data;
}

/** Builds the op list from a trace: one op per step, before fusion. */
function lower(s: TraceStep, sizes: number[], made: Made): PlanOp {
  const a = s.arrays;
  const len = sizes[s.out];
  const op = (code: number, ins: number[], ints: number[], consts: (Float32Array | null)[] = [], act = 0): PlanOp => ({ op: code, act, out: s.out, ins, ints, consts });
  switch (s.op) {
    case 'conv2d':
    case 'depthwiseConv2d': {
      const g = s.args[0] as Conv2DInfo;
      const bias = a[2] ? constant(a[2], 'a convolution bias') : null;
      return op(s.op === 'conv2d' ? OP.conv : OP.depthwise, [value(a[0], 'a convolution input')], geometryFields(g), [constant(a[1], 'a convolution kernel'), bias]);
    }
    case 'matmul': {
      const [m, k, n, transA, transB] = s.args as [number, number, number, boolean, boolean];
      if (transA) throw new Untraceable('a transposed matmul input');
      let w = constant(a[1], 'a dense kernel');
      if (transB) {
        const src = w;
        w = made.take(() => {
          const t = new Float32Array(k * n);
          for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) t[j * n + i] = src[i * k + j];
          return t;
        });
      }
      const o = op(OP.dense, [value(a[0], 'a dense input')], [m, k, n], [w, null]);
      o.ownsWeights = transB;
      return o;
    }
    case 'biasAdd': {
      const c = s.args[0] as number;
      return op(OP.bias, [value(a[0], 'a bias input')], [len / c, c], [constant(a[1], 'a bias')]);
    }
    case 'channelAffine': {
      const [c, act] = s.args as [number, string | undefined];
      return op(OP.affine, [value(a[0], 'a batch norm input')], [len / c, c], [constant(a[1], 'a scale'), constant(a[2], 'a shift')], ACT[act ?? 'linear']);
    }
    case 'activation': {
      const kind = s.args[0] as string;
      if (!(kind in ACT)) throw new Untraceable(`activation '${kind}'`);
      return op(OP.activation, [value(a[0], 'an activation input')], [len], [], ACT[kind]);
    }
    case 'maxPool':
    case 'avgPool':
      return op(s.op === 'maxPool' ? OP.maxPool : OP.avgPool, [value(a[0], 'a pooling input')], geometryFields(s.args[0] as Pool2DInfo));
    case 'globalAvgPool':
    case 'globalMaxPool': {
      const [n, hw, c] = s.args as number[];
      return op(s.op === 'globalAvgPool' ? OP.globalAvg : OP.globalMax, [value(a[0], 'a pooling input')], [n, hw, c]);
    }
    case 'add':
    case 'addN':
      if (a.length > 8) throw new Untraceable('a sum of more than 8 tensors');
      return op(OP.add, a.map((r) => value(r, 'a summand')), [len]);
    case 'concatLastAxis': {
      const [widths, rows] = s.args as [number[], number];
      const total = widths.reduce((x, y) => x + y, 0);
      const ints = [rows, total];
      let off = 0;
      for (const w of widths) ints.push(off, w), (off += w);
      if (a.length > 8) throw new Untraceable('a concatenation of more than 8 tensors');
      return op(OP.concat, a.map((r) => value(r, 'a concatenated tensor')), ints);
    }
    case 'softmax': {
      const c = s.args[0] as number;
      return op(OP.softmax, [value(a[0], 'a softmax input')], [len / c, c]);
    }
    case 'pad2d':
      return op(OP.pad, [value(a[0], 'a padded input')], s.args as number[]);
    case 'sub':
    case 'mul':
      return op(OP.binary, [value(a[0], 'an operand'), value(a[1], 'an operand')], [BINARY[s.op], len]);
    case 'scale':
      return op(OP.scale, [value(a[0], 'an operand')], [len], [Float32Array.of(s.args[0] as number)]);
    default:
      throw new Untraceable(`backend method '${s.op}'`);
  }
}

/**
 * batchScale: the plan is for batchScale times the traced batch (batch.ts scales the code of a small trace):
 * the choices that depend on the batch are made for that one, and the op names show it. codeOnlyAfter: an
 * earlier compile of the same model, whose weight arrays this one takes (Made): its code is right, its
 * constants are the earlier one's.
 */
export function compileTrace(trace: Trace, batchScale = 1, codeOnlyAfter?: CompiledPlan): CompiledPlan {
  const { sizes, output } = trace;
  if (output === 0) throw new Untraceable('the model returns its input');
  const readers = new Map<number, number>([[output, 1]]);
  for (const s of trace.steps) for (const r of s.arrays) if (r.kind === 'value') readers.set(r.id, (readers.get(r.id) ?? 0) + 1);
  const made = new Made(codeOnlyAfter?.made);
  let ops = fuse(trace.steps.map((s) => lower(s, sizes, made)), readers, made);

  // Concatenation in place: a part made by a convolution and read by nothing else is written straight into
  // its channel slice. The concatenation then copies only the other parts, or disappears.
  const producerOp = new Map<number, PlanOp>();
  for (const o of ops) producerOp.set(o.out, o);
  ops = ops.filter((o) => {
    if (o.op !== OP.concat) return true;
    const keep: number[] = [];
    const keepInts = [o.ints[0], o.ints[1]];
    o.ins.forEach((v, i) => {
      const p = producerOp.get(v);
      const [offset, width] = [o.ints[2 + 2 * i], o.ints[3 + 2 * i]];
      if (p && p.op === OP.conv && !p.into && readers.get(v) === 1 && v !== output) p.into = { value: o.out, offset, width: o.ints[1] };
      else keep.push(v), keepInts.push(offset, width);
    });
    o.ins = keep;
    o.ints = keepInts;
    return keep.length > 0 || !ops.some((p) => p.into?.value === o.out);
  });

  ops = fuseResidual(ops, readers);
  ops = fuseDepthwisePointwise(ops, readers, output, batchScale);

  // Liveness: a value lives from the first op that writes it (a concatenation: its first part) to its last
  // reader. Buffers are reused smallest-fit; the model's output goes straight to the caller's array.
  const home = (o: PlanOp) => o.into?.value ?? o.out;
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  ops.forEach((o, k) => {
    if (!first.has(home(o))) first.set(home(o), k);
    for (const v of o.ins) last.set(v, k);
  });
  last.set(output, ops.length);
  const bufferSizes: number[] = [];
  const free: number[] = [];
  const slot = new Map<number, number>([[0, -1], [output, -2]]);
  const dying = new Map<number, number[]>();
  for (const [v, k] of last) if (v !== 0 && v !== output) dying.set(k, [...(dying.get(k) ?? []), v]);
  const handedOver = new Set<number>();
  // A residual sum whose summand this op reads last is written over it (native gemm.h: each tile reads its addend
  // just before its store, else the summand is copied first). The sum's pass over memory then reads and writes
  // the same lines: ResNet18 at batch 32, in one process alternating, its 32x32 convolutions with the sum 5.7 ->
  // 5.2-5.4 ms, the 1x1 stride-2 shortcuts 0.70 -> 0.46-0.53. The summand's buffer, handed over, is not freed.
  const summandBuffer = (o: PlanOp, k: number): number | undefined => {
    const s = o.residual ? o.ins[1] : undefined;
    if (s === undefined || s === 0 || s === o.ins[0] || o.into || last.get(s) !== k || sizes[s] !== sizes[home(o)]) return undefined;
    const b = slot.get(s);
    return b !== undefined && b >= 0 ? b : undefined;
  };
  ops.forEach((o, k) => {
    const v = home(o);
    if (!slot.has(v) && first.get(v) === k) {
      let b = summandBuffer(o, k);
      if (b !== undefined) {
        handedOver.add(o.ins[1]);
      } else {
        const need = sizes[v];
        free.sort((x, y) => bufferSizes[x] - bufferSizes[y]);
        let at = free.findIndex((f) => bufferSizes[f] >= need);
        if (at < 0 && free.length > 0) at = free.length - 1;
        if (at >= 0) {
          b = free.splice(at, 1)[0];
          bufferSizes[b] = Math.max(bufferSizes[b], need);
        } else {
          b = bufferSizes.length;
          bufferSizes.push(need);
        }
      }
      slot.set(v, b);
      if (!last.has(v)) dying.set(k, [...(dying.get(k) ?? []), v]);
    }
    for (const d of dying.get(k) ?? []) {
      if (handedOver.has(d)) continue;
      const b = slot.get(d);
      if (b !== undefined && b >= 0) free.push(b);
    }
  });

  const consts: Float32Array[] = [];
  const constIndex = new Map<Float32Array, number>();
  const ownedConsts = new Set<Float32Array>();
  for (const o of ops) {
    if (o.ownsWeights && o.consts[0]) ownedConsts.add(o.consts[0]);
    if (o.op === OP.depthwisePointwise && o.ownsPointwise && o.consts[2]) ownedConsts.add(o.consts[2]);
  }
  const code: number[] = [];
  const opCounts: Record<string, number> = {};
  const opNames: string[] = [];
  const names = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));
  for (const o of ops) {
    opCounts[names[o.op]] = (opCounts[names[o.op]] ?? 0) + 1;
    // The first number of every op's shape but a binary one (whose first is its kind) counts the batch.
    const lead = o.op === OP.binary ? o.ints[0] : o.ints[0] * batchScale;
    const geo = o.op <= OP.depthwise || o.op === OP.maxPool || o.op === OP.avgPool ? ` ${lead}x${o.ints[1]}x${o.ints[2]}x${o.ints[3]}>${o.ints[16]} k${o.ints[4]}s${o.ints[6]}`
      : o.op === OP.depthwisePointwise ? ` ${lead}x${o.ints[1]}x${o.ints[2]}x${o.ints[3]} k${o.ints[4]}s${o.ints[6]}${o.ints[19] ? ` +${Object.keys(ACT)[o.ints[19]]}` : ''}>${o.ints[18]}`
      : ` ${[lead, ...o.ints.slice(1, 3)].join('x')}`;
    opNames.push(`${names[o.op]}${geo}${o.residual ? ' +sum' : ''}${o.act ? ` +${Object.keys(ACT)[o.act]}` : ''}${o.into ? ' (in place)' : ''}`);
    const outSlot = slot.get(home(o));
    if (outSlot === undefined) throw new Error('inference plan: a value without a buffer');
    const ld = o.into ? o.into.width : o.op === OP.dense ? o.ints[2] : o.op === OP.conv ? o.ints[16] : o.op === OP.depthwisePointwise ? o.ints[18] : 0;
    code.push(o.op, o.act, outSlot, o.into?.offset ?? 0, ld, o.ins.length);
    for (const v of o.ins) {
      const b = slot.get(v);
      if (b === undefined) throw new Error('inference plan: an input without a buffer');
      code.push(b, 0);
    }
    code.push(o.ints.length, ...o.ints, o.consts.length);
    for (const c of o.consts) {
      if (!c) {
        code.push(-1);
        continue;
      }
      let i = constIndex.get(c);
      if (i === undefined) constIndex.set(c, (i = consts.push(c) - 1));
      code.push(i);
    }
  }
  const owned = Uint8Array.from(consts, (c) => (ownedConsts.has(c) ? 1 : 0));
  return { code: Int32Array.from(code), consts, owned, bufferSizes, inputSize: sizes[0], outputSize: sizes[output], opCounts, opNames, made: made.arrays };
}
