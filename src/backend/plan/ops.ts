/**
 * The vocabulary of inference plans shared by the compile steps (compile.ts: lowering and encoding; fuse.ts: the
 * fusion passes): op codes (native/plan.h documents the encoding), activation codes, the op record between steps,
 * and the weight arrays a compile makes.
 */

export const OP = {
  conv: 0, depthwise: 1, dense: 2, maxPool: 3, avgPool: 4, globalAvg: 5, globalMax: 6, add: 7,
  affine: 8, bias: 9, activation: 10, softmax: 11, concat: 12, pad: 13, binary: 14, scale: 15,
  depthwisePointwise: 16,
} as const;
export const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4 };
export const BINARY: Record<string, number> = { add: 0, sub: 1, mul: 2 };

export interface PlanOp {
  op: number;
  act: number;
  out: number;
  ins: number[];
  ints: number[];
  consts: (Float32Array | null)[];
  /** Set when this op writes a channel slice of a concatenation: its value id, column offset and width. */
  into?: { value: number; offset: number; width: number };
  /** Whether consts[0] is already this op's own copy (so folding may write into it). */
  ownsWeights?: boolean;
  /** A convolution that absorbed the residual sum after it: ins[1] is the other summand. */
  residual?: boolean;
  /** A depthwise-pointwise pair whose pointwise kernel (consts[2]) is its own copy. */
  ownsPointwise?: boolean;
}

/**
 * The weight arrays a compile makes (dense kernels transposed, batch norm folded in), in the order it makes
 * them. A compile that only needs the code (batch.ts: the same model traced at another batch) takes an earlier
 * compile's arrays instead, as they are, and changes none: two copies of a model's weights would otherwise be
 * garbage at once (VGG16's first predict at batch 32 had 116 MB of them).
 */
export class Made {
  readonly arrays: Float32Array[] = [];
  private next = 0;
  constructor(private readonly earlier?: readonly Float32Array[]) {}

  /** Whether the arrays are an earlier compile's (made and finished: not to be changed). */
  get reused(): boolean {
    return this.earlier !== undefined;
  }

  /** make(), or the earlier compile's array in its place (an empty one past its list: only identity counts). */
  take(make: () => Float32Array): Float32Array {
    const a = this.earlier ? (this.earlier[this.next++] ?? new Float32Array(0)) : make();
    this.arrays.push(a);
    return a;
  }
}
