/**
 * Float64 central-difference gradient check, with PyTorch's gradcheck conventions
 * (torch/autograd/gradcheck.py): eps 1e-6, and an element passes when |analytic - numeric| <= atol + rtol * |numeric|
 * with atol 1e-5, rtol 1e-3.
 *
 * The function may return a tensor of any shape; it is reduced to the scalar sum(out * r) with a fixed random
 * weighting r, so every output element matters (a plain sum would hide errors that cancel, e.g. in softmax,
 * whose outputs always sum to one). Inputs are perturbed in place, one element at a time, so layer weights
 * (Variables) are checked exactly like plain inputs. The function must be deterministic: reseed any
 * generator it uses (dropout) inside it.
 */
import { AssertionError } from 'node:assert';
import { gradients, noGrad } from '../../src/autograd/tape.js';
import { mul, sum } from '../../src/ops/elementwise.js';
import { Random } from '../../src/tensor/random.js';
import { formatShape } from '../../src/tensor/shape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/tensor/variable.js';
import { coordOf } from './tensors.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the weighting r. */
  seed?: number;
  /** Names for the report, by position; Variables default to their own name, others to `input[i]`. */
  names?: readonly string[];
  /** Fail when an input's numeric gradient is all zero, since the check would then prove nothing. Default true. */
  requireNonZero?: boolean;
  /** Inputs (by name) whose gradient may be identically zero, e.g. a conv bias feeding a training-mode BN. */
  allowZero?: RegExp;
}

export interface GradMismatch {
  input: string;
  shape: readonly number[];
  index: number;
  coord: number[];
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  /** Elements compared, over all inputs. */
  checked: number;
  maxAbsDiff: number;
}

/** Thrown on failure: the message lists the first mismatches; `mismatches` holds all of them. */
export class GradcheckError extends AssertionError {
  constructor(message: string, readonly mismatches: GradMismatch[]) {
    super({ message });
  }
}

function weighted(out: Tensor, r: Tensor): number {
  let s = 0;
  for (let i = 0; i < out.data.length; i++) s += out.data[i] * r.data[i];
  return s;
}

export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 1234, requireNonZero = true } = opts;
  const names = inputs.map((t, i) => opts.names?.[i] ?? (t instanceof Variable ? t.name : `input[${i}]`));
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: '${names[i]}' must be float64, received ${t.dtype}`);
  });
  const saved = inputs.map((t) => t.requiresGrad);
  try {
    for (const t of inputs) t.requiresGrad = true;

    // Analytic: one backward pass of sum(out * r).
    const out = f(...inputs);
    if (out.dtype !== 'float64') throw new Error(`gradcheck: the function must return float64, received ${out.dtype}`);
    const r = Tensor.randomUniform(out.shape, -1, 1, new Random(seed), 'float64');
    const analytic = gradients(sum(mul(out, r)), inputs);
    const base = weighted(out, r);

    // Numeric: central differences, without recording.
    const evaluate = (): number => noGrad(() => weighted(f(...inputs), r));
    const again = evaluate();
    if (Math.abs(again - base) > 1e-12 * Math.max(1, Math.abs(base))) {
      throw new Error(`gradcheck: the function is not deterministic (${base} then ${again}); reseed its generators inside it`);
    }
    const mismatches: GradMismatch[] = [];
    let checked = 0;
    let maxAbsDiff = 0;
    inputs.forEach((t, k) => {
      const g = analytic[k];
      if (g.size !== t.size) throw new Error(`gradcheck: gradient of '${names[k]}' has shape ${formatShape(g.shape)}, expected ${formatShape(t.shape)}`);
      let anyNonZero = false;
      for (let i = 0; i < t.size; i++) {
        const v = t.data[i];
        t.data[i] = v + eps;
        const plus = evaluate();
        t.data[i] = v - eps;
        const minus = evaluate();
        t.data[i] = v;
        const numeric = (plus - minus) / (2 * eps);
        const a = g.data[i];
        if (numeric !== 0) anyNonZero = true;
        const diff = Math.abs(a - numeric);
        checked++;
        if (!(diff <= maxAbsDiff)) maxAbsDiff = diff;
        if (!(diff <= atol + rtol * Math.abs(numeric))) {
          mismatches.push({ input: names[k], shape: t.shape, index: i, coord: coordOf(t.shape, i), analytic: a, numeric });
        }
      }
      if (requireNonZero && !anyNonZero && !opts.allowZero?.test(names[k])) {
        throw new GradcheckError(`gradcheck: numeric gradient of '${names[k]}' ${formatShape(t.shape)} is all zero: the check proves nothing`, []);
      }
    });
    if (mismatches.length > 0) {
      const lines = mismatches.slice(0, 5).map(
        (m) => `  '${m.input}' ${formatShape(m.shape)} flat index ${m.index}, coordinate [${m.coord.join(', ')}]: analytic ${m.analytic}, numeric ${m.numeric}`,
      );
      throw new GradcheckError(`gradcheck failed: ${mismatches.length} of ${checked} elements differ (atol ${atol}, rtol ${rtol})\n${lines.join('\n')}`, mismatches);
    }
    return { checked, maxAbsDiff };
  } finally {
    inputs.forEach((t, i) => (t.requiresGrad = saved[i]));
  }
}
