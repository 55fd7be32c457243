/**
 * Small test utilities: seeded float64 tensors, coordinates of flat indices, closeness with a report that
 * names the failing coordinate, and a float64 scope for building layers.
 */
import { AssertionError } from 'node:assert';
import { setFloatX } from '../../src/layers/layer.js';
import { Random } from '../../src/tensor/random.js';
import { Shape, formatShape, sizeOf, stridesOf } from '../../src/tensor/shape.js';
import { DType, Tensor } from '../../src/tensor/tensor.js';

/** Row-major coordinate of a flat index. */
export function coordOf(shape: Shape, flat: number): number[] {
  const strides = stridesOf(shape);
  return shape.map((d, i) => Math.floor(flat / strides[i]) % d);
}

/** Uniform values in [min, max), float64 unless told. */
export function uniform(shape: Shape, rng: Random, min = -1, max = 1, dtype: DType = 'float64'): Tensor {
  return Tensor.randomUniform(shape, min, max, rng, dtype);
}

/** Standard normal values, float64. */
export function normal(shape: Shape, rng: Random, dtype: DType = 'float64'): Tensor {
  return Tensor.randomNormal(shape, 0, 1, rng, dtype);
}

/**
 * Values drawn from the given intervals (each chosen with equal chance): keeps samples away from the kinks of
 * piecewise functions, so a central difference never straddles one.
 */
export function fromIntervals(shape: Shape, rng: Random, intervals: readonly (readonly [number, number])[]): Tensor {
  const t = Tensor.zeros(shape, 'float64');
  for (let i = 0; i < t.size; i++) {
    const [lo, hi] = intervals[rng.int(intervals.length)];
    t.data[i] = lo + (hi - lo) * rng.uniform();
  }
  return t;
}

/** Pairwise distinct values at least `gap` apart, in random order: max-pooling without ties. */
export function distinct(shape: Shape, rng: Random, gap = 0.1): Tensor {
  const n = sizeOf(shape);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const t = Tensor.zeros(shape, 'float64');
  for (let i = 0; i < n; i++) t.data[i] = (order[i] - n / 2) * gap + 0.3 * gap * rng.uniform();
  return t;
}

/** Runs `fn` with float64 weights for newly built layers, restoring float32 after (even on failure). */
export function withFloat64<T>(fn: () => T): T {
  setFloatX('float64');
  try {
    return fn();
  } finally {
    setFloatX('float32');
  }
}

export interface CloseOptions {
  atol?: number;
  rtol?: number;
  label?: string;
}

/** Every actual[i] within atol + rtol * |expected[i]|; the report names the first bad coordinate. */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>, shape?: Shape, opts: CloseOptions = {}): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const e = expected instanceof Tensor ? expected.data : expected;
  const s = shape ?? (actual instanceof Tensor ? actual.shape : expected instanceof Tensor ? expected.shape : [a.length]);
  const { atol = 1e-9, rtol = 1e-9, label = 'values' } = opts;
  if (a.length !== e.length) throw new AssertionError({ message: `${label}: expected ${e.length} values, received ${a.length}` });
  let bad = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new AssertionError({
      message: `${label}: ${bad} of ${a.length} values differ; first at flat ${first}, coordinate [${coordOf(s, first).join(', ')}] of ${formatShape(s)}: actual ${a[first]}, expected ${e[first]}`,
    });
  }
}

/** Asserts a tensor's shape. */
export function assertShape(t: Tensor, shape: Shape, label = 'tensor'): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new AssertionError({ message: `${label}: expected shape ${formatShape(shape)}, received ${formatShape(t.shape)}` });
  }
}
