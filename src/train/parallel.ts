import type { Model } from '../models/model.js';
import { setBatchNormSync } from '../ops/normalization.js';
import { globalRandom } from '../tensor/random.js';
import { withBatchShard } from '../tensor/shard.js';
import { FloatArray, Tensor } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import type { Logs } from './callbacks.js';
import type { LossFn } from './losses.js';
import type { Optimizer } from './optimizers.js';
import { DataSource, takeBatch } from './source.js';
import { StepReduce, trainStep } from './step.js';

/**
 * The one seam between training and data-parallel execution. `fit` sees N cooperating processes through this
 * interface only; src/dist implements it over MPI and registers it with `setDataParallel`. Nothing under
 * src/train knows how the numbers travel.
 *
 * Every method is collective: all ranks call it, in the same order, with arrays of the same length.
 */
export interface DataParallel {
  readonly rank: number;
  readonly size: number;
  /** In place: a[i] = sum over ranks, with the same bits on every rank and run to run. */
  allreduceSum(a: Float32Array | Float64Array): void;
  /**
   * Optional fused form of the gradient reduction: in place, arrays[k][i] = sum over ranks of fround(weight_r *
   * arrays_r[k][i]) and extra[i] = sum over ranks, in one collective call, with the same bits on every rank and
   * run to run (the MPI addon streams the arrays through its own buffers: no JavaScript packing).
   */
  reduceGradients?(arrays: Float32Array[], weight: number, extra?: Float64Array): void;
  /**
   * Optional: reduceGradients started in the background (returns true; the arrays must not be read or written
   * until waitReductions returns), or false where the transport cannot (then nothing was started). Reductions
   * run in the order posted; any other collective waits for them first.
   */
  reduceGradientsAsync?(arrays: Float32Array[], weight: number, extra?: Float64Array): boolean;
  waitReductions?(): void;
  /** In place: every rank's a becomes `root`'s. */
  broadcast(a: Float32Array | Float64Array | Int32Array, root: number): void;
}

let registered: DataParallel | null = null;

/** Makes every later `fit` data-parallel over `p` (null: back to one process). Called by src/dist. */
export function setDataParallel(p: DataParallel | null): void {
  registered = p;
}

/** The registered data-parallel group when it has more than one rank, else null. */
export function getDataParallel(): DataParallel | null {
  return registered && registered.size > 1 ? registered : null;
}

/**
 * DDP's default bucket size (torch/nn/parallel/distributed.py, bucket_cap_mb = 25); CONVKIT_BUCKET_MB sets
 * another (smaller buckets start reducing earlier in the backward pass, at more calls per step).
 */
const bucketBytes = (): number => (Number(process.env.CONVKIT_BUCKET_MB) > 0 ? Number(process.env.CONVKIT_BUCKET_MB) : 25) * 1024 * 1024;

/**
 * Averages gradients across ranks in a few fused buffers, DDP style: the variables are grouped once, in reverse
 * order (the order backward produces them), into buckets of at most 25 MB, and the buckets are always reduced in
 * the same order, so the summation pattern, and with a rank-order allreduce the bits, never change.
 *
 * Each rank's gradient is the mean over its shard of n_k samples; the global batch's mean gradient is
 * sum_k (n_k / n) g_k. Packing multiplies by n_k / n (1/N when the batch divides evenly), so the sum is the mean.
 *
 * Overlapped with backward where the transport can (DataParallel.reduceGradientsAsync): the tape reports each
 * weight's gradient as soon as it is final (`ready`), and a bucket is posted once all of it is, in bucket order,
 * so the reduction of the last layers' gradients runs while the first layers are still being differentiated.
 * The last bucket waits for the step's end, where it carries the loss and correct count. The same sums in the
 * same order as the synchronous path: the same bits.
 */
export class GradientReducer {
  /** buffer: the packing buffer of the JavaScript path, allocated on first use (the fused path needs none). */
  private readonly buckets: { vars: number[]; length: number; buffer: Float32Array | null }[] = [];
  private readonly sizes: number[];
  private readonly stats = new Float64Array(2);
  /** Per variable: its bucket; per bucket: how many of its gradients are final; this step's posted prefix. */
  private readonly bucketOf: number[] = [];
  private readonly readyCount: number[] = [];
  private readonly arrays: (Float32Array | null)[] = [];
  private posted = 0;
  private weight = 1;
  private overlap = false;

  constructor(private readonly dp: DataParallel, vars: readonly { data: FloatArray }[], capBytes = bucketBytes()) {
    this.sizes = vars.map((v) => v.data.length);
    let current: number[] = [];
    let length = 0;
    const close = (): void => {
      if (current.length > 0) this.buckets.push({ vars: current, length, buffer: null });
      current = [];
      length = 0;
    };
    for (let i = vars.length - 1; i >= 0; i--) {
      if (length > 0 && (length + this.sizes[i]) * 4 > capBytes) close();
      current.push(i);
      length += this.sizes[i];
    }
    close();
    this.buckets.forEach((b, k) => b.vars.forEach((i) => (this.bucketOf[i] = k)));
    this.overlap = typeof dp.reduceGradientsAsync === 'function';
  }

  /** Starts a step in which this rank's shard is `weight` (n_k / n) of the global batch. */
  beginStep(weight: number): void {
    this.weight = weight;
    this.posted = 0;
    this.readyCount.length = 0;
    for (let b = 0; b < this.buckets.length; b++) this.readyCount.push(0);
    this.arrays.fill(null);
  }

  /** Variable i's gradient is final (the tape calls this during backward): posts every bucket now complete. */
  ready(i: number, g: FloatArray): void {
    if (!this.overlap || !(g instanceof Float32Array)) return;
    this.arrays[i] = g;
    this.readyCount[this.bucketOf[i]]++;
    // In bucket order only, and never the last bucket (it carries the loss at the step's end).
    while (this.posted < this.buckets.length - 1 && this.readyCount[this.posted] === this.buckets[this.posted].vars.length) {
      const vars = this.buckets[this.posted].vars;
      if (!this.dp.reduceGradientsAsync!(vars.map((v) => this.arrays[v] as Float32Array), this.weight)) {
        this.overlap = false;  // the transport cannot: everything goes the synchronous way
        return;
      }
      this.posted++;
    }
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /**
   * grads: this rank's gradients (zeros for an empty shard), replaced in place by the global mean;
   * weight = n_k / n. Also sums the loss and correct counts of the shards: returns the global batch's.
   */
  reduce(grads: readonly FloatArray[], weight: number, lossSum: number, correct: number): { lossSum: number; correct: number } {
    this.stats[0] = lossSum;
    this.stats[1] = correct;
    if (this.overlap && this.posted > 0) {
      // The buckets not yet posted (some gradients may never have been reported: zeros), the last with the
      // loss and correct count; then wait for all.
      for (let b = this.posted; b < this.buckets.length; b++) {
        const last = b === this.buckets.length - 1;
        this.dp.reduceGradientsAsync!(this.buckets[b].vars.map((i) => grads[i] as Float32Array), weight, last ? this.stats : undefined);
      }
      this.dp.waitReductions!();
      return { lossSum: this.stats[0], correct: this.stats[1] };
    }
    const fused = this.dp.reduceGradients;
    if (fused && grads.every((g) => g instanceof Float32Array)) {
      // One call per bucket, straight on the gradient arrays; the loss and correct count ride with the last.
      this.buckets.forEach(({ vars }, b) => fused.call(this.dp, vars.map((i) => grads[i] as Float32Array), weight, b === this.buckets.length - 1 ? this.stats : undefined));
      return { lossSum: this.stats[0], correct: this.stats[1] };
    }
    for (const bucket of this.buckets) {
      const vars = bucket.vars;
      const buffer = (bucket.buffer ??= new Float32Array(bucket.length));
      let off = 0;
      for (const i of vars) {
        const g = grads[i];
        for (let j = 0; j < g.length; j++) buffer[off + j] = g[j] * weight;
        off += this.sizes[i];
      }
      this.dp.allreduceSum(buffer);
      off = 0;
      for (const i of vars) {
        grads[i].set(buffer.subarray(off, off + this.sizes[i]));
        off += this.sizes[i];
      }
    }
    this.dp.allreduceSum(this.stats);
    return { lossSum: this.stats[0], correct: this.stats[1] };
  }
}

/** Gives every rank rank 0's values of these arrays (weights at the start of training, statistics at epoch end). */
export function broadcastArrays(dp: DataParallel, arrays: readonly FloatArray[]): void {
  for (const a of arrays) dp.broadcast(a, 0);
}

/** Rank 0's model everywhere: all weights, trainable or not. */
export function broadcastModel(dp: DataParallel, model: Model): void {
  broadcastArrays(dp, model.weights.map((w) => w.data));
  for (const w of model.weights) w.markChanged();
}

/** This rank's contiguous part [lo, hi) of n items: rank k takes floor(n k / N) .. floor(n (k + 1) / N). */
export function shardRange(dp: DataParallel, n: number): [number, number] {
  return [Math.floor((n * dp.rank) / dp.size), Math.floor((n * (dp.rank + 1)) / dp.size)];
}

/**
 * One data-parallel step on the global batch `idx`: this rank trains on its contiguous shard, the reducer
 * averages the gradients (weighted by shard size, so a partial last batch that does not divide evenly is still
 * the global mean), and every rank applies the same update. Returns the global batch's mean loss and correct count.
 *
 * The step's random draws (dropout masks, augmentation) are those of one process on the whole batch: the shard
 * (src/tensor/shard.ts) tells them which rows are this rank's, and every rank's generator moves as one process's.
 */
export function shardStep(dp: DataParallel, reducer: GradientReducer, idx: Int32Array, source: DataSource, model: Model, loss: LossFn, optimizer: Optimizer, vars: readonly Variable[], where: string, syncBatchNorm = false): { loss: number; correct: number } {
  const [lo, hi] = shardRange(dp, idx.length);
  const mine = idx.subarray(lo, hi);
  const weight = mine.length / idx.length;
  reducer.beginStep(weight);
  const reduce: StepReduce = Object.assign(
    (grads: FloatArray[], value: number, correct: number) => {
      const g = reducer.reduce(grads, weight, value * mine.length, correct);
      return { loss: g.lossSum / idx.length, correct: g.correct };
    },
    { onReady: (i: number, g: FloatArray) => reducer.ready(i, g) },
  );
  const r = mine.length > 0 ? withBatchShard({ offset: lo, rows: mine.length, total: idx.length }, () => {
    const batch = takeBatch(source, mine, true); // lent: trainStep keeps none of it
    // Sync BN: every batch-norm layer of this step reduces its statistics across ranks (ops/normalization.ts).
    const prev = syncBatchNorm ? setBatchNormSync({ sum: (a) => dp.allreduceSum(a), weight }) : null;
    try {
      return trainStep(model, loss, optimizer, vars, batch.x, batch.y, `${where} (rank ${dp.rank})`, reduce);
    } finally {
      if (syncBatchNorm) setBatchNormSync(prev);
    }
  }) : emptyShardStep(reduce, optimizer, vars);
  // A rank without a sample made none of the step's draws; the last rank always has one (floor(n (N-1) / N) < n).
  if (idx.length < dp.size) broadcastRandom(dp, dp.size - 1);
  return r;
}

/** Fewer samples than ranks in the last batch: contribute zeros, take part in the reduction, apply the update. */
function emptyShardStep(reduce: StepReduce, optimizer: Optimizer, vars: readonly Variable[]): { loss: number; correct: number } {
  const zeros = vars.map((v) => Tensor.zeros(v.shape));
  const r = reduce(zeros.map((z) => z.data), 0, 0);
  optimizer.applyGradients(vars.map((v, i) => [v, zeros[i]]));
  return r;
}

/** Every rank's global generator becomes `root`'s (its state and its spare normal), so all draw alike from here. */
export function broadcastRandom(dp: DataParallel, root: number): void {
  const { s, spare } = globalRandom.getState();
  // Float64 holds the four uint32 words exactly.
  const a = Float64Array.of(s[0], s[1], s[2], s[3], spare === null ? 0 : 1, spare ?? 0);
  dp.broadcast(a, root);
  globalRandom.setState({ s: [a[0], a[1], a[2], a[3]], spare: a[4] === 1 ? a[5] : null });
}

/** Logs of each rank's part (means over `part` samples) into the means over all `total` samples. */
export function reduceLogs(dp: DataParallel, logs: Logs, part: number, total: number): Logs {
  const keys = Object.keys(logs);
  const sums = Float64Array.from(keys, (k) => (part > 0 ? logs[k] * part : 0));
  dp.allreduceSum(sums);
  return Object.fromEntries(keys.map((k, i) => [k, sums[i] / total]));
}
