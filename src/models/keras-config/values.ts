import { ACTIVATIONS, ActivationName } from '../../ops/activations.js';
import { Initializer, InitializerLike, InitializerName, varianceScaling } from '../../layers/initializers.js';
import { getFloatX } from '../../layers/layer.js';
import { Tensor } from '../../tensor/tensor.js';
import { Regularizer, l1, l1l2, l2 } from '../../layers/regularizers.js';
import { SymbolicShape } from '../../tensor/shape.js';

/**
 * The values inside a Keras layer config, both ways: dtype policies, initializers, regularizers, activations,
 * shapes and pairs. Keras 3 writes objects as { module, class_name, config, registered_name }; Keras 2 as
 * { class_name, config }; both are read. Every reader takes a `where` ("Conv2D 'conv2d' in model.h5") and an
 * argument name, so a bad value is reported as "argument, expected, received".
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ConfigError extends Error {}

export function bad(where: string, arg: string, expected: string, received: unknown): never {
  let r: string;
  try {
    r = typeof received === 'string' ? `'${received}'` : JSON.stringify(received) ?? String(received);
  } catch {
    r = String(received);
  }
  if (r.length > 120) r = `${r.slice(0, 117)}...`;
  throw new ConfigError(`${where}: argument '${arg}' expected ${expected}, received ${r}`);
}

/** Keras 3's serialized form of a built-in object. */
export function kerasObject(module: string, className: string, config: JsonObject): JsonObject {
  return { module, class_name: className, config, registered_name: null };
}

// ---- dtype ----

export function dtypePolicy(): JsonObject {
  return kerasObject('keras', 'DTypePolicy', { name: getFloatX() });
}

/**
 * Reads a layer's dtype: 'float32', null (Keras 2.1), or a DTypePolicy object (Keras 3). Any float policy is
 * accepted (convkit computes in float32; a mixed-precision model's float32 variables load as they are).
 */
export function readDtype(v: unknown, where: string): void {
  const name = isObject(v) ? (isObject(v.config) ? v.config.name : undefined) : v;
  if (name === null || name === undefined) return;
  if (typeof name !== 'string' || !/^(float16|float32|float64|bfloat16|mixed_float16|mixed_bfloat16)$/.test(name)) {
    bad(where, 'dtype', "a float dtype ('float32', or a DTypePolicy of one)", v);
  }
}

// ---- initializers ----

const INIT_CLASSES: Record<InitializerName, string> = {
  zeros: 'Zeros',
  ones: 'Ones',
  glorotUniform: 'GlorotUniform',
  glorotNormal: 'GlorotNormal',
  heUniform: 'HeUniform',
  heNormal: 'HeNormal',
  lecunUniform: 'LecunUniform',
  lecunNormal: 'LecunNormal',
  randomNormal: 'RandomNormal',
  randomUniform: 'RandomUniform',
  truncatedNormal: 'TruncatedNormal',
};

const INIT_CONFIGS: Partial<Record<InitializerName, JsonObject>> = {
  zeros: {},
  ones: {},
  randomNormal: { mean: 0, stddev: 0.05, seed: null },
  randomUniform: { minval: -0.05, maxval: 0.05, seed: null },
  truncatedNormal: { mean: 0, stddev: 0.05, seed: null },
};

/**
 * An initializer as Keras 3 writes it. A function initializer (user code) has no name: the file then names
 * the layer's Keras default, which matters only to a model rebuilt without the file's weights.
 */
export function initializerConfig(init: InitializerLike | undefined, fallback: InitializerName): JsonObject {
  const name = typeof init === 'string' ? (init.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) as InitializerName) : fallback;
  const key = INIT_CLASSES[name] ? name : fallback;
  return kerasObject('keras.initializers', INIT_CLASSES[key], INIT_CONFIGS[key] ?? { seed: null });
}

const BY_CLASS = new Map<string, InitializerName>(Object.entries(INIT_CLASSES).map(([k, v]) => [v.toLowerCase(), k as InitializerName]));

/** Reads an initializer (Keras 3 object, Keras 2 object, or a bare name); unknown ones are a clear error. */
export function readInitializer(v: unknown, where: string, arg: string): InitializerLike | undefined {
  if (v === null || v === undefined) return undefined;
  const className = typeof v === 'string' ? v : isObject(v) && typeof v.class_name === 'string' ? v.class_name : bad(where, arg, 'an initializer', v);
  const cfg = isObject(v) && isObject(v.config) ? v.config : {};
  const key = className.replace(/_/g, '').toLowerCase();
  const num = (k: string, d: number): number => (typeof cfg[k] === 'number' ? (cfg[k] as number) : d);
  if (key === 'variancescaling') {
    const mode = cfg.mode ?? 'fan_in';
    const dist = cfg.distribution === 'normal' ? 'truncated_normal' : (cfg.distribution ?? 'truncated_normal');
    if (!['fan_in', 'fan_out', 'fan_avg'].includes(mode as string)) bad(where, `${arg}.mode`, "'fan_in', 'fan_out' or 'fan_avg'", mode);
    if (!['uniform', 'truncated_normal', 'untruncated_normal'].includes(dist as string)) bad(where, `${arg}.distribution`, "'uniform', 'truncated_normal' or 'untruncated_normal'", dist);
    return varianceScaling(num('scale', 1), mode as 'fan_in', dist as 'uniform');
  }
  if (key === 'constant') {
    const value = num('value', 0);
    const constant: Initializer = (shape, dtype) => {
      const t = Tensor.zeros(shape, dtype);
      t.data.fill(value);
      return t;
    };
    return constant;
  }
  const named = BY_CLASS.get(key);
  if (!named) bad(where, arg, `an initializer among ${Object.values(INIT_CLASSES).join(', ')}, VarianceScaling, Constant`, className);
  const hasCustomScale = (named === 'randomNormal' || named === 'truncatedNormal') && (num('mean', 0) !== 0 || num('stddev', 0.05) !== 0.05);
  if (hasCustomScale) bad(where, arg, `${INIT_CLASSES[named]} with Keras's default mean 0 and stddev 0.05`, cfg);
  return named;
}

// ---- regularizers ----

export function regularizerConfig(r: Regularizer | null | undefined): JsonObject | null {
  if (!r) return null;
  const { className, l1: a = 0, l2: b = 0 } = r.config;
  if (className === 'L2') return kerasObject('keras.regularizers', 'L2', { l2: b });
  if (className === 'L1') return kerasObject('keras.regularizers', 'L1', { l1: a });
  return kerasObject('keras.regularizers', 'L1L2', { l1: a, l2: b });
}

export function readRegularizer(v: unknown, where: string, arg: string): Regularizer | null {
  if (v === null || v === undefined) return null;
  if (!isObject(v) || typeof v.class_name !== 'string') return bad(where, arg, 'a regularizer object (L1, L2, L1L2) or null', v);
  const cfg = isObject(v.config) ? v.config : {};
  const factor = (k: string): number => {
    const f = cfg[k] ?? 0;
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0) bad(where, `${arg}.${k}`, 'a non-negative number', f);
    return f as number;
  };
  switch (v.class_name.toLowerCase()) {
    case 'l2':
      return l2(factor('l2'));
    case 'l1':
      return l1(factor('l1'));
    case 'l1l2':
      return l1l2(factor('l1'), factor('l2'));
    default:
      return bad(where, arg, 'a regularizer among L1, L2, L1L2', v.class_name);
  }
}

// ---- activations, shapes, pairs ----

export function readActivation(v: unknown, where: string): ActivationName {
  const name = v === null || v === undefined ? 'linear' : isObject(v) && typeof v.config === 'string' ? v.config : v;
  if (typeof name !== 'string' || !ACTIVATIONS.includes(name as ActivationName)) bad(where, 'activation', `one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`, v);
  return name as ActivationName;
}

export function readPair(v: unknown, where: string, arg: string, allowZero = false): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  const ok = (d: unknown): boolean => Number.isInteger(d) && (d as number) >= (allowZero ? 0 : 1) && (d as number) < 1 << 20;
  if (!Array.isArray(p) || p.length !== 2 || !p.every(ok)) bad(where, arg, `an integer or a pair of ${allowZero ? 'non-negative' : 'positive'} integers`, v);
  return [p[0] as number, p[1] as number];
}

/** A batch shape [null, d1, ...] (batch null or a count); dimensions positive integers or null. */
export function readBatchShape(v: unknown, where: string, arg: string): SymbolicShape {
  const ok = Array.isArray(v) && v.length >= 2 && v.length <= 8 && v.every((d) => d === null || (Number.isInteger(d) && d > 0 && d < 1 << 24));
  if (!ok) bad(where, arg, 'a batch shape such as [null, 28, 28, 1]', v);
  return [null, ...(v as (number | null)[]).slice(1)];
}

export function readNumber(v: unknown, where: string, arg: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(where, arg, 'a finite number', v);
  return v;
}

export function readBool(v: unknown, where: string, arg: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') bad(where, arg, 'true or false', v);
  return v;
}

export function readString(v: unknown, where: string, arg: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) bad(where, arg, 'a non-empty name', v);
  return v;
}
