import { Random, globalRandom } from '../tensor/random.js';
import { Shape } from '../tensor/shape.js';
import { DType, Tensor } from '../tensor/tensor.js';

/**
 * Weight initializers with Keras's definitions (keras/src/initializers/random_initializers.py). Fans follow
 * Keras's compute_fans: for a kernel [..receptive.., in, out], fanIn = in * receptive, fanOut = out * receptive.
 */
export type Initializer = (shape: Shape, dtype: DType, rng: Random) => Tensor;
export type InitializerName =
  | 'zeros' | 'ones' | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'lecunUniform' | 'lecunNormal' | 'randomNormal' | 'randomUniform' | 'truncatedNormal';
export type InitializerLike = InitializerName | Initializer;

export function computeFans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

const uniform = (limit: number): Initializer => (shape, dtype, rng) => Tensor.randomUniform(shape, -limit, limit, rng, dtype);

/** Normal truncated at two standard deviations, by redrawing (as TensorFlow's truncated_normal). */
export const truncatedNormal = (stddev: number, mean = 0): Initializer => (shape, dtype, rng) => {
  const t = Tensor.zeros(shape, dtype);
  for (let i = 0; i < t.data.length; i++) {
    let v: number;
    do v = rng.normal();
    while (Math.abs(v) > 2);
    t.data[i] = mean + stddev * v;
  }
  return t;
};

// Keras's variance-scaling normal divides by the stddev of a unit normal truncated to [-2, 2].
const TRUNCATED_STDDEV = 0.87962566103423978;
const scaledUniform = (scaleBy: number, fan: 'in' | 'avg'): Initializer => (shape, dtype, rng) => {
  const { fanIn, fanOut } = computeFans(shape);
  const n = fan === 'in' ? fanIn : (fanIn + fanOut) / 2;
  return uniform(Math.sqrt((3 * scaleBy) / Math.max(1, n)))(shape, dtype, rng);
};
const scaledNormal = (scaleBy: number, fan: 'in' | 'avg'): Initializer => (shape, dtype, rng) => {
  const { fanIn, fanOut } = computeFans(shape);
  const n = fan === 'in' ? fanIn : (fanIn + fanOut) / 2;
  return truncatedNormal(Math.sqrt(scaleBy / Math.max(1, n)) / TRUNCATED_STDDEV)(shape, dtype, rng);
};

/**
 * keras.initializers.VarianceScaling (Keras 2 files write glorot / he / lecun this way): a uniform of limit
 * sqrt(3 scale / n) or a truncated normal of stddev sqrt(scale / n) / 0.8796, n the fan the mode names.
 */
export function varianceScaling(scaleBy: number, mode: 'fan_in' | 'fan_out' | 'fan_avg', distribution: 'uniform' | 'truncated_normal' | 'untruncated_normal'): Initializer {
  const fanOf = (shape: Shape): number => {
    const { fanIn, fanOut } = computeFans(shape);
    return Math.max(1, mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2);
  };
  if (distribution === 'uniform') return (shape, dtype, rng) => uniform(Math.sqrt((3 * scaleBy) / fanOf(shape)))(shape, dtype, rng);
  if (distribution === 'untruncated_normal') return (shape, dtype, rng) => Tensor.randomNormal(shape, 0, Math.sqrt(scaleBy / fanOf(shape)), rng, dtype);
  return (shape, dtype, rng) => truncatedNormal(Math.sqrt(scaleBy / fanOf(shape)) / TRUNCATED_STDDEV)(shape, dtype, rng);
}

export const initializers: Record<InitializerName, Initializer> = {
  zeros: (shape, dtype) => Tensor.zeros(shape, dtype),
  ones: (shape, dtype) => Tensor.ones(shape, dtype),
  glorotUniform: scaledUniform(1, 'avg'),
  glorotNormal: scaledNormal(1, 'avg'),
  heUniform: scaledUniform(2, 'in'),
  heNormal: scaledNormal(2, 'in'),
  lecunUniform: scaledUniform(1, 'in'),
  lecunNormal: scaledNormal(1, 'in'),
  // keras.initializers.RandomNormal / RandomUniform / TruncatedNormal defaults.
  randomNormal: (shape, dtype, rng) => Tensor.randomNormal(shape, 0, 0.05, rng, dtype),
  randomUniform: uniform(0.05),
  truncatedNormal: truncatedNormal(0.05),
};

/** Accepts camelCase or Keras's snake_case names ('glorot_uniform'), or a function. */
export function getInitializer(init: InitializerLike | string, who: string, arg: string): Initializer {
  if (typeof init === 'function') return init;
  const key = init.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase()) as InitializerName;
  const f = initializers[key];
  if (!f) throw new Error(`${who}: argument '${arg}' expected one of ${Object.keys(initializers).join(', ')}, received '${init}'`);
  return f;
}

export { globalRandom };
