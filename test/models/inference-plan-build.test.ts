import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activePlanRunner } from '../../src/backend/index.js';
import { conv2dInfo, geometryFields } from '../../src/backend/geometry.js';
import { type CompiledPlan, OP, compileTrace } from '../../src/backend/plan/compile.js';
import { traceForward } from '../../src/backend/plan/trace.js';
import { scaleCompiled } from '../../src/backend/plan/batch.js';
import { conv2d } from '../../src/ops/conv.js';
import { zeroPad2d } from '../../src/ops/layout.js';
import { reshapeView } from '../../src/ops/linalg.js';
import { nativeInfo, setNativeIsa } from '../../src/backend/native/index.js';
import '../../src/index.js';
import { Conv2D, Dense, Flatten } from '../../src/layers/index.js';
import { Input } from '../../src/layers/input.js';
import { Layer, resetLayerNames } from '../../src/layers/layer.js';
import { BatchNormalization, ReLU, GlobalAveragePooling2D } from '../../src/layers/index.js';
import { Sequential } from '../../src/models/sequential.js';
import { setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel, zoo } from '../../src/zoo/index.js';
import { randomizeWeights } from '../io/keras-h5-fixtures.js';
import { ZOO, native, input, maxRel, largest, layerByLayer } from './plan-helpers.js';

/**
 * How an inference plan is built and kept (src/backend/plan, native/plan.cc): plans scaled to the batch from
 * traces of one and two samples (and traced whole where a model's ops do not grow with the batch), models that
 * cannot be planned, a plan built under one kernel ISA and run under another, weights packed ahead and folded
 * copies released, and the native decoder's checks.
 */

test('inference plan: scaled from one and two samples, every zoo model\'s code is the code of its whole batch', () => {
  for (const [name, options] of ZOO) {
    resetLayerNames();
    setSeed(3);
    const m = createModel(name, options);
    const compileAt = (n: number, batchScale: number, after?: CompiledPlan): CompiledPlan => {
      const x = input([n, ...((options.inputShape as number[] | undefined) ?? zoo[name].inputShape)], 60 + n);
      return compileTrace(traceForward(x.data as Float32Array, () => m.apply(x, { training: false }).data).trace, batchScale, after);
    };
    for (const batch of [3, 40]) {
      const whole = compileAt(batch, 1);
      const one = compileAt(1, batch);
      const scaled = scaleCompiled(one, compileAt(2, batch / 2, one), batch);
      assert.ok(scaled, `${name} at ${batch}: scaled`);
      assert.deepEqual([...scaled.code], [...whole.code], `${name} at ${batch}: the same code`);
      assert.deepEqual(scaled.bufferSizes, whole.bufferSizes);
      assert.deepEqual([scaled.inputSize, scaled.outputSize, scaled.opNames], [whole.inputSize, whole.outputSize, whole.opNames]);
    }
  }
});

/** A layer that computes in JavaScript on its input: cannot be traced into a plan. */
class JsSquare extends Layer {
  call(inputs: Tensor | Tensor[]): Tensor {
    const x = inputs as Tensor;
    if (x.isPlaceholder) return Tensor.placeholder(x.shape, x.dtype);
    return new Tensor(x.data.map((v) => v * v), x.shape);
  }
}

/**
 * Stacks the batch into one tall image, pads it top and bottom and convolves it back to the batch's height
 * (valid, 3 x 1): the samples' rows meet, and the sizes of the ops it runs are n h + 2, not in proportion to
 * the batch.
 */
class TallImage extends Layer {
  private readonly kernel = new Tensor(Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => ((i % 5) - 2) / 4), [3, 1, 2, 2]);
  call(inputs: Tensor | Tensor[]): Tensor {
    const x = inputs as Tensor;
    if (x.isPlaceholder) return Tensor.placeholder(x.shape, x.dtype);
    const [n, h, w, c] = x.shape;
    const tall = zeroPad2d(reshapeView(x, [1, n * h, w, c]), [[1, 1], [0, 0]]);
    return reshapeView(conv2d(tall, this.kernel), [n, h, w, c]);
  }
}

test('inference plan: a model whose ops do not grow in proportion to the batch is traced whole, with the right numbers', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(18);
  const m = new Sequential([Input({ shape: [6, 5, 2] }), new Conv2D({ filters: 2, kernelSize: 3, padding: 'same' }), new TallImage({}), new Flatten(), new Dense({ units: 3 })]);
  randomizeWeights(m, 19);
  for (const n of [3, 7]) {
    const x = input([n, 6, 5, 2], 20 + n);
    const ref = layerByLayer(m, x, n);
    const y = m.predict(x, { batchSize: n });
    const plan = m.inferencePlanFor(x.shape);
    assert.ok(plan, 'planned');
    assert.equal(plan.tracedBatch, n, 'traced at the whole batch');
    assert.ok(maxRel(y, ref, 1e-3 * largest(ref)) <= 1e-5);
    assert.ok(maxRel(m.predict(x, { batchSize: n }), ref, 1e-3 * largest(ref)) <= 1e-5);
  }
});

test('inference plan: scaling the code of one and two samples to a batch (batch.ts)', () => {
  const plan = (code: number[], bufferSizes: number[], inputSize: number, outputSize: number, consts = [new Float32Array(4)]): CompiledPlan => ({
    code: Int32Array.from(code), consts, owned: new Uint8Array(consts.length), bufferSizes, inputSize, outputSize, opCounts: {}, opNames: [], made: [],
  });
  const one = plan([0, 1, 7, 12, 3], [24, 12], 12, 5);
  const two = plan([0, 1, 7, 24, 3], [48, 24], 24, 10);
  const scaled = scaleCompiled(one, two, 9);
  assert.ok(scaled);
  assert.deepEqual([...scaled.code], [0, 1, 7, 108, 3], 'numbers that doubled are 9 times the one-sample ones; the rest stay');
  assert.deepEqual(scaled.bufferSizes, [216, 108]);
  assert.deepEqual([scaled.inputSize, scaled.outputSize], [108, 45]);
  assert.equal(scaled.consts, one.consts);
  assert.equal(scaleCompiled(one, plan([0, 1, 7, 26, 3], [48, 24], 24, 10), 9), null, 'n h + 2: not in proportion');
  assert.equal(scaleCompiled(one, plan([0, 1, 7, 24], [48, 24], 24, 10), 9), null, 'another op list');
  assert.equal(scaleCompiled(one, plan([0, 1, 7, 24, 3], [48, 26], 24, 10), 9), null, 'a buffer not in proportion');
  assert.equal(scaleCompiled(one, plan([0, 1, 7, 24, 3], [48, 24], 24, 5), 9), null, 'an output that does not grow with the batch');
  assert.equal(scaleCompiled(one, plan([0, 1, 7, 24, 3], [48, 24], 24, 10, [new Float32Array(8)]), 9), null, 'constants of other sizes');
  assert.equal(scaleCompiled(one, two, 2 ** 28), null, 'a size past int32');
});

test('inference plan: a model that computes in JavaScript runs layer by layer, with the right numbers', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(15);
  const m = new Sequential([Input({ shape: [8, 8, 2] }), new Conv2D({ filters: 4, kernelSize: 3 }), new JsSquare({}), new Flatten(), new Dense({ units: 3 })]);
  const x1 = input([2, 8, 8, 2], 16);
  const x2 = input([2, 8, 8, 2], 17);
  const y1 = m.predict(x1);
  assert.equal(m.inferencePlanFor(x1.shape), null, 'no plan');
  const y2 = m.predict(x2);
  assert.deepEqual(y1.data, layerByLayer(m, x1, 32).data);
  assert.deepEqual(y2.data, layerByLayer(m, x2, 32).data);
});

test('inference plan: a plan built under one kernel ISA stays right after another is selected', { skip: !native && 'native backend not built' }, () => {
  const info = nativeInfo();
  if (!info || info.bestIsa === 'portable') return;
  resetLayerNames();
  setSeed(21);
  // Few output channels: the plan packs those kernels for the vector width of the ISA it was built under.
  const m = createModel('inception10');
  randomizeWeights(m, 22);
  const x = input([2, 32, 32, 3], 23);
  const ref = layerByLayer(m, x, 2);
  m.predict(x, { batchSize: 2 });
  assert.ok(m.inferencePlanFor(x.shape));
  try {
    for (const isa of ['portable', info.bestIsa === 'avx512' ? 'avx2' : 'portable']) {
      setNativeIsa(isa);
      assert.ok(maxRel(m.predict(x, { batchSize: 2 }), ref) <= 1e-5, `after switching to ${isa}`);
    }
  } finally {
    setNativeIsa(info.isa);
  }
});

test('inference plan: weights packed ahead (main GEMM, column stream), folded copies packed in place or released, on every batch size', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(31);
  // Dense at 1 row (matrix-vector, unpacked), 20 (column stream), 100 (main GEMM reading packed panels); a
  // convolution + batch norm (folded, then packed) at 2 and 9 images (7x7 maps: 98 and 441 rows).
  const mlp = new Sequential([new Dense({ units: 70, activation: 'relu', inputShape: [37] }), new Dense({ units: 10 })]);
  randomizeWeights(mlp, 32);
  for (const batch of [1, 20, 100]) {
    const x = input([batch, 37], 33 + batch);
    const ref = layerByLayer(mlp, x, batch);
    mlp.predict(x, { batchSize: batch });
    assert.ok(mlp.inferencePlanFor(x.shape), `dense plan at batch ${batch}`);
    assert.ok(maxRel(mlp.predict(x, { batchSize: batch }), ref) <= 1e-5, `dense at batch ${batch}`);
  }
  // 40 outputs: folded, packed into the plan's own array (the padded panels are larger); 64: folded and
  // packed in place, into the folded copy's memory; the 1x1 without batch norm: the model's own kernel, copied.
  const cnn = new Sequential([
    new Conv2D({ filters: 40, kernelSize: 3, padding: 'same', inputShape: [7, 7, 24] }),
    new BatchNormalization(),
    new ReLU(),
    new Conv2D({ filters: 64, kernelSize: 3, padding: 'same' }),
    new BatchNormalization(),
    new ReLU(),
    new Conv2D({ filters: 48, kernelSize: 1 }),
    new GlobalAveragePooling2D(),
  ]);
  randomizeWeights(cnn, 34);
  for (const batch of [2, 9]) {
    const x = input([batch, 7, 7, 24], 35 + batch);
    const ref = layerByLayer(cnn, x, batch);
    cnn.predict(x, { batchSize: batch });
    // Collect the folded copies the plan let go; its packed weights must carry it alone.
    (globalThis as { gc?: () => void }).gc?.();
    // Relative to the output's scale: two folded batch norms round differently from the layer-by-layer path, and
    // the pooled outputs pass near zero.
    const floor = 1e-2 * largest(ref);
    for (let i = 0; i < 2; i++) {
      const rel = maxRel(cnn.predict(x, { batchSize: batch }), ref, floor);
      assert.ok(rel <= 1e-5, `conv + BN at batch ${batch}: ${rel}`);
    }
  }
});

test('inference plan: the native decoder refuses a convolution with more inputs than its summand, and an op without input', { skip: !native && 'native backend not built' }, () => {
  const runner = activePlanRunner()!;
  const g = conv2dInfo({ inputShape: [1, 4, 4, 2], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 3 });
  const ints = geometryFields(g);
  const w = new Float32Array(3 * 3 * 2 * 3);
  // op, act, outBuf, outOff, outLd, nIn, (buf, off) x nIn, nInts, ints, nConsts, consts
  const conv = (ins: number[][]) => Int32Array.from([OP.conv, 0, -2, 0, 3, ins.length, ...ins.flat(), ints.length, ...ints, 2, 0, -1]);
  const make = (code: Int32Array) => runner.planCreate(code, [w], [48], 32, 48);
  assert.ok(make(conv([[-1, 0]])), 'one input');
  assert.ok(make(conv([[-1, 0], [0, 0]])), 'an input and a summand');
  assert.throws(() => make(conv([[-1, 0], [0, 0], [0, 0]])), /an op with its inputs/);
  assert.throws(() => make(conv([])), /an op with its inputs/);
});

test('inference plan: a kernel made for the plan alone and packed into a copy is freed when the plan is made; the model\'s own is kept', { skip: !native && 'native backend not built' }, () => {
  const runner = activePlanRunner()!;
  // 40 outputs: the packed panels are larger than the kernel, so it is packed into the plan's own array.
  const g = conv2dInfo({ inputShape: [2, 7, 7, 24], kernelSize: [3, 3], strides: [1, 1], padding: 'same', filters: 40 });
  const ints = geometryFields(g);
  const code = Int32Array.from([OP.conv, 0, -2, 0, 40, 1, -1, 0, ints.length, ...ints, 2, 0, -1]);
  const x = input([2, 7, 7, 24], 51);
  const outputs: Float32Array[] = [];
  for (const owned of [0, 1]) {
    const w = input([3, 3, 24, 40], 52).data as Float32Array;
    const plan = runner.planCreate(code, [w], [0], x.size, 2 * 49 * 40, Uint8Array.of(owned));
    assert.equal(w.length, owned ? 0 : 3 * 3 * 24 * 40, owned ? 'the plan\'s own copy is detached (its memory freed)' : 'the model\'s kernel is untouched');
    const y = new Float32Array(2 * 49 * 40);
    runner.planRun(plan, x.data as Float32Array, y);
    outputs.push(y);
  }
  assert.deepEqual(outputs[1], outputs[0], 'the plan runs on its packed copy either way');
});
