import assert from 'node:assert/strict';
import { nativeInfo } from '../../src/backend/native/index.js';
import type { Model } from '../../src/models/model.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

// What the inference-plan tests share (inference-plan.test.ts, inference-plan-build.test.ts).

export const native = nativeInfo() !== null;

export function input(shape: number[], seed: number): Tensor {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1), shape);
}

/** Largest |a - b| / max(|b|, floor) over all elements. */
export function maxRel(a: Tensor, b: Tensor, floor = 1e-6): number {
  assert.deepEqual(a.shape, b.shape);
  let worst = 0;
  for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]) / Math.max(Math.abs(b.data[i]), floor));
  return worst;
}

/** The largest |value| of t: a floor for maxRel where outputs pass near zero. */
export function largest(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]));
  return m;
}

export function layerByLayer(m: Model, x: Tensor, batchSize: number): Tensor {
  m.useInferencePlan = false;
  const y = m.predict(x, { batchSize });
  m.useInferencePlan = true;
  return y;
}

/** The zoo at small inputs (the same layers and fusions; mobilenet at 64x64 keeps the test fast). */
export const ZOO: [string, Record<string, unknown>][] = [
  ['mlp', {}],
  ['baseline', {}],
  ['lenet5', {}],
  ['alexnet8', {}],
  ['vgg16', {}],
  ['inception10', {}],
  ['resnet18', {}],
  ['mobilenet', { inputShape: [64, 64, 3], numClasses: 20 }],
];
