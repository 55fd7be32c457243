import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';
import type { FloatArray } from '../tensor/tensor.js';

export type { Backend } from './backend.js';
export * from './geometry.js';
export { dropoutSeedAt } from './reference/elementwise.js';

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

/**
 * What runs inference plans (src/backend/plan): the native addon registers its planCreate / planRun here when
 * it loads, so that importing the plan never loads the addon by itself.
 */
export interface PlanRunner {
  /** owned: per constant, 1 where it was made for this plan alone (CompiledPlan.owned). */
  planCreate(code: Int32Array, consts: Float32Array[], bufferSizes: number[], inputSize: number, outputSize: number, owned?: Uint8Array): unknown;
  planRun(plan: unknown, x: Float32Array, y: Float32Array, times?: Float64Array): void;
}
const planRunners = new Map<string, PlanRunner>();

export function registerPlanRunner(backendName: string, runner: PlanRunner): void {
  planRunners.set(backendName, runner);
}

/** The plan runner of the active backend, if it has one. */
export function activePlanRunner(): PlanRunner | null {
  return planRunners.get(active.name) ?? null;
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
