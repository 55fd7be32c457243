import { l2Penalty } from '../ops/losses.js';
import { scale, sum } from '../ops/elementwise.js';
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
