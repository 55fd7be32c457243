import type { FloatArray } from '../tensor/tensor.js';

const NOTHING: ReadonlySet<FloatArray> = new Set();

/**
 * Reuse of float32 buffers from one training step to the next.
 *
 * Every op returns a fresh array, and a fresh large array is fresh memory: the allocator maps new pages and
 * the first write to each one faults (an 8 MiB activation costs ~5 ms of page faults against ~0.5 ms to
 * write it). A training step allocates the same sizes in the same order every time, and nothing it
 * allocates outlives it except through the in-place updates of weights and optimizer slots. So the
 * step runs inside an arena: while it is active, backend outputs come from the arrays the previous step
 * handed back, and after the step (optimizer applied, metrics read) `reclaim` takes them all back.
 *
 * Only code that owns a whole step or batch opens an arena (trainStep in src/train/step.ts, and
 * Model.inferenceBatch for predict and evaluate): it knows that no array created inside escapes. Arrays
 * that must survive (weights built lazily during the first step) are passed to `reclaim` as `keep`.
 */
export class BufferArena {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly lent: Float32Array[] = [];
  private readonly asked = new Set<number>();

  /** An array of n floats: a recycled one (contents undefined) or a new one, lent until `reclaim`. */
  take(n: number): Float32Array {
    this.asked.add(n);
    const list = this.free.get(n);
    const a = list && list.length > 0 ? (list.pop() as Float32Array) : newF32(n);
    this.lent.push(a);
    return a;
  }

  /**
   * Takes back everything lent since the last reclaim, except the arrays in `keep`. Sizes that this step
   * never asked for are dropped (a smaller last batch does not keep a second set of buffers alive).
   */
  reclaim(keep: ReadonlySet<FloatArray> = NOTHING): void {
    // Deleting the current key while iterating a Map is safe (the iteration goes on with the next).
    for (const n of this.free.keys()) if (!this.asked.has(n)) this.free.delete(n);
    for (const a of this.lent) {
      if (keep.has(a)) continue;
      let list = this.free.get(a.length);
      if (!list) this.free.set(a.length, (list = []));
      list.push(a);
    }
    this.lent.length = 0;
    this.asked.clear();
  }

  /** Drops every pooled array (what is lent stays lent): the memory goes back to the garbage collector. */
  clear(): void {
    this.free.clear();
  }

  /**
   * Fills every pooled array with `value` (tests: a kernel that leaves part of a recycled output unwritten
   * shows up as NaN instead of as a plausible stale number).
   */
  poison(value = NaN): void {
    for (const list of this.free.values()) for (const a of list) a.fill(value);
  }

  /** Floats held for reuse (for tests and memory reports). */
  get pooledFloats(): number {
    let s = 0;
    for (const list of this.free.values()) for (const a of list) s += a.length;
    return s;
  }
}

let current: BufferArena | null = null;

/**
 * How a fresh float32 output is made: `new Float32Array(n)` unless a backend installs its own (the native one
 * starts each large array on a 64-byte boundary, a cache line and a vector: see native/addon_elementwise.cc).
 * Whatever it returns must hold n zeros and be a plain Float32Array, possibly a view at an offset.
 */
let newF32: (n: number) => Float32Array = (n) => new Float32Array(n);

export function setFloat32Allocator(allocate: (n: number) => Float32Array): void {
  newF32 = allocate;
}

/**
 * An allocator whose arrays of 256 floats or more start on a 64-byte boundary: a view into an ArrayBuffer 60
 * bytes longer, from offsetOf(buffer), the bytes to its memory's first boundary (the native addon reads the
 * address). The buffer is made here, in JavaScript, so that running out of memory is a RangeError as for
 * new Float32Array (napi_create_arraybuffer aborts the process instead). Small arrays are not worth the call.
 */
export function cacheLineAllocator(offsetOf: (buffer: ArrayBuffer) => number): (n: number) => Float32Array {
  return (n) => {
    if (n < 256) return new Float32Array(n);
    const buffer = new ArrayBuffer(4 * n + 60);
    return new Float32Array(buffer, offsetOf(buffer), n);
  };
}

/** Runs fn with `arena` supplying backend outputs; nests (the innermost arena wins) and always restores. */
export function withArena<T>(arena: BufferArena, fn: () => T): T {
  const saved = current;
  current = arena;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

/**
 * Runs fn with the arena lending backend outputs and takes everything back when fn returns (or throws),
 * except the arrays of `keep()`. fn must not let an array it allocated escape: copy what it returns.
 */
export function inArena<T>(arena: BufferArena, fn: () => T, keep?: () => ReadonlySet<FloatArray>): T {
  try {
    return withArena(arena, fn);
  } finally {
    arena.reclaim(keep?.());
  }
}

/** A float32 output that the kernel overwrites completely: recycled (contents undefined) inside an arena. */
export function outputF32(n: number): Float32Array {
  return current ? current.take(n) : newF32(n);
}

/** A float32 output that must start at zero (kernels that accumulate into it). */
export function zerosF32(n: number): Float32Array {
  return current ? current.take(n).fill(0) : newF32(n);
}
