import { gradients, noGrad } from '../autograd/tape.js';
import { BufferArena, withArena } from '../backend/arena.js';
import { getBackend } from '../backend/index.js';
import { Layer, setLayerOutputHook } from '../layers/layer.js';
import type { Model } from '../models/model.js';
import { addScalars } from '../ops/elementwise.js';
import { globalRandom } from '../tensor/random.js';
import { FloatArray, Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';
import { LossFn, Targets, countCorrect } from './losses.js';
import type { Optimizer } from './optimizers.js';

/** Training stopped because a value went NaN or infinite; the model keeps its last finite weights. */
export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

const allFinite = (a: FloatArray): boolean => getBackend(a).allFinite(a);

/** Loss of a batch: the data loss plus every regularization penalty, as Keras reports it. */
export function totalLoss(model: Model, loss: LossFn, y: Targets, out: Tensor): Tensor {
  const data = loss(y, out);
  const penalties = model.regularizationLosses();
  return penalties.length > 0 ? addScalars([data, ...penalties]) : data;
}

/** One arena per model: its steps allocate the same sizes in the same order (src/backend/arena.ts). */
const arenas = new WeakMap<Model, BufferArena>();

/**
 * One optimizer step: forward in training mode, loss, backward, update. Nothing is updated when the loss or a
 * gradient is not finite: a NonFiniteError names the first layer whose output (or gradient) went bad.
 *
 * Activations and gradients come from the model's arena and go back to it when the step ends: only numbers
 * leave this function, and what persists (weights, optimizer slots, moving statistics) is updated in place.
 * The optimizer runs outside the arena so that slots it creates on its first step are ordinary arrays.
 */
/**
 * Data-parallel hook (src/train/parallel.ts): turns this process's gradients, loss and correct count into the
 * global batch's, in place for the gradients, before the optimizer sees them.
 */
export type StepReduce = ((grads: FloatArray[], loss: number, correct: number) => { loss: number; correct: number }) & {
  /** Called during backward as soon as vars[i]'s gradient is final (checked finite), to start reducing it. */
  onReady?: (i: number, grad: FloatArray) => void;
};

export function trainStep(model: Model, loss: LossFn, optimizer: Optimizer, vars: readonly Variable[], x: Tensor, y: Targets, where: string, reduce?: StepReduce): { loss: number; correct: number } {
  let arena = arenas.get(model);
  if (!arena) arenas.set(model, (arena = new BufferArena()));
  const made = Variable.created;
  try {
    const { out, value, grads } = withArena(arena, () => {
      const out = model.apply(x, { training: true });
      const total = totalLoss(model, loss, y, out);
      const value = total.item();
      if (!Number.isFinite(value)) throw new NonFiniteError(`${where}: loss is ${value}; ${firstNonFiniteLayer(model, x)}`);
      const notFinite = (i: number) => new NonFiniteError(`${where}: the gradient of '${vars[i].name}' is not finite (loss ${value}); ${firstNonFiniteLayer(model, x)}`);
      // A gradient handed to onReady may be being reduced in the background: checked before, never after.
      const checked = new Uint8Array(vars.length);
      const onReady = reduce?.onReady;
      const grads = gradients(total, vars, undefined, onReady ? (i, g) => {
        if (!allFinite(g.data)) throw notFinite(i);
        checked[i] = 1;
        onReady(i, g.data);
      } : undefined);
      grads.forEach((g, i) => {
        if (!checked[i] && !allFinite(g.data)) throw notFinite(i);
      });
      return { out, value, grads };
    });
    const correct = noGrad(() => countCorrect(y, out));
    const r = reduce ? reduce(grads.map((g) => g.data), value, correct) : { loss: value, correct };
    optimizer.applyGradients(vars.map((v, i) => [v, grads[i]]));
    return r;
  } finally {
    // Weights built lazily inside the first step were lent by the arena: they stay theirs.
    arena.reclaim(Variable.created === made ? undefined : new Set(model.weights.map((w) => w.data)));
  }
}

/**
 * Re-runs the batch with a hook on every layer output to find where values first stop being finite. Moving
 * statistics and the random state are restored afterwards, so diagnosing changes nothing.
 */
function firstNonFiniteLayer(model: Model, x: Tensor): string {
  const saved = model.nonTrainableWeights.map((w) => w.data.slice());
  const rng = globalRandom.getState();
  let first: Layer | null = null;
  setLayerOutputHook((layer, y) => {
    if (!first && !y.isPlaceholder && !allFinite(y.data)) first = layer;
  });
  try {
    noGrad(() => model.apply(x, { training: true }));
  } finally {
    setLayerOutputHook(null);
    model.nonTrainableWeights.forEach((w, i) => w.assign(saved[i]));
    globalRandom.setState(rng);
  }
  const bad = model.weights.find((w) => !allFinite(w.data));
  const found = first as Layer | null;
  if (found) return `first non-finite output at ${found.who}${bad ? ` (weight '${bad.name}' is not finite)` : ''}`;
  return 'every layer output is finite, so the loss itself overflowed (check the labels and the loss settings)';
}
