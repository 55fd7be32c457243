/** What the addon exports (native/addon.cc, native/addon_elementwise.cc), as TypeScript sees it: types only. */
export interface NativeAddon {
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
  /** bias [outC] or null: added in the GEMM's epilogue. */
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, g: Int32Array, bias?: Float32Array | null): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Int32Array): void;
  /**
   * Test-only: the inference forward pass conv2dEx (native/kernels.h). y holds n*oh*ow rows `ldy` floats apart,
   * of which outC are written; then y = act((y + bias) + addend). act: 0 linear, 1 relu, 2 relu6, 3 sigmoid,
   * 4 tanh. pack: the kernel packed first, as an inference plan packs it (conv2dPack). addend: a residual
   * summand, dense [n*oh*ow, outC].
   */
  convForwardEx(x: Float32Array, w: Float32Array, y: Float32Array, g: Int32Array, ldy: number, bias: Float32Array | null, act: number, pack?: boolean, addend?: Float32Array | null): void;
  /** Test-only: depthwiseConv2dEx, the depthwise forward pass with the epilogue (as convForwardEx). */
  depthwiseForwardEx(x: Float32Array, w: Float32Array, y: Float32Array, g: Int32Array, bias: Float32Array | null, act: number, unused?: undefined, addend?: Float32Array | null): void;
  depthwiseConv2d(x: Float32Array, w: Float32Array, y: Float32Array, g: Int32Array): void;
  depthwiseConv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Int32Array): void;
  depthwiseConv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Int32Array): void;
  maxPool(x: Float32Array, y: Float32Array, g: Int32Array): void;
  avgPool(x: Float32Array, y: Float32Array, g: Int32Array): void;
  maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, g: Int32Array): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, g: Int32Array): void;
  globalAvgPool(x: Float32Array, y: Float32Array, n: number, hw: number, c: number): void;
  globalMaxPool(x: Float32Array, y: Float32Array, n: number, hw: number, c: number): void;
  globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, n: number, hw: number, c: number): void;
  globalMaxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number, hw: number, c: number): void;
  /** activation: 0 linear, 1 relu, 2 relu6 (fused after the normalisation). */
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, c: number, eps: number, activation: number): void;
  /** beta: read only when an activation is fused (its input is recomputed from x). */
  batchNormTrainBackward(x: Float32Array, dy: Float32Array, beta: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, c: number, eps: number, activation: number): void;
  channelAffine(x: Float32Array, scale: Float32Array, shift: Float32Array, y: Float32Array, c: number, activation: number): void;
  biasAdd(x: Float32Array, bias: Float32Array, y: Float32Array, c: number): void;
  sumRows(x: Float32Array, y: Float32Array, c: number): void;
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out = parts[0] + parts[1] + ... (2 to 8 parts of out's length), added left to right. */
  addN(parts: Float32Array[], out: Float32Array): void;
  sub(a: Float32Array, b: Float32Array, out: Float32Array): void;
  mul(a: Float32Array, b: Float32Array, out: Float32Array): void;
  scale(a: Float32Array, s: number, out: Float32Array): void;
  sum(a: Float32Array): number;
  sumSquares(a: Float32Array): number;
  allFinite(a: Float32Array): boolean;
  dropout(x: Float32Array, rate: number, seed: number, out: Float32Array): void;
  activation(kind: number, x: Float32Array, y: Float32Array): void;
  activationBackward(kind: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  softmax(x: Float32Array, y: Float32Array, c: number): void;
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, c: number): void;
  /** dst row i = src row indices[i] (rows of rowLength); throws on an index outside src or a short dst. */
  gatherRows(src: Float32Array, rowLength: number, indices: Int32Array, dst: Float32Array): void;
  copyRows(src: Float32Array, srcOffset: number, srcStride: number, srcBlockStride: number, dst: Float32Array, dstOffset: number, dstStride: number, dstBlockStride: number, blocks: number, rows: number, width: number): void;
  adamUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, alpha: number, beta1: number, beta2: number, epsilon: number): void;
  sgdUpdate(param: Float32Array, grad: Float32Array, velocity: Float32Array | null, lr: number, momentum: number, nesterov: boolean): void;
  /** FP32 FMA peak in GFLOP/s over `threads` pool threads for `milliseconds` (native/peak.cc). */
  fmaPeak(milliseconds: number, threads: number): number;
  /** An inference plan (native/plan.cc): op records, constants (copied), buffer sizes in floats. */
  planCreate(code: Int32Array, consts: Float32Array[], bufferSizes: number[], inputSize: number, outputSize: number, owned?: Uint8Array): NativePlanHandle;
  /** With times (one per op), adds each op's seconds to it. */
  planRun(plan: NativePlanHandle, x: Float32Array, y: Float32Array, times?: Float64Array): void;
  info(): NativeInfo;
  /** Bytes from the start of buffer's memory to its first 64-byte boundary (0-60, a multiple of 4). */
  alignOffset(buffer: ArrayBuffer): number;
  setThreads(n: number): void;
  setIsa(isa: string): boolean;
}

/** An opaque native plan (freed by the garbage collector). */
export type NativePlanHandle = { readonly __nativePlan: unique symbol };

export interface NativeInfo {
  /** Kernels in use: 'avx512' | 'avx2' | 'portable'. */
  isa: string;
  /** The best this CPU supports. */
  bestIsa: string;
  threads: number;
  /** Winograd F(2x2, 3x3) for stride-1 3x3 convolutions: on unless CONVKIT_WINOGRAD=0 at start-up. */
  winograd: boolean;
}
