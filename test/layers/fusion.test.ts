/**
 * Layer pairs that run as one op (layers/fusion.ts): BatchNormalization then ReLU / ReLU6 (Sequential,
 * functional graphs and the zoo's blocks), ZeroPadding2D then a 'valid' convolution. Fusion must change
 * nothing but speed: the same outputs, gradients and moving statistics, bit for bit, as the two layers run one
 * after the other; and it must not fire where the first layer's output is read by anything else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients } from '../../src/autograd/tape.js';
import { getBackend } from '../../src/backend/index.js';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { Activation, ReLU } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { resetLayerNames, setLayerOutputHook } from '../../src/layers/layer.js';
import { Add, ZeroPadding2D } from '../../src/layers/merge.js';
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
  // MobileNet's pattern: ZeroPadding2D then a 'valid' stride-2 depthwise convolution (and a plain one); the
  // last pad feeds a 'same' convolution, which pads itself and so does not fuse.
  padding: () => {
    const x = Input({ shape: [6, 7, 3] });
    let y = new DepthwiseConv2D({ kernelSize: 3, strides: 2, depthMultiplier: 2 }).apply(new ZeroPadding2D({ padding: [[0, 1], [0, 1]] }).apply(x));
    y = new Conv2D({ filters: 4, kernelSize: 2 }).apply(new ZeroPadding2D({ padding: [[1, 0], [2, 1]] }).apply(y));
    y = new Conv2D({ filters: 3, kernelSize: 3, padding: 'same' }).apply(new ZeroPadding2D({ padding: 1 }).apply(y));
    return new Model({ inputs: x, outputs: y });
  },
  block: () => {
    const x = Input({ shape: [6, 7, 3] });
    return new Model({ inputs: x, outputs: new ConvBNRelu({ filters: 6, kernelSize: 3 }).apply(x) });
  },
};

/** Output, gradient of sum(output) for every trainable weight, and the moving statistics after one call. */
function run(build: Build, unfused: boolean, training: boolean): { fusedCalls: number; pads: number; values: Float32Array[] } {
  resetLayerNames();
  setSeed(17);
  const model = build();
  setSeed(18);
  const x = Tensor.randomUniform([3, 6, 7, 3], -1, 1);
  // Training fuses into batchNormTrain (act is argument 5), inference into channelAffine (argument 4).
  const be = getBackend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const [method, actAt] = training ? ['batchNormTrain', 5] : ['channelAffine', 4];
  const original = be[method];
  const pad2d = be.pad2d;
  let fusedCalls = 0;
  let pads = 0;
  be[method] = function (this: unknown, ...a: unknown[]) {
    if (a[actAt] !== undefined && a[actAt] !== 'linear') fusedCalls++;
    return original.apply(this, a);
  };
  be.pad2d = function (this: unknown, ...a: unknown[]) {
    pads++;
    return pad2d.apply(this, a);
  };
  if (unfused) setLayerOutputHook(() => {});
  try {
    const out = model.apply(x, { training });
    const grads = gradients(sum(out), model.trainableWeights);
    const values = [out, ...grads].map((t) => Float32Array.from(t.data));
    for (const w of model.weights) if (!w.trainable) values.push(Float32Array.from(w.data));
    return { fusedCalls, pads, values };
  } finally {
    setLayerOutputHook(null);
    be[method] = original;
    be.pad2d = pad2d;
  }
}

for (const [name, build] of Object.entries(builds)) {
  for (const training of [true, false]) {
    test(`batch norm + ReLU fusion (${name}, ${training ? 'training' : 'inference'}): identical outputs, gradients and moving statistics`, () => {
      const fused = run(build, false, training);
      const plain = run(build, true, training);
      assert.equal(plain.fusedCalls, 0, 'a layer-output hook turns fusion off');
      assert.equal(fused.fusedCalls, { sequential: 2, functional: 1, padding: 0, block: 1 }[name], 'fused batch norms');
      assert.equal(fused.pads, name === 'padding' ? 1 : 0, 'padded copies made (only before the same convolution)');
      assert.equal(plain.pads, name === 'padding' ? 3 : 0, 'padded copies made unfused');
      assert.equal(fused.values.length, plain.values.length);
      fused.values.forEach((v, i) => assert.deepEqual(v, plain.values[i], `value ${i}`));
    });
  }
}
