/**
 * BatchNormalization followed by ReLU / ReLU6 runs as one fused op in training (Sequential, functional graphs
 * and the zoo's blocks). Fusion must change nothing but speed: the same outputs, gradients and moving
 * statistics, bit for bit, as the two layers run one after the other; and it must not fire where the batch
 * norm's output is read by anything else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients } from '../../src/autograd/tape.js';
import { getBackend } from '../../src/backend/index.js';
import { Conv2D } from '../../src/layers/conv.js';
import { Activation, ReLU } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { resetLayerNames, setLayerOutputHook } from '../../src/layers/layer.js';
import { Add } from '../../src/layers/merge.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { sum } from '../../src/ops/elementwise.js';
import { setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { ConvBNRelu } from '../../src/zoo/blocks.js';

type Build = () => Model;

const builds: Record<string, Build> = {
  sequential: () =>
    new Sequential([
      new Conv2D({ filters: 5, kernelSize: 3, padding: 'same', inputShape: [6, 7, 3] }),
      new BatchNormalization(),
      new Activation({ activation: 'relu' }),
      new Conv2D({ filters: 4, kernelSize: 3 }),
      // gamma from 2 to 6, so that ReLU6 clips at the top too.
      new BatchNormalization({ gammaInitializer: (shape, dtype, rng) => Tensor.randomUniform(shape, 2, 6, rng, dtype) }),
      new ReLU({ maxValue: 6 }),
    ]),
  functional: () => {
    const x = Input({ shape: [6, 7, 3] });
    let y = new Conv2D({ filters: 5, kernelSize: 3, padding: 'same' }).apply(x);
    y = new ReLU().apply(new BatchNormalization().apply(y));
    // This batch norm's output is read twice: no fusion there, and the ReLU still sees it.
    const b = new BatchNormalization().apply(new Conv2D({ filters: 5, kernelSize: 1 }).apply(y));
    y = new Add().apply([new ReLU().apply(b), b]);
    return new Model({ inputs: x, outputs: y });
  },
  block: () => {
    const x = Input({ shape: [6, 7, 3] });
    return new Model({ inputs: x, outputs: new ConvBNRelu({ filters: 6, kernelSize: 3 }).apply(x) });
  },
};

/** Output, gradient of sum(output) for every trainable weight, and the moving statistics after one call. */
function run(build: Build, unfused: boolean, training: boolean): { fusedCalls: number; values: Float32Array[] } {
  resetLayerNames();
  setSeed(17);
  const model = build();
  setSeed(18);
  const x = Tensor.randomUniform([3, 6, 7, 3], -1, 1);
  // Training fuses into batchNormTrain (act is argument 5), inference into channelAffine (argument 4).
  const be = getBackend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const [method, actAt] = training ? ['batchNormTrain', 5] : ['channelAffine', 4];
  const original = be[method];
  let fusedCalls = 0;
  be[method] = function (this: unknown, ...a: unknown[]) {
    if (a[actAt] !== undefined && a[actAt] !== 'linear') fusedCalls++;
    return original.apply(this, a);
  };
  if (unfused) setLayerOutputHook(() => {});
  try {
    const out = model.apply(x, { training });
    const grads = gradients(sum(out), model.trainableWeights);
    const values = [out, ...grads].map((t) => Float32Array.from(t.data));
    for (const w of model.weights) if (!w.trainable) values.push(Float32Array.from(w.data));
    return { fusedCalls, values };
  } finally {
    setLayerOutputHook(null);
    be[method] = original;
  }
}

for (const [name, build] of Object.entries(builds)) {
  for (const training of [true, false]) {
    test(`batch norm + ReLU fusion (${name}, ${training ? 'training' : 'inference'}): identical outputs, gradients and moving statistics`, () => {
      const fused = run(build, false, training);
      const plain = run(build, true, training);
      assert.equal(plain.fusedCalls, 0, 'a layer-output hook turns fusion off');
      assert.equal(fused.fusedCalls, name === 'sequential' ? 2 : 1, 'fused pairs');
      assert.equal(fused.values.length, plain.values.length);
      fused.values.forEach((v, i) => assert.deepEqual(v, plain.values[i], `value ${i}`));
    });
  }
}
