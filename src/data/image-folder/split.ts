/**
 * Keras's global shuffle and validation split of the listed files (keras/src/utils/dataset_utils.py:
 * check_validation_split_arg, index_directory, get_training_or_validation_split):
 *   shuffle   when `shuffle` is true the whole list is permuted by np.random.RandomState(seed).shuffle, before
 *             any split; ported bit for bit in tensor/numpy-random.ts, so the same seed picks the same files.
 *   split     numVal = int(validationSplit * N) (floor); training = the FIRST N - numVal files of that list,
 *             validation = the LAST numVal. Both subsets come from the same seeded permutation, so they are
 *             complementary. With shuffle false there is no permutation: validation is the tail of the listing,
 *             i.e. the last class(es) in sorted order, as in Keras.
 *   checks    validationSplit in (0, 1); subset given exactly when validationSplit is; a split with shuffle and
 *             no seed is refused (each call would draw its own seed and the subsets would overlap).
 * Differences: Keras returns an empty training set (samples[:-0]) or every file as validation (samples[-0:])
 * when numVal is 0; that is an error here.
 */
import { NumpyRandomState } from '../../tensor/numpy-random.js';

export type Subset = 'training' | 'validation' | 'both';

export interface SplitArgs {
  validationSplit?: number;
  subset?: Subset;
  shuffle: boolean;
  seed?: number;
}

/** Keras's check_validation_split_arg, with its messages. */
export function checkSplitArgs(args: SplitArgs, who: string): void {
  const { validationSplit, subset, shuffle, seed } = args;
  if (validationSplit !== undefined && !(validationSplit > 0 && validationSplit < 1)) {
    throw new Error(`${who}: argument 'validationSplit' expected a number between 0 and 1 (exclusive), received ${validationSplit}`);
  }
  if ((validationSplit !== undefined) !== (subset !== undefined)) {
    throw new Error(`${who}: if 'subset' is set, 'validationSplit' must be set, and inversely; received validationSplit=${validationSplit}, subset=${subset}`);
  }
  if (subset !== undefined && !['training', 'validation', 'both'].includes(subset)) {
    throw new Error(`${who}: argument 'subset' expected 'training', 'validation' or 'both', received '${String(subset)}'`);
  }
  if (validationSplit !== undefined && shuffle && seed === undefined) {
    throw new Error(
      `${who}: when using 'validationSplit' and shuffling the data, you must provide a 'seed' argument, ` +
        'to make sure that there is no overlap between the training and validation subset',
    );
  }
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw new Error(`${who}: argument 'seed' expected an integer between 0 and 2**32 - 1 (numpy's RandomState range), received ${seed}`);
  }
}

/** 0..n-1, permuted as np.random.RandomState(seed).shuffle(list(range(n))) when a seed is given. */
export function listOrder(n: number, seed: number | null): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (seed !== null) new NumpyRandomState(seed).shuffle(order);
  return order;
}

/** The training and/or validation part of the (shuffled) list `order`, as Keras slices it. */
export function splitOrder(order: Int32Array, validationSplit: number, subset: Subset, who: string): { training?: Int32Array; validation?: Int32Array } {
  const n = order.length;
  const numVal = Math.floor(validationSplit * n);
  if (numVal === 0 || numVal === n) {
    throw new Error(
      `${who}: validationSplit ${validationSplit} of ${n} files leaves ${n - numVal} for training and ${numVal} for validation; ` +
        'both must be non-empty',
    );
  }
  const out: { training?: Int32Array; validation?: Int32Array } = {};
  if (subset !== 'validation') out.training = order.slice(0, n - numVal);
  if (subset !== 'training') out.validation = order.slice(n - numVal);
  return out;
}
