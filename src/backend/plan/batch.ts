import type { CompiledPlan } from './compile.js';

/**
 * A plan for a batch of B from the traces of 1 and 2 samples. Tracing runs the model layer by layer, and a
 * layer-by-layer pass keeps every activation of the batch until it ends (the arena lends each op a fresh
 * array): MobileNet's first predict at batch 32 peaked at 1.5 GB, 1.2 GB of it activations the plan, which
 * reuses a few buffers, never needs. Every op a plan runs treats the samples of a batch alike, so its code is
 * the same at any batch but for the numbers that count rows (the batch, rows of a product, lengths, buffer
 * sizes), which grow in proportion to it: those read n at one sample and 2n at two, and are n B at B. A number
 * that moved any other way (a model whose ops mix its samples) makes this null, and the caller traces the
 * whole batch as before; so does a plan whose first and last samples differ from the two-sample trace's.
 */
export function scaleCompiled(one: CompiledPlan, two: CompiledPlan, batch: number): CompiledPlan | null {
  if (one.code.length !== two.code.length || one.bufferSizes.length !== two.bufferSizes.length) return null;
  if (one.consts.length !== two.consts.length || one.consts.some((c, i) => c.length !== two.consts[i].length || one.owned[i] !== two.owned[i])) return null;
  // Each number of `a` (one sample) against `b` (two), at most `max` once scaled; null if any is not in proportion.
  const scaleAll = (a: ArrayLike<number>, b: ArrayLike<number>, max: number): number[] | null => {
    const out: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const v = a[i] === b[i] ? a[i] : b[i] === 2 * a[i] ? a[i] * batch : NaN;
      if (!(Number.isSafeInteger(v) && v <= max)) return null;
      out.push(v);
    }
    return out;
  };
  const code = scaleAll(one.code, two.code, 0x7fffffff);
  const bufferSizes = scaleAll(one.bufferSizes, two.bufferSizes, Number.MAX_SAFE_INTEGER);
  if (!code || !bufferSizes) return null;
  // Input and output hold whole samples, so they scale whatever they read.
  if (two.inputSize !== 2 * one.inputSize || two.outputSize !== 2 * one.outputSize) return null;
  return { ...one, code: Int32Array.from(code), bufferSizes, inputSize: one.inputSize * batch, outputSize: one.outputSize * batch };
}
