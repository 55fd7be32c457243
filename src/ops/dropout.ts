import { record } from '../autograd/tape.js';
import { dropoutSeedAt } from '../backend/index.js';
import { Random, globalRandom } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { batchShard } from '../tensor/shard.js';
import { Tensor } from '../tensor/tensor.js';
import { backendFor, tensorOf } from './util.js';

/**
 * Inverted dropout: each value is kept with probability 1 - rate and scaled by 1 / (1 - rate), so inference
 * needs no rescaling. One draw from the seeded generator picks the mask (same seed, same masks); the mask
 * itself is a function of that draw and the element's index (Backend.dropout), so the backward pass,
 * dx = dy * mask, regenerates it rather than keeping an array the size of x.
 *
 * Data-parallel (src/tensor/shard.ts): x is this rank's rows [offset, offset + rows) of the global batch; the
 * same one draw gives the global batch's mask, and the seed moved to the shard's first element gives its rows.
 */
export function dropout(x: Tensor, rate: number, rng: Random = globalRandom): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: argument 'rate' expected a number in [0, 1), received ${rate}`);
  if (rate === 0 || x.isPlaceholder) return x;
  const shard = batchShard();
  if (shard && x.shape[0] !== shard.rows) {
    throw new Error(`dropout: under data-parallel training expected an input whose first axis is this process's ${shard.rows} rows of the global batch of ${shard.total}, received shape ${formatShape(x.shape)}`);
  }
  const drawn = rng.nextUint32();
  const seed = shard ? dropoutSeedAt(drawn, shard.offset * (x.size / shard.rows)) : drawn;
  const be = backendFor(x);
  const y = tensorOf(be.dropout(x.data, rate, seed), x.shape);
  return record(y, 'dropout', [x], (dy) => [tensorOf(be.dropout(dy.data, rate, seed), x.shape)]);
}
