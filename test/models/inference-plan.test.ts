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
import { nativeInfo, setNativeIsa, setNativeThreads } from '../../src/backend/native/index.js';
import '../../src/index.js';
import { Conv2D, Dense, Flatten, MaxPooling2D } from '../../src/layers/index.js';
import { Input } from '../../src/layers/input.js';
import { Layer, resetLayerNames } from '../../src/layers/layer.js';
import { Activation, BatchNormalization, Concatenate, ReLU, ZeroPadding2D, Add, GlobalAveragePooling2D, DepthwiseConv2D } from '../../src/layers/index.js';
import { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel, zoo } from '../../src/zoo/index.js';
import { randomizeWeights } from '../io/keras-h5-fixtures.js';

/**
 * The inference plan (src/backend/plan, native/plan.cc): predict through the compiled plan (batch norm folded,
 * bias and activation in the GEMM epilogue, concatenations written in place, one native call) gives the
 * layer-by-layer numbers within 1e-5 relative, on every zoo model with non-trivial weights and batch norm
 * statistics; it is rebuilt when a weight changes, falls back where a model cannot be planned, and is
 * bit-for-bit deterministic across runs and thread counts.
 */

const native = nativeInfo() !== null;

function input(shape: number[], seed: number): Tensor {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1), shape);
}

/** Largest |a - b| / max(|b|, floor) over all elements. */
function maxRel(a: Tensor, b: Tensor, floor = 1e-6): number {
  assert.deepEqual(a.shape, b.shape);
  let worst = 0;
  for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]) / Math.max(Math.abs(b.data[i]), floor));
  return worst;
}

/** The largest |value| of t: a floor for maxRel where outputs pass near zero. */
function largest(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]));
  return m;
}

function layerByLayer(m: Model, x: Tensor, batchSize: number): Tensor {
  m.useInferencePlan = false;
  const y = m.predict(x, { batchSize });
  m.useInferencePlan = true;
  return y;
}

/** The zoo at small inputs (the same layers and fusions; mobilenet at 64x64 keeps the test fast). */
const ZOO: [string, Record<string, unknown>][] = [
  ['mlp', {}],
  ['baseline', {}],
  ['lenet5', {}],
  ['alexnet8', {}],
  ['vgg16', {}],
  ['inception10', {}],
  ['resnet18', {}],
  ['mobilenet', { inputShape: [64, 64, 3], numClasses: 20 }],
];

for (const [name, options] of ZOO) {
  test(`inference plan: ${name} equals the layer-by-layer path within 1e-5 at batch 1 and 3`, { skip: !native && 'native backend not built' }, () => {
    resetLayerNames();
    setSeed(3);
    const m = createModel(name, options);
    randomizeWeights(m, 11);
    for (const n of [1, 3]) {
      const x = input([n, ...((options.inputShape as number[] | undefined) ?? zoo[name].inputShape)], 20 + n);
      const ref = layerByLayer(m, x, n);
      const first = m.predict(x, { batchSize: n });
      const plan = m.inferencePlanFor(x.shape);
      assert.ok(plan, `${name}: a plan was built for batch ${n}`);
      const y = m.predict(x, { batchSize: n });
      assert.deepEqual(first.data, y.data, 'the call that builds the plan answers with the plan, as every later call');
      const rel = maxRel(y, ref);
      assert.ok(rel <= 1e-5, `${name} batch ${n}: max relative difference ${rel}`);
      // Batch norm is folded away and concatenations are written in place.
      assert.equal(plan.opCounts.affine, undefined, `${name}: no batch norm left: ${JSON.stringify(plan.opCounts)}`);
      assert.equal(plan.opCounts.activation, undefined, `${name}: every activation fused: ${JSON.stringify(plan.opCounts)}`);
      assert.equal(plan.opCounts.concat, undefined, `${name}: concatenations in place`);
      if (name === 'resnet18') assert.equal(plan.opCounts.add, undefined, `${name}: every residual sum in a convolution's epilogue`);
      // At batch 3 the plan is scaled from the traces of one sample and two (src/backend/plan/batch.ts).
      assert.equal(plan.tracedBatch, n === 1 ? 1 : 2, `${name}: traced at ${plan.tracedBatch}`);
      // Of its depthwise-pointwise pairs (at 64x64 every map is under 8 MiB) only the one whose pointwise
      // convolution makes 64 outputs runs as one op (compile.ts, fuseDepthwisePointwise).
      if (name === 'mobilenet') assert.equal(plan.opCounts.depthwisePointwise, 1, `${name}: ${plan.opNames.join(', ')}`);
    }
  });
}

test('inference plan: deterministic across runs and thread counts; a partial last batch gets its own plan', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(4);
  const m = createModel('inception10');
  randomizeWeights(m, 5);
  const x = input([5, 32, 32, 3], 6);
  const ref = layerByLayer(m, x, 2);
  m.predict(x, { batchSize: 2 });
  const a = m.predict(x, { batchSize: 2 });
  const b = m.predict(x, { batchSize: 2 });
  assert.deepEqual(a.data, b.data);
  assert.ok(m.inferencePlanFor([2, 32, 32, 3]) && m.inferencePlanFor([1, 32, 32, 3]));
  assert.ok(maxRel(a, ref) <= 1e-5);
  const threads = nativeInfo()?.threads ?? 1;
  try {
    setNativeThreads(1);
    const c = m.predict(x, { batchSize: 2 });
    assert.deepEqual(c.data, a.data, 'one thread gives the same bits');
  } finally {
    setNativeThreads(threads);
  }
});

test('inference plan: rebuilt after a weight changes (assign, an optimizer step, batch norm statistics)', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(7);
  const m = createModel('baseline');
  randomizeWeights(m, 8);
  const x = input([4, 32, 32, 3], 9);
  m.predict(x);
  const plan = m.inferencePlanFor(x.shape);
  assert.ok(plan?.fresh);
  const bias = m.weights.find((w) => w.name.endsWith('bias'))!;
  bias.assign(bias.data.map((v) => v + 0.5));
  assert.equal(plan.fresh, false, 'assign marks the plan stale');
  const after = m.predict(x);
  assert.ok(maxRel(after, layerByLayer(m, x, 32)) <= 1e-5, 'predict after assign sees the new weight');
  assert.notEqual(m.inferencePlanFor(x.shape), plan, 'a new plan');

  // Another model's weight changing moves the process's count of changes: the plan walks its own weights once,
  // finds them unchanged, and still sees the next change of one of them.
  const other = createModel('lenet5');
  const current = m.inferencePlanFor(x.shape)!;
  other.weights[0].assign(other.weights[0].data.map((v) => v * 2));
  assert.ok(current.fresh, "another model's weights changing leaves the plan fresh");
  assert.ok(current.fresh);
  bias.assign(bias.data.map((v) => v - 0.25));
  assert.equal(current.fresh, false, 'a change of its own after that still marks it stale');
  assert.ok(maxRel(m.predict(x), layerByLayer(m, x, 32)) <= 1e-5);

  // A training step changes weights through the optimizer and batch norm's moving statistics.
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const labels = new Tensor(Float32Array.from([1, 2, 3, 4]), [4]);
  const plan2 = m.inferencePlanFor(x.shape)!;
  m.fit(x, labels, { epochs: 1, batchSize: 4, verbose: 0 });
  assert.equal(plan2.fresh, false, 'fit marks the plan stale');
  assert.ok(maxRel(m.predict(x), layerByLayer(m, x, 32)) <= 1e-5);
});

test('inference plan: Add + ReLU, ZeroPadding2D, a concatenation with a pooled part, a BN after a pool', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(12);
  const inp = Input({ shape: [11, 9, 5] });
  const a = new Conv2D({ filters: 7, kernelSize: 3, strides: 2, padding: 'same' }).apply(inp);
  const b = new Conv2D({ filters: 7, kernelSize: 1, strides: 2 }).apply(new ZeroPadding2D({ padding: [[0, 1], [1, 0]] }).apply(inp));
  const s = new ReLU().apply(new Add().apply([a, new BatchNormalization().apply(b)]));
  const p = new BatchNormalization().apply(new MaxPooling2D({ poolSize: 2, strides: 1, padding: 'same' }).apply(s));
  const c = new Conv2D({ filters: 40, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(s);
  const cat = new Concatenate().apply([p, c, s]);
  const out = new Dense({ units: 6, activation: 'sigmoid' }).apply(new GlobalAveragePooling2D().apply(new Activation({ activation: 'relu6' }).apply(cat)));
  const m = new Model({ inputs: inp, outputs: out });
  randomizeWeights(m, 13);
  const x = input([3, 11, 9, 5], 14);
  const ref = layerByLayer(m, x, 3);
  m.predict(x, { batchSize: 3 });
  const plan = m.inferencePlanFor(x.shape)!;
  assert.ok(plan, 'planned');
  assert.ok(maxRel(m.predict(x, { batchSize: 3 }), ref) <= 1e-5);
  assert.equal(plan.opCounts.concat, 1, 'the parts that are not convolutions are copied');
  assert.equal(plan.opCounts.add, undefined, 'the sum is the later convolution\'s epilogue (the direct few-output kernel, then a pass)');
});

test('inference plan: residual sums fuse into a convolution only where its output has no other reader', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(18);
  const inp = Input({ shape: [9, 9, 40] });
  // Fused: the summand is the plan's input; the main GEMM with the sum in the microkernel's store.
  const r1 = new ReLU().apply(new Add().apply([new Conv2D({ filters: 40, kernelSize: 3, padding: 'same' }).apply(inp), inp]));
  // Not fused: the convolution's output is also read by the next layer; and a convolution with its own relu.
  const c2 = new Conv2D({ filters: 40, kernelSize: 1 }).apply(r1);
  const r2 = new Add().apply([c2, r1]);
  const c3 = new Conv2D({ filters: 40, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(new Add().apply([r2, c2]));
  const r3 = new Add().apply([c3, r2]);
  // Not fused: three summands (two pairwise adds; the convolution runs before the first pair's sum is ready).
  const out = new GlobalAveragePooling2D().apply(new Add().apply([r3, r1, new Conv2D({ filters: 40, kernelSize: 1 }).apply(r3)]));
  const m = new Model({ inputs: inp, outputs: out });
  randomizeWeights(m, 19);
  for (const n of [1, 4]) {
    const x = input([n, 9, 9, 40], 20 + n);
    const ref = layerByLayer(m, x, n);
    m.predict(x, { batchSize: n });
    const plan = m.inferencePlanFor(x.shape)!;
    assert.ok(plan, 'planned');
    // The last pool's sums cancel down to ~2e-4 of the output's largest value in places, and the plan's GEMM
    // (the whole depth as one block) rounds them differently from the layer-by-layer path's: there the
    // difference is measured against that largest value.
    const scale = largest(ref);
    const rel = maxRel(m.predict(x, { batchSize: n }), ref, scale);
    assert.ok(rel <= 1e-5, `max difference ${rel} of the largest output`);
    assert.equal(plan.opCounts.add, 5, `one of six sums fused: ${plan.opNames.join(', ')}`);
    assert.equal(plan.opNames.filter((o) => o.includes('+sum')).length, 1);
  }
});

test('inference plan: a depthwise convolution and the pointwise one reading it run as one op, with a residual sum and a concatenation slice', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(41);
  const inp = Input({ shape: [15, 13, 24] });
  const bnRelu6 = (t: ReturnType<typeof Input>) => new ReLU({ maxValue: 6 }).apply(new BatchNormalization().apply(t));
  // An inverted residual block (MobileNetV2): expand, depthwise, project (linear), plus the block's input.
  const expanded = bnRelu6(new Conv2D({ filters: 48, kernelSize: 1, useBias: false }).apply(inp));
  const dw1 = bnRelu6(new DepthwiseConv2D({ kernelSize: 3, padding: 'same', useBias: false }).apply(expanded));
  const block = new Add().apply([new BatchNormalization().apply(new Conv2D({ filters: 24, kernelSize: 1, useBias: false }).apply(dw1)), inp]);
  // Stride 2 into a concatenation: the pair writes its channel slice.
  const dw2 = bnRelu6(new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(block));
  const pw2 = bnRelu6(new Conv2D({ filters: 20, kernelSize: 1, useBias: false }).apply(dw2));
  const other = new Conv2D({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(block);
  const cat = new Concatenate().apply([pw2, other]);
  // Not paired: a depthwise output with two readers, a depth multiplier of 2, a sigmoid after the depthwise one.
  const dw3 = new DepthwiseConv2D({ kernelSize: 3, padding: 'same', activation: 'relu' }).apply(cat);
  const twoReaders = new Add().apply([new Conv2D({ filters: 32, kernelSize: 1 }).apply(dw3), new Conv2D({ filters: 32, kernelSize: 1 }).apply(dw3)]);
  const dw4 = new DepthwiseConv2D({ kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(twoReaders);
  const dw5 = new DepthwiseConv2D({ kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(new Conv2D({ filters: 16, kernelSize: 1 }).apply(dw4));
  const out = new GlobalAveragePooling2D().apply(new Conv2D({ filters: 10, kernelSize: 1 }).apply(dw5));
  const m = new Model({ inputs: inp, outputs: out });
  randomizeWeights(m, 42);
  for (const n of [1, 3]) {
    const x = input([n, 15, 13, 24], 43 + n);
    const ref = layerByLayer(m, x, n);
    m.predict(x, { batchSize: n });
    const plan = m.inferencePlanFor(x.shape)!;
    assert.ok(plan, 'planned');
    const scale = largest(ref);
    const rel = maxRel(m.predict(x, { batchSize: n }), ref, 1e-3 * scale);
    assert.ok(rel <= 1e-5, `batch ${n}: max relative difference ${rel}`);
    // The stride-2 pair has 8x7 output pixels: at batch 1 (56, at most 64) its pointwise convolution takes the
    // small-M GEMM and the two stay apart.
    const pairs = plan.opNames.filter((o) => o.startsWith('depthwisePointwise'));
    assert.equal(pairs.length, n === 1 ? 1 : 2, `pairs at batch ${n}: ${plan.opNames.join(', ')}`);
    assert.equal(plan.opCounts.depthwise, n === 1 ? 4 : 3, 'the depthwise convolutions that are not paired');
    assert.ok(pairs[0].includes('+sum'), `the residual sum in the first pair: ${pairs[0]}`);
    if (n === 3) assert.ok(pairs[1].includes('(in place)'), `the second pair writes its slice of the concatenation: ${pairs[1]}`);
    assert.equal(plan.opCounts.concat, undefined, 'both parts of the concatenation written in place');
  }
});

test('inference plan: a residual sum written over its summand, on every kernel path that adds it', { skip: !native && 'native backend not built' }, () => {
  resetLayerNames();
  setSeed(51);
  const inp = Input({ shape: [9, 7, 16] });
  const stem = new Conv2D({ filters: 24, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(inp);
  // The main GEMM, the whole depth in one block: each tile reads its summand right before its store.
  const a = new ReLU().apply(new Add().apply([new Conv2D({ filters: 24, kernelSize: 3, padding: 'same' }).apply(stem), stem]));
  // A sigmoid after the sum (a pass after the store): the summand is copied first.
  const b = new Activation({ activation: 'sigmoid' }).apply(new Add().apply([new Conv2D({ filters: 24, kernelSize: 1 }).apply(a), a]));
  // Eight outputs: the direct few-output kernel, which adds the summand after writing its rows.
  const narrow = new Conv2D({ filters: 8, kernelSize: 1, activation: 'relu' }).apply(b);
  const c = new Add().apply([new Conv2D({ filters: 8, kernelSize: 3, padding: 'same' }).apply(narrow), narrow]);
  // A packed A deeper than one block (1x1, 1100 channels into 160): several depth blocks, the summand copied.
  const proj = new Conv2D({ filters: 160, kernelSize: 1, activation: 'relu' }).apply(c);
  const wide = new Conv2D({ filters: 1100, kernelSize: 1, activation: 'relu' }).apply(proj);
  const d = new Add().apply([new Conv2D({ filters: 160, kernelSize: 1 }).apply(wide), proj]);
  // A depthwise-pointwise pair whose sum is written over its summand.
  const dw = new ReLU({ maxValue: 6 }).apply(new BatchNormalization().apply(new DepthwiseConv2D({ kernelSize: 3, padding: 'same', useBias: false }).apply(d)));
  const e = new Add().apply([new BatchNormalization().apply(new Conv2D({ filters: 160, kernelSize: 1, useBias: false }).apply(dw)), d]);
  const out = new GlobalAveragePooling2D().apply(e);
  const m = new Model({ inputs: inp, outputs: out });
  randomizeWeights(m, 52);
  // Batch 1 (63 pixels): the small-M GEMM, which gets a copy of the summand; batch 3: the main GEMM and the pair.
  for (const n of [1, 3]) {
    const x = input([n, 9, 7, 16], 53 + n);
    const ref = layerByLayer(m, x, n);
    m.predict(x, { batchSize: n });
    const plan = m.inferencePlanFor(x.shape)!;
    assert.ok(plan, 'planned');
    assert.equal(plan.opCounts.add, undefined, `every sum fused: ${plan.opNames.join(', ')}`);
    const scale = largest(ref);
    for (let i = 0; i < 2; i++) {
      const rel = maxRel(m.predict(x, { batchSize: n }), ref, 1e-3 * scale);
      assert.ok(rel <= 1e-5, `batch ${n}, run ${i + 1}: max relative difference ${rel}`);
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
