/** Shared by the ONNX tests: seeded models with non-trivial weights, random inputs, and ONNX Runtime runs. */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { resetLayerNames } from '../../src/layers/layer.js';
import type { Model } from '../../src/models/model.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel } from '../../src/zoo/index.js';
import type { ZooOptions } from '../../src/zoo/options.js';
import { randomizeWeights } from '../io/keras-h5-fixtures.js';

export function zooModel(name: string, options: ZooOptions & Record<string, unknown>, seed = 1): Model {
  resetLayerNames();
  setSeed(seed);
  const m = createModel(name, options);
  randomizeWeights(m, seed + 100);
  return m;
}

export function randomInput(model: Model, n: number, seed: number): Tensor {
  const shape = (model.inputs[0]?.shape ?? model.layers[0].batchInputShape) as number[];
  const rest = shape.slice(1);
  const rng = new Random(seed);
  return new Tensor(Float32Array.from({ length: n * rest.reduce((a, b) => a * b, 1) }, () => 2 * rng.uniform() - 1), [n, ...rest]);
}

export function toNchw(x: Tensor): Tensor {
  const [n, h, w, c] = x.shape;
  const d = new Float32Array(x.size);
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) d[((b * c + k) * h + i) * w + j] = x.data[((b * h + i) * w + j) * c + k];
  return new Tensor(d, [n, c, h, w]);
}

export async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]) });
  const y = out.output;
  return { data: y.data as Float32Array, dims: y.dims };
}

/** |onnx - convkit| <= rtol * |convkit| + atol at every element; the message names the worst one. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-7): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (rtol * Math.abs(expected[i]) + atol);
    if (excess > worst) [worst, at] = [excess, i];
  }
  assert.ok(at < 0, `${what}: element ${at}: onnx ${actual[at]}, convkit ${expected[at]}`);
  let maxRel = 0;
  for (let i = 0; i < expected.length; i++) maxRel = Math.max(maxRel, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-12));
  return maxRel;
}
