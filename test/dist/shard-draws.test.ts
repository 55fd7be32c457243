// A data-parallel shard's random draws are the rows of one process's draws for the whole batch (no MPI needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients } from '../../src/autograd/tape.js';
import { augmentPixels } from '../../src/data/augment.js';
import '../../src/index.js'; // the native backend, as users get it: float32 masks from the addon
import { dropout } from '../../src/ops/dropout.js';
import { sum } from '../../src/ops/elementwise.js';
import { Random } from '../../src/tensor/random.js';
import { BatchShard, withBatchShard } from '../../src/tensor/shard.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/tensor/variable.js';

// A global batch of 7 rows split as 2 ranks (3 + 4), 3 ranks (2 + 2 + 3) and an empty shard would be.
const SHARDS: [number, number][] = [[0, 3], [3, 4], [0, 2], [2, 2], [4, 3], [6, 1]];

/** The state of a generator seeded `seed` after `count` draws. */
function afterDraws(seed: number, count: number): ReturnType<Random['getState']> {
  const rng = new Random(seed);
  for (let i = 0; i < count; i++) rng.nextUint32();
  return rng.getState();
}

/** The rows [offset, offset + rows) of a [n, ...] array of `row` values per row. */
const rowsOf = (a: ArrayLike<number>, row: number, offset: number, rows: number): number[] => Array.from(a).slice(offset * row, (offset + rows) * row);

for (const dtype of ['float32', 'float64'] as const) {
  test(`dist: the dropout mask a shard draws is its rows of the global batch's mask, forward and backward (${dtype})`, () => {
    const shape = [7, 3, 2, 5];
    const row = 30;
    const x = Tensor.full(shape, 1, dtype);
    const global = dropout(x, 0.5, new Random(9)).data;
    const kept = Array.from(global).filter((v) => v !== 0).length;
    assert.ok(kept > 60 && kept < 150, `kept ${kept} of 210`);
    for (const [offset, rows] of SHARDS) {
      const shard: BatchShard = { offset, rows, total: 7 };
      const v = new Variable('x', x.data.slice(offset * row, (offset + rows) * row), [rows, 3, 2, 5]);
      const rng = new Random(9);
      const [y, dx] = withBatchShard(shard, () => {
        const y = dropout(v, 0.5, rng);
        return [y, gradients(sum(y), [v])[0]];
      });
      // x is all ones and dy is all ones: the forward values and the gradient are both the mask.
      assert.deepEqual(Array.from(y.data), rowsOf(global, row, offset, rows), `forward, rows ${offset}..${offset + rows}`);
      assert.deepEqual(Array.from(dx.data), rowsOf(global, row, offset, rows), `backward, rows ${offset}..${offset + rows}`);
      // One draw, as one process makes for the whole batch: the generator goes on alike.
      assert.deepEqual(rng.getState(), afterDraws(9, 1));
    }
  });
}

test('dist: a shard augments its images as one process augments those rows of the global batch, and leaves the generator where one process would', () => {
  const [n, h, w, c] = [7, 5, 6, 2];
  const row = h * w * c;
  const pixels = Float32Array.from({ length: n * row }, (_, i) => i + 1);
  // pad 2 + flip: 3 draws per image; pad alone: 2; flip alone: 1.
  for (const options of [{ padding: 2, horizontalFlip: true }, { padding: 2 }, { horizontalFlip: true }]) {
    const perImage = (options.padding ? 2 : 0) + (options.horizontalFlip ? 1 : 0);
    const global = pixels.slice();
    augmentPixels(global, n, h, w, c, options, new Random(4));
    assert.notDeepEqual(Array.from(global), Array.from(pixels), 'the batch was augmented');
    for (const [offset, rows] of SHARDS) {
      const mine = pixels.slice(offset * row, (offset + rows) * row);
      const rng = new Random(4);
      withBatchShard({ offset, rows, total: n }, () => augmentPixels(mine, rows, h, w, c, options, rng));
      assert.deepEqual(Array.from(mine), rowsOf(global, row, offset, rows), `${JSON.stringify(options)}, rows ${offset}..${offset + rows}`);
      assert.deepEqual(rng.getState(), afterDraws(4, n * perImage), `${JSON.stringify(options)}: generator after rows ${offset}..${offset + rows}`);
    }
  }
});

test('dist: a shard whose rows do not match the batch it is given is refused with the counts', () => {
  const shard = { offset: 2, rows: 3, total: 8 };
  assert.throws(() => withBatchShard(shard, () => dropout(Tensor.full([4, 2], 1), 0.5, new Random(1))), /dropout: under data-parallel training expected an input whose first axis is this process's 3 rows of the global batch of 8, received shape \(4, 2\)/);
  assert.throws(() => withBatchShard(shard, () => augmentPixels(new Float32Array(8), 2, 2, 2, 1, { horizontalFlip: true }, new Random(1))), /augment: under data-parallel training expected this process's 3 images of the global batch of 8, received 2/);
  assert.throws(() => withBatchShard({ offset: 6, rows: 3, total: 8 }, () => 0), /withBatchShard: expected rows \[offset, offset \+ rows\) inside a batch of 'total' rows, received offset 6, rows 3, total 8/);
});
