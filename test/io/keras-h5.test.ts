import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '../../src/index.js';
import { isHdf5File } from '../../src/io/h5-file.js';
import { loadKerasWeights } from '../../src/io/keras-h5.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import type { Model } from '../../src/models/model.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel } from '../../src/zoo/index.js';
import type { ZooOptions } from '../../src/zoo/options.js';
import { containerize, keras3Spec, legacySpec, randomizeWeights, writeKeras3H5, writeLegacyH5 } from './keras-h5-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'keras-h5-'));
const file = (name: string): string => join(dir, name);

/** Each build numbers its layers afresh (conv2d, conv2d_1, ...), so checkpoints (by name) fit any copy. */
function build(name: string, options: ZooOptions & Record<string, unknown>, seed: number): Model {
  resetLayerNames();
  setSeed(seed);
  return createModel(name, options);
}

function input(model: Model, n: number, seed: number): Tensor {
  const shape = (model.inputs[0]?.shape ?? model.layers[0].batchInputShape) as (number | null)[];
  const size = shape.slice(1).reduce<number>((a, b) => a * (b as number), 1);
  const rng = new Random(seed);
  return new Tensor(Float32Array.from({ length: n * size }, () => rng.uniform()), [n, ...(shape.slice(1) as number[])]);
}

const snapshot = (m: Model): Float32Array[] => m.weights.map((w) => Float32Array.from(w.data));

/** A source model with random weights, a fresh model to load into, and the source's weights as a checkpoint. */
async function trio(name: string, options: ZooOptions & Record<string, unknown>): Promise<{ source: Model; viaH5: Model; viaCkpt: Model }> {
  const source = build(name, options, 1);
  randomizeWeights(source, 7);
  const ckpt = file(`${name}-${Math.random().toString(36).slice(2)}.safetensors`);
  source.saveWeights(ckpt);
  const viaCkpt = build(name, options, 2);
  await viaCkpt.loadWeights(ckpt);
  return { source, viaH5: build(name, options, 3), viaCkpt };
}

function assertSamePredictions(a: Model, b: Model, x: Tensor): void {
  assert.deepEqual(Array.from(a.predict(x).data), Array.from(b.predict(x).data));
}

test('MobileNet 1.0/224 in the keras.applications layout loads by name and predicts as the same weights from a checkpoint', async () => {
  const { source, viaH5, viaCkpt } = await trio('mobilenet', {});
  const spec = legacySpec(source, 'tf-keras');
  assert.equal(spec.filter((l) => l.weights.length > 0).length, 55, 'weighted layers');
  assert.equal(spec.reduce((n, l) => n + l.weights.length, 0), 137, 'arrays');
  assert.ok(spec.some((l) => l.weights.some((w) => w.name === 'conv_dw_1/depthwise_kernel:0')));
  const path = file('mobilenet_1_0_224_tf.h5');
  await writeLegacyH5(path, spec, { kerasVersion: '2.0.6' });
  assert.ok(isHdf5File(path));
  const x = input(viaH5, 1, 5);
  assert.notDeepEqual(Array.from(viaH5.predict(x).data), Array.from(viaCkpt.predict(x).data), 'fresh weights differ');
  const report = await loadKerasWeights(viaH5, path);
  assert.deepEqual(report, { path, layout: 'legacy', matchedBy: 'name', kerasVersion: '2.0.6', backend: 'tensorflow', arrays: 137 });
  assertSamePredictions(viaH5, viaCkpt, x);
});

test('legacy files: Keras 3 and Keras 1 weight names, a full-model file, and model.loadWeights dispatch', async () => {
  const { source, viaCkpt } = await trio('mobilenet', { inputShape: [96, 96, 3], alpha: 0.25, numClasses: 7 });
  const x = input(source, 2, 9);
  for (const [style, under] of [['keras3', false], ['keras1', false], ['tf-keras', true]] as const) {
    const path = file(`mobilenet-${style}-${under}.h5`);
    await writeLegacyH5(path, legacySpec(source, style), { kerasVersion: style === 'keras1' ? null : '3.6.0', underModelWeights: under });
    const m = build('mobilenet', { inputShape: [96, 96, 3], alpha: 0.25, numClasses: 7 }, 4);
    await m.loadWeights(path);
    assertSamePredictions(m, viaCkpt, x);
  }
  // Dispatch is by content: an HDF5 file named .bin still loads as Keras weights.
  const odd = file('weights.bin');
  await writeLegacyH5(odd, legacySpec(source));
  const m = build('mobilenet', { inputShape: [96, 96, 3], alpha: 0.25, numClasses: 7 }, 4);
  await m.loadWeights(odd);
  assertSamePredictions(m, viaCkpt, x);
  const zipped = file('model.keras');
  writeFileSync(zipped, Buffer.from('PK\x03\x04 rest of a zip archive'));
  await assert.rejects(m.loadWeights(zipped), /not an HDF5 file \(no HDF5 signature\); it is a zip archive \(a \.keras file\?\): extract its model\.weights\.h5 and load that/);
  const bogus = file('bogus.h5');
  writeFileSync(bogus, 'not hdf5 at all');
  await assert.rejects(m.loadWeights(bogus), /HDF5 file '.*bogus\.h5': not an HDF5 file/);
});

test('legacy MobileNet files with a missing layer, an extra layer or a wrong shape are refused, naming it; the model is unchanged', async () => {
  const opts = { inputShape: [64, 64, 3] as [number, number, number], alpha: 0.25, numClasses: 5 };
  resetLayerNames();
  const source = build('mobilenet', opts, 1);
  randomizeWeights(source, 3);
  const target = build('mobilenet', opts, 2);
  const before = snapshot(target);
  const base = legacySpec(source);
  const cases: [string, typeof base, RegExp][] = [
    ['missing', base.filter((l) => l.name !== 'conv_dw_3'), /1 problem, matching layers by name\):\n  missing layer 'conv_dw_3' \(DepthwiseConv2D, 1 weight: conv_dw_3\/depthwise_kernel \(3, 3, 32, 1\)\): not in the file$/],
    [
      'extra',
      [...base, { name: 'conv_extra', weights: [{ name: 'conv_extra/kernel:0', shape: [1, 1, 4, 4], data: new Float32Array(16), trainable: true }] }],
      /extra layer 'conv_extra' in the file \(1 weight: conv_extra\/kernel:0 \(1, 1, 4, 4\)\): the model has no layer of that name/,
    ],
    [
      'shape',
      base.map((l) => (l.name === 'conv_pw_5' ? { ...l, weights: [{ ...l.weights[0], shape: [1, 1, 64, 65], data: new Float32Array(64 * 65) }] } : l)),
      /layer 'conv_pw_5' weight 'conv_pw_5\/kernel': expected shape \(1, 1, 64, 64\), file shape \(1, 1, 64, 65\) \(dataset '\/conv_pw_5\/conv_pw_5\/kernel:0'\)/,
    ],
    [
      'count',
      base.map((l) => (l.name === 'conv1_bn' ? { ...l, weights: l.weights.slice(0, 3) } : l)),
      /layer 'conv1_bn' \(BatchNormalization\): expected 4 weights \[conv1_bn\/gamma \(8\), conv1_bn\/beta \(8\), conv1_bn\/moving_mean \(8\), conv1_bn\/moving_variance \(8\)\], the file has 3/,
    ],
  ];
  for (const [what, spec, pattern] of cases) {
    const path = file(`mobilenet-${what}.h5`);
    await writeLegacyH5(path, spec);
    await assert.rejects(loadKerasWeights(target, path), (e: Error) => {
      assert.match(e.message, new RegExp(`^Keras weights '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' \\(legacy HDF5 layout, Keras 2\\.0\\.6\\) do not fit model '${target.name}'`));
      assert.match(e.message, pattern, what);
      return true;
    });
    snapshot(target).forEach((w, i) => assert.deepEqual(w, before[i], `${what}: weights untouched`));
  }
  const forced = file('mobilenet-order.h5');
  await writeLegacyH5(forced, base.filter((l) => l.name !== 'conv_dw_3'));
  await assert.rejects(loadKerasWeights(target, forced, { match: 'order' }), /matching layers by order\):\n  layer 'conv_dw_3' \(file layer 'conv_dw_3_bn'\) \(DepthwiseConv2D\): expected 1 weight/);
});

test('Keras 3 .weights.h5: MobileNet with and without recorded names; missing, extra and mis-shaped groups are refused', async () => {
  const opts = { inputShape: [64, 64, 3] as [number, number, number], alpha: 0.25, numClasses: 5 };
  const { source, viaH5, viaCkpt } = await trio('mobilenet', opts);
  const entries = keras3Spec(source);
  assert.ok(entries.some((e) => e.path === 'layers/depthwise_conv2d_12' && e.name === 'conv_dw_13'));
  assert.ok(entries.some((e) => e.path === 'layers/batch_normalization_26' && e.name === 'conv_pw_13_bn'));
  assert.ok(entries.some((e) => e.path === 'layers/conv2d_14' && e.name === 'conv_preds' && e.vars.length === 2));
  const x = input(source, 2, 4);
  for (const withNames of [false, true]) {
    const path = file(`mobilenet-${withNames}.weights.h5`);
    await writeKeras3H5(path, entries, { withNames });
    const m = withNames ? viaH5 : build('mobilenet', opts, 5);
    const report = await loadKerasWeights(m, path);
    assert.equal(report.layout, 'keras3');
    assert.equal(report.matchedBy, withNames ? 'name' : 'path');
    assert.equal(report.arrays, m.weights.length);
    assertSamePredictions(m, viaCkpt, x);
  }
  const target = build('mobilenet', opts, 6);
  const before = snapshot(target);
  const cases: [string, typeof entries, RegExp][] = [
    ['missing', entries.filter((e) => e.path !== 'layers/depthwise_conv2d_2'), /missing layer 'conv_dw_3' \(DepthwiseConv2D, 1 weight: conv_dw_3\/depthwise_kernel \(3, 3, 32, 1\)\): the file has no '\/layers\/depthwise_conv2d_2\/vars'/],
    ['extra', [...entries, { path: 'layers/conv2d_99', name: 'conv_extra', vars: [{ shape: [2], data: new Float32Array(2) }] }], /extra weights in the file: '\/layers\/conv2d_99\/vars' holds 1 \[\(2\)\], matching no layer of the model/],
    [
      'shape',
      entries.map((e) => (e.path === 'layers/conv2d_14' ? { ...e, vars: [e.vars[0], { shape: [6], data: new Float32Array(6) }] } : e)),
      /layer 'conv_preds' weight 'conv_preds\/bias': expected shape \(5\), file shape \(6\) \(dataset '\/layers\/conv2d_14\/vars\/1'\)/,
    ],
  ];
  for (const [what, spec, pattern] of cases) {
    const path = file(`mobilenet-k3-${what}.weights.h5`);
    await writeKeras3H5(path, spec);
    await assert.rejects(loadKerasWeights(target, path), (e: Error) => {
      assert.match(e.message, /\(Keras 3 \.weights\.h5 layout\) do not fit model/);
      assert.match(e.message, pattern, what);
      return true;
    });
    snapshot(target).forEach((w, i) => assert.deepEqual(w, before[i], `${what}: weights untouched`));
  }
});

test('CIFAR models: LeNet5 and ResNet18 (composite blocks) in both layouts, and the course container layout', async () => {
  for (const [name, opts] of [['lenet5', {}], ['resnet18', { initialFilters: 8 }]] as const) {
    const { source, viaH5, viaCkpt } = await trio(name, opts);
    const x = input(source, 2, 8);
    // Names as a fresh Keras session makes them; our process numbered its layers differently, so by order.
    const spec = legacySpec(source).map((l, i) => ({ ...l, name: `keras_${i}` }));
    const legacy = file(`${name}.h5`);
    await writeLegacyH5(legacy, spec, { kerasVersion: '2.13.1' });
    assert.equal((await loadKerasWeights(viaH5, legacy)).matchedBy, 'order');
    assertSamePredictions(viaH5, viaCkpt, x);
    const k3 = file(`${name}.weights.h5`);
    await writeKeras3H5(k3, keras3Spec(source));
    const m = build(name, opts, 9);
    assert.equal((await loadKerasWeights(m, k3)).matchedBy, 'path');
    assertSamePredictions(m, viaCkpt, x);
  }
  const { source, viaH5, viaCkpt } = await trio('resnet18', { initialFilters: 8 });
  const spec = legacySpec(source);
  const first = spec.findIndex((l) => l.name.startsWith('resnet_block'));
  const entries = keras3Spec(source);
  assert.ok(entries.some((e) => /^layers\/resnet_block_2\/down_c1$/.test(e.path)), 'sub-layers under snake_case attribute names');
  // ResNet18(Model) in the course: c1, b1, a1, blocks (a Sequential of 8 ResnetBlocks), p1, f1.
  const course = containerize(spec, first, 8);
  assert.equal(course.filter((l) => l.weights.length > 0).length, 4);
  const path = file('resnet18-course.h5');
  await writeLegacyH5(path, course);
  assert.equal((await loadKerasWeights(viaH5, path)).matchedBy, 'order');
  assertSamePredictions(viaH5, viaCkpt, input(source, 2, 3));
  // The same class in Keras 3 (save_weights to .weights.h5): layers under attribute names, blocks under
  // blocks/layers/resnet_block_k; Keras >= 3.6 records layer names, which is what lets it load.
  const top: Record<string, string> = { conv2d: 'c1', batch_normalization: 'b1', activation: 'a1', global_average_pooling2d: 'p1', dense: 'f1' };
  const courseK3 = [
    ...entries
      .filter((e) => e.path !== 'layers/input_layer')
      .map((e) => ({ ...e, path: e.path.startsWith('layers/resnet_block') ? `blocks/${e.path}` : e.path.replace(/^layers\/(\w+)$/, (_, k: string) => top[k] ?? k) })),
    { path: 'blocks', name: 'sequential', vars: [] },
  ];
  assert.ok(courseK3.some((e) => e.path === 'blocks/layers/resnet_block_7/b2') && courseK3.some((e) => e.path === 'f1' && e.vars.length === 2));
  const k3Course = file('resnet18-course.weights.h5');
  await writeKeras3H5(k3Course, courseK3, { withNames: true });
  const fromK3 = build('resnet18', { initialFilters: 8 }, 12);
  assert.equal((await loadKerasWeights(fromK3, k3Course)).matchedBy, 'name');
  assertSamePredictions(fromK3, viaCkpt, input(source, 2, 3));
  // A composite block's nested group missing / mis-shaped in the Keras 3 layout.
  const target = build('resnet18', { initialFilters: 8 }, 10);
  const missing = file('resnet18-missing.weights.h5');
  await writeKeras3H5(missing, entries.filter((e) => e.path !== 'layers/resnet_block_2/down_b1'));
  await assert.rejects(loadKerasWeights(target, missing), /missing layer 'batch_normalization_\d+' \(BatchNormalization, 4 weights: .*\): the file has no '\/layers\/resnet_block_2\/down_b1\/vars'/);
});
