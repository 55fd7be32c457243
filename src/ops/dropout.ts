import { Random, globalRandom } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { mul } from './elementwise.js';

/**
 * Inverted dropout: each value is kept with probability 1 - rate and scaled by 1 / (1 - rate), so inference
 * needs no rescaling. The mask comes from the seeded generator (same seed, same masks).
 */
export function dropout(x: Tensor, rate: number, rng: Random = globalRandom): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: argument 'rate' expected a number in [0, 1), received ${rate}`);
  if (rate === 0 || x.isPlaceholder) return x;
  const mask = Tensor.zeros(x.shape, x.dtype);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = rng.uniform() >= rate ? keep : 0;
  return mul(x, mask);
}
