import { Labels, categoricalCrossentropy, meanSquaredError, sparseCategoricalCrossentropy } from '../ops/losses.js';
import { Tensor } from '../tensor/tensor.js';

/** Targets: integer labels for the sparse losses, a tensor (one-hot or values) for the others. */
export type Targets = Int32Array | Tensor;
export type LossFn = (yTrue: Targets, yPred: Tensor) => Tensor;
export type LossName = 'sparse_categorical_crossentropy' | 'categorical_crossentropy' | 'mean_squared_error' | 'mse';
export type LossLike = LossName | { name: LossName; fromLogits?: boolean } | LossFn;

function asTensor(who: string, y: Targets): Tensor {
  if (!(y instanceof Tensor)) throw new Error(`${who}: argument 'yTrue' expected a tensor of targets, received integer labels (use sparse_categorical_crossentropy)`);
  return y;
}

function asLabels(y: Targets): Labels {
  if (y instanceof Tensor) return Int32Array.from(y.data);
  return y;
}

/** Resolves Keras's loss names (snake_case or camelCase) and options into a function. */
export function getLoss(loss: LossLike): LossFn {
  if (typeof loss === 'function') return loss;
  const { name, fromLogits = false } = typeof loss === 'string' ? { name: loss } : loss;
  const key = name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  switch (key) {
    case 'sparse_categorical_crossentropy':
      return (y, p) => sparseCategoricalCrossentropy(asLabels(y), p, { fromLogits });
    case 'categorical_crossentropy':
      return (y, p) => categoricalCrossentropy(asTensor('categorical_crossentropy', y), p, { fromLogits });
    case 'mean_squared_error':
    case 'mse':
      return (y, p) => meanSquaredError(asTensor('mean_squared_error', y), p);
    default:
      throw new Error(`compile: argument 'loss' expected one of sparse_categorical_crossentropy, categorical_crossentropy, mean_squared_error, received '${name}'`);
  }
}

/** Number of rows whose arg-max equals the label (or the target's arg-max): accuracy's numerator. */
export function countCorrect(yTrue: Targets, yPred: Tensor): number {
  const c = yPred.shape[yPred.rank - 1];
  const rows = yPred.size / c;
  const argmax = (data: ArrayLike<number>, r: number): number => {
    let best = 0;
    for (let j = 1; j < c; j++) if (data[r * c + j] > data[r * c + best]) best = j;
    return best;
  };
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const label = yTrue instanceof Tensor ? (yTrue.size === rows ? yTrue.data[r] : argmax(yTrue.data, r)) : yTrue[r];
    if (argmax(yPred.data, r) === label) correct++;
  }
  return correct;
}

export const METRICS = ['accuracy', 'acc', 'sparse_categorical_accuracy', 'categorical_accuracy'] as const;
export type MetricName = (typeof METRICS)[number];

export function checkMetrics(metrics: readonly string[]): MetricName[] {
  for (const m of metrics) {
    if (!METRICS.includes(m as MetricName)) throw new Error(`compile: argument 'metrics' expected entries among ${METRICS.join(', ')}, received '${m}'`);
  }
  return metrics as MetricName[];
}
