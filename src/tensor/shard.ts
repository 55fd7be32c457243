/**
 * The part of a global batch this process computes under data-parallel training, for the random draws a step
 * makes per sample (dropout masks, augmentation). Each rank draws what one process would draw for the whole
 * batch, in the same order, and keeps the draws of its own rows, so N processes train as one does (PyTorch DDP
 * leaves each rank its own generator; we do not, so that `mpirun -np N` follows the single-process curve).
 *
 * The training step sets it for the length of a step (src/train/parallel.ts, shardStep); the dropout op and
 * augmentation read it. Null, as always in one process, leaves every draw as it was.
 */
export interface BatchShard {
  /** Rows [offset, offset + rows) of the global batch of `total` rows are this process's. */
  readonly offset: number;
  readonly rows: number;
  readonly total: number;
}

let current: BatchShard | null = null;

/** The shard of the step being run, or null (one process, or outside a data-parallel step). */
export function batchShard(): BatchShard | null {
  return current;
}

/** Runs fn with `shard` as the current batch shard, restoring the previous one afterwards. */
export function withBatchShard<T>(shard: BatchShard | null, fn: () => T): T {
  if (shard && !(Number.isInteger(shard.offset) && Number.isInteger(shard.rows) && shard.offset >= 0 && shard.rows >= 0 && shard.offset + shard.rows <= shard.total)) {
    throw new Error(`withBatchShard: expected rows [offset, offset + rows) inside a batch of 'total' rows, received offset ${shard.offset}, rows ${shard.rows}, total ${shard.total}`);
  }
  const prev = current;
  current = shard;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
