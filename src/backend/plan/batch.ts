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
  const scale = (a: number, b: number): number | null => {
    if (a === b) return a;
    if (b !== 2 * a) return null;
    const v = a * batch;
    return Number.isSafeInteger(v) ? v : null;
  };
  const code = new Int32Array(one.code.length);
  for (let i = 0; i < code.length; i++) {
    const v = scale(one.code[i], two.code[i]);
    if (v === null || v > 0x7fffffff) return null;
    code[i] = v;
  }
  const bufferSizes: number[] = [];
  for (let i = 0; i < one.bufferSizes.length; i++) {
    const v = scale(one.bufferSizes[i], two.bufferSizes[i]);
    if (v === null) return null;
    bufferSizes.push(v);
  }
  // Input and output hold whole samples, so they scale whatever they read.
  if (two.inputSize !== 2 * one.inputSize || two.outputSize !== 2 * one.outputSize) return null;
  return { ...one, code, bufferSizes, inputSize: one.inputSize * batch, outputSize: one.outputSize * batch };
}
