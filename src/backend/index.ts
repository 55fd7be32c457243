import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';
import type { FloatArray } from '../tensor/tensor.js';

export type { Backend } from './backend.js';
export * from './geometry.js';

const backends = new Map<string, Backend>([['reference', referenceBackend]]);
let active: Backend = referenceBackend;

/** Makes a backend available by name (the native addon registers itself here when it loads). */
export function registerBackend(backend: Backend, makeActive = true): void {
  backends.set(backend.name, backend);
  if (makeActive && process.env.CONVKIT_BACKEND !== 'reference') active = backend;
}

/**
 * The backend for these values: float64 always runs on the reference backend (gradient checks), float32 on
 * the active one.
 */
export function getBackend(data?: FloatArray): Backend {
  return data instanceof Float64Array ? referenceBackend : active;
}

export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) throw new Error(`setBackend: argument 'name' expected one of ${[...backends.keys()].join(', ')}, received '${name}'`);
  active = b;
}

export function backendName(): string {
  return active.name;
}

export function availableBackends(): string[] {
  return [...backends.keys()];
}

/** Runs fn with `b` as the active backend (float32 work), restoring the previous one afterwards. */
export function withBackend<T>(b: Backend, fn: () => T): T {
  const saved = active;
  active = b;
  try {
    return fn();
  } finally {
    active = saved;
  }
}
