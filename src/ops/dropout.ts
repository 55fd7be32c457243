import { record } from '../autograd/tape.js';
import { Random, globalRandom } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { backendFor, tensorOf } from './util.js';

/**
 * Inverted dropout: each value is kept with probability 1 - rate and scaled by 1 / (1 - rate), so inference
 * needs no rescaling. One draw from the seeded generator picks the mask (same seed, same masks); the mask
 * itself is a function of that draw and the element's index (Backend.dropout), so the backward pass,
 * dx = dy * mask, regenerates it rather than keeping an array the size of x.
 */
export function dropout(x: Tensor, rate: number, rng: Random = globalRandom): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: argument 'rate' expected a number in [0, 1), received ${rate}`);
  if (rate === 0 || x.isPlaceholder) return x;
  const seed = rng.nextUint32();
  const be = backendFor(x);
  const y = tensorOf(be.dropout(x.data, rate, seed), x.shape);
  return record(y, 'dropout', [x], (dy) => [tensorOf(be.dropout(dy.data, rate, seed), x.shape)]);
}
