import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeInfo, setNativeThreads } from '../../src/backend/native/index.js';
import '../../src/index.js';
import { Conv2D, Dense, MaxPooling2D } from '../../src/layers/index.js';
import { Input } from '../../src/layers/input.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { Activation, BatchNormalization, Concatenate, ReLU, ZeroPadding2D, Add, GlobalAveragePooling2D, DepthwiseConv2D } from '../../src/layers/index.js';
import { Model } from '../../src/models/model.js';
import { setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel, zoo } from '../../src/zoo/index.js';
import { randomizeWeights } from '../io/keras-h5-fixtures.js';
import { ZOO, native, input, maxRel, largest, layerByLayer } from './plan-helpers.js';

/**
 * The inference plan (src/backend/plan, native/plan.cc): predict through the compiled plan (batch norm folded,
 * bias and activation in the GEMM epilogue, concatenations written in place, one native call) gives the
 * layer-by-layer numbers within 1e-5 relative, on every zoo model with non-trivial weights and batch norm
 * statistics; it is rebuilt when a weight changes, falls back where a model cannot be planned, and is
 * bit-for-bit deterministic across runs and thread counts.
 */

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
