import type { Backend, FloatArray } from '../backend.js';
import { getBackend, withBackend } from '../index.js';

/**
 * Tracing: one inference forward pass run through a recording backend. Every backend call is computed as
 * usual (the model code sees real values) and written down: which method, which arrays it read, which array it
 * returned, its other arguments. Arrays are known by identity: the input, an output of an earlier call, or
 * neither, a constant (a weight, or per-channel numbers derived from weights, such as batch norm's folded
 * scale and shift). Any model whose forward pass goes through the backend traces, whatever its code
 * (Sequential, functional, subclassed composite blocks), which is why the plan is built here and not from
 * the layer graph.
 */

/** A value of the traced computation: produced by a step (or the input, id 0), or a constant. */
export type Ref = { kind: 'value'; id: number } | { kind: 'const'; data: Float32Array };

export interface TraceStep {
  op: string;
  /** Array arguments in the order the Backend method takes them (arrays of arrays flattened). */
  arrays: Ref[];
  /** The other arguments, as passed. */
  args: unknown[];
  /** The value id of what the call returned. */
  out: number;
}

export interface Trace {
  steps: TraceStep[];
  /** Floats of each value (index = id); id 0 is the input. */
  sizes: number[];
  /** The value the traced function returned. */
  output: number;
}

/** The backend methods an inference pass may call, and which of their arguments are arrays. */
const TRACED = new Set([
  'conv2d', 'depthwiseConv2d', 'matmul', 'biasAdd', 'channelAffine', 'activation', 'maxPool', 'avgPool',
  'globalAvgPool', 'globalMaxPool', 'add', 'addN', 'concatLastAxis', 'softmax', 'pad2d', 'mul', 'sub', 'scale',
]);

export class Untraceable extends Error {}

/**
 * Runs fn(input) with the recording backend active and returns what it returned and the trace. The input's
 * array must be float32. Methods outside TRACED, and arrays that reach a data position without being the
 * input or a step's output (values computed in JavaScript from activations), make the trace fail with
 * Untraceable: such a model runs layer by layer.
 */
export function traceForward(input: Float32Array, fn: () => FloatArray): { result: FloatArray; trace: Trace } {
  const base = getBackend(input);
  const ids = new Map<FloatArray, number>([[input, 0]]);
  const sizes = [input.length];
  const steps: TraceStep[] = [];
  let failure: string | null = null;

  const ref = (a: FloatArray): Ref => {
    const id = ids.get(a);
    if (id !== undefined) return { kind: 'value', id };
    if (!(a instanceof Float32Array)) throw new Untraceable('a float64 constant');
    return { kind: 'const', data: a };
  };
  const recording = new Proxy(base, {
    get(target, key, receiver) {
      const member = Reflect.get(target, key, receiver) as unknown;
      if (typeof member !== 'function' || key === 'name') return member;
      return (...callArgs: unknown[]) => {
        const result = (member as (...a: unknown[]) => unknown).apply(target, callArgs);
        if (failure) return result;
        const op = String(key);
        if (!TRACED.has(op)) {
          failure = `backend method '${op}'`;
          return result;
        }
        const arrays: Ref[] = [];
        const args: unknown[] = [];
        for (const a of callArgs) {
          if (a instanceof Float32Array || a instanceof Float64Array) arrays.push(ref(a));
          else if (Array.isArray(a) && a.length > 0 && a.every((p) => p instanceof Float32Array)) arrays.push(...(a as Float32Array[]).map(ref));
          else args.push(a);
        }
        if (!(result instanceof Float32Array)) {
          failure = `backend method '${op}' returned no float32 array`;
          return result;
        }
        const out = sizes.length;
        ids.set(result, out);
        sizes.push(result.length);
        steps.push({ op, arrays, args, out });
        return result;
      };
    },
  }) as Backend;

  const result = withBackend(recording, fn);
  if (failure) throw new Untraceable(failure);
  const output = ids.get(result);
  if (output === undefined) throw new Untraceable('the output is not a traced value');
  return { result, trace: { steps, sizes, output } };
}
