import { l2Penalty } from '../ops/losses.js';
import { add, scale, sum } from '../ops/elementwise.js';
import { Tensor } from '../tensor/tensor.js';
import { record } from '../autograd/tape.js';

/** A penalty added to the training loss for one weight. */
export interface Regularizer {
  readonly config: { className: string; l1?: number; l2?: number };
  penalty(w: Tensor): Tensor;
}

/** keras.regularizers.L2: factor * sum(w^2); Keras's default factor is 0.01. */
export function l2(factor = 0.01): Regularizer {
  return { config: { className: 'L2', l2: factor }, penalty: (w) => l2Penalty(w, factor) };
}

/** keras.regularizers.L1: factor * sum(|w|). */
export function l1(factor = 0.01): Regularizer {
  return {
    config: { className: 'L1', l1: factor },
    penalty: (w) => {
      const abs = Tensor.zeros(w.shape, w.dtype);
      for (let i = 0; i < w.size; i++) abs.data[i] = Math.abs(w.data[i]);
      // d|w|/dw = sign(w); recorded as its own op so the absolute value stays differentiable.
      const y = record(abs, 'abs', [w], (dy) => {
        const g = Tensor.zeros(w.shape, w.dtype);
        for (let i = 0; i < w.size; i++) g.data[i] = dy.data[i] * Math.sign(w.data[i]);
        return [g];
      });
      return scale(sum(y), factor);
    },
  };
}

/** keras.regularizers.L1L2: l1 * sum(|w|) + l2 * sum(w^2) (Keras 2 files write every L1 or L2 this way). */
export function l1l2(l1Factor = 0, l2Factor = 0): Regularizer {
  if (l1Factor === 0) return { ...l2(l2Factor), config: { className: 'L1L2', l1: 0, l2: l2Factor } };
  if (l2Factor === 0) return { ...l1(l1Factor), config: { className: 'L1L2', l1: l1Factor, l2: 0 } };
  const a = l1(l1Factor);
  const b = l2(l2Factor);
  return { config: { className: 'L1L2', l1: l1Factor, l2: l2Factor }, penalty: (w) => add(a.penalty(w), b.penalty(w)) };
}
