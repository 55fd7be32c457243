import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import '../../src/index.js';
import { checkOnnxModel } from '../../src/export/onnx-check.js';
import { exportOnnx, toOnnx } from '../../src/export/onnx.js';
import { Dense } from '../../src/layers/core.js';
import { CallOptions, Layer, LayerInput } from '../../src/layers/layer.js';
import { Sequential } from '../../src/models/sequential.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { zooNames } from '../../src/zoo/index.js';
import { assertClose, randomInput, runOnnx, toNchw, zooModel } from './onnx-helpers.js';

const { onnx } = onnxProto;

/**
 * Every zoo model exported and run in ONNX Runtime agrees with convkit (vgg16-slim, which needs a 224 input,
 * has a file of its own). Sizes are cut where the architecture allows, to keep the reference backend quick.
 */
/** Smaller variants where the architecture allows (any zoo model not listed runs as defined). */
const SMALLER: Record<string, Record<string, unknown>> = {
  resnet18: { initialFilters: 16 },
  mobilenet: { inputShape: [64, 64, 3], alpha: 0.25, numClasses: 10 },
};
const MODELS: [string, Record<string, unknown>][] = zooNames()
  .filter((n) => n !== 'vgg16-slim')
  .map((n) => [n, SMALLER[n] ?? {}]);

for (const [name, options] of MODELS) {
  test(`${name}: ONNX (NHWC, BN folded) is valid and agrees with convkit to 1e-4`, async () => {
    const model = zooModel(name, options);
    const x = randomInput(model, 2, 11);
    const expected = model.predict(x);
    const bytes = model.toOnnx();
    const report = checkOnnxModel(bytes);
    assert.equal(report.opset, 13);
    assert.equal(report.inputs[0].name, 'input');
    assert.deepEqual(report.inputs[0].shape, [null, ...x.shape.slice(1)]);
    assert.deepEqual(report.outputs, [{ name: 'output', shape: [null, expected.shape[1]] }]);
    assert.equal(report.ops.BatchNormalization, undefined, 'every BN follows a conv and is folded');
    assert.ok(MODELS.length >= 8 && zooNames().includes('vgg16-slim'), 'every zoo model is covered (vgg16-slim in its own file)');
    assert.equal(report.ops.Dropout, undefined);
    // Weights are embedded: the file holds every parameter (folding adds at most a bias per conv).
    assert.ok(bytes.length >= model.countParams() * 4 * 0.95, `${bytes.length} bytes for ${model.countParams()} params`);
    const y = await runOnnx(bytes, x);
    assert.deepEqual(y.dims, expected.shape);
    assertClose(y.data, expected.data, name);
  });
}

test('NCHW input and BatchNormalization kept: same predictions (ResNet18 and MobileNet)', async () => {
  for (const [name, options] of MODELS.filter(([n]) => n === 'resnet18' || n === 'mobilenet' || n === 'inception10')) {
    const model = zooModel(name, options, 3);
    const x = randomInput(model, 2, 12);
    const expected = model.predict(x);
    const bytes = toOnnx(model, { inputLayout: 'NCHW', batchNorm: 'keep' });
    const report = checkOnnxModel(bytes);
    assert.ok(report.ops.BatchNormalization > 0);
    assert.deepEqual(report.inputs[0].shape, [null, x.shape[3], x.shape[1], x.shape[2]]);
    assertClose((await runOnnx(bytes, toNchw(x))).data, expected.data, `${name} NCHW`);
    const fixed = checkOnnxModel(toOnnx(model, { batchSize: 2 }));
    assert.deepEqual(fixed.inputs[0].shape, [2, ...x.shape.slice(1)]);
  }
});

test('MobileNet without top: a rank-4 output comes back NHWC (or NCHW on request); metadata names the model', async () => {
  const model = zooModel('mobilenet', { inputShape: [32, 32, 3], alpha: 0.25, includeTop: false });
  const x = randomInput(model, 1, 5);
  const expected = model.predict(x);
  const nhwc = toOnnx(model);
  assert.deepEqual(checkOnnxModel(nhwc).outputs[0].shape, [null, 1, 1, 256]);
  assertClose((await runOnnx(nhwc, x)).data, expected.data, 'no top, NHWC');
  const nchw = toOnnx(model, { inputLayout: 'NCHW' });
  assert.deepEqual(checkOnnxModel(nchw).outputs[0].shape, [null, 256, 1, 1]);
  assertClose((await runOnnx(nchw, toNchw(x))).data, toNchw(expected).data, 'no top, NCHW');
  const meta = Object.fromEntries(onnx.ModelProto.decode(nhwc).metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta['convkit.zoo'], 'mobilenet');
  assert.equal(meta['convkit.preprocessing'], 'tf');
  assert.equal(meta['convkit.input_layout'], 'NHWC');
});

test('exportOnnx writes the file; a layer without a converter is named in the error', async () => {
  const model = zooModel('lenet5', {});
  const path = join(mkdtempSync(join(tmpdir(), 'onnx-')), 'lenet5.onnx');
  const bytes = exportOnnx(model, path);
  assert.ok(existsSync(path));
  assert.equal(Buffer.compare(readFileSync(path), bytes), 0);
  class Doubler extends Layer {
    call(inputs: LayerInput, _opts: CallOptions = {}): Tensor {
      return this.single(inputs);
    }
  }
  const custom = new Sequential([new Dense({ units: 2, inputShape: [3] }), new Doubler({ name: 'twice' })]);
  assert.throws(() => custom.toOnnx(), /^Error: ONNX export: no converter for Doubler 'twice'; register one with registerOnnxConverter\(Doubler, \.\.\.\)$/);
  assert.throws(() => toOnnx(model, { inputLayout: 'NWHC' as 'NHWC' }), /toOnnx: argument 'inputLayout' expected 'NHWC' or 'NCHW', received 'NWHC'/);
});

test('the checker refuses unsorted nodes, unused initializers, undeclared opsets and inconsistent shapes', () => {
  const bytes = zooModel('lenet5', {}).toOnnx();
  const broken = (edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array => {
    const m = onnx.ModelProto.decode(bytes);
    edit(m);
    return onnx.ModelProto.encode(m).finish();
  };
  const cases: [string, (m: onnxProto.onnx.ModelProto) => void, RegExp][] = [
    ['unsorted', (m) => m.graph!.node!.reverse(), /input 'input_nchw' is not produced before this node \(graph not topologically sorted, or missing\)/],
    ['unused', (m) => m.graph!.initializer!.push({ name: 'orphan', dims: [1], dataType: 1, rawData: new Uint8Array(4) }), /initializer 'orphan' is never used/],
    ['opset', (m) => (m.opsetImport = []), /opset_import expected an entry for the default domain, found none/],
    ['shape', (m) => (m.graph!.output![0].type!.tensorType!.shape!.dim![1] = { dimValue: 11 }), /graph output 'output': declared shape \[\?, 11\], inferred \[\?, 10\]/],
    ['bytes', (m) => (m.graph!.initializer![0].rawData = new Uint8Array(3)), /initializer '.*': dims \[.*\] need \d+ bytes, it holds 3/],
    ['channels', (m) => (m.graph!.initializer!.find((t) => t.name === 'conv2d_1/kernel')!.dims = [16, 5, 5, 6]), /Conv input channels vs weight channels x group: 6 vs 5/],
  ];
  for (const [what, edit, pattern] of cases) assert.throws(() => checkOnnxModel(broken(edit)), pattern, what);
});
