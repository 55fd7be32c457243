import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { Dense } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { CallOptions, Layer, LayerInput } from '../../src/layers/layer.js';
import { GlobalAveragePooling2D } from '../../src/layers/pooling.js';
import { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { relu } from '../../src/ops/activations.js';
import { add } from '../../src/ops/elementwise.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { LayerAnalysis, ModelAnalysis, analyzeModel, modelFlops } from '../../src/report/analysis.js';
import { createModel, zooNames } from '../../src/zoo/index.js';

const row = (a: ModelAnalysis, name: string): LayerAnalysis => {
  const r = a.rows.find((q) => q.name === name);
  assert.ok(r, `row '${name}' in ${a.rows.map((q) => q.name).join(', ')}`);
  return r;
};
const rf = (r: LayerAnalysis): [number, number] => [r.receptiveField!.size[0], r.receptiveField!.jump[0]];

test('receptive fields: LeNet5 by hand (5, 6, 14, 16; jumps 1, 2, 2, 4), and two stacked 3x3 convolutions see 5x5', () => {
  const a = analyzeModel(createModel('lenet5'));
  const spatial = a.rows.filter((r) => r.outputShape.length === 4 && r.kind === 'layer').map(rf);
  assert.deepEqual(spatial, [[5, 1], [6, 2], [14, 2], [16, 4]]);
  // Flatten of the 5x5 map: every feature sees 16 + (5 - 1) * 4 = 32 pixels.
  assert.deepEqual(rf(row(a, 'flatten')), [32, 20]);
  const two = new Sequential([new Conv2D({ filters: 2, kernelSize: 3, inputShape: [12, 12, 1] }), new Conv2D({ filters: 2, kernelSize: 3 })]);
  const b = analyzeModel(two);
  assert.deepEqual(rf(b.rows[2]), [5, 1]);
  // With dilation 2, a 3x3 window spans 5: 1 + 4 = 5, then 5 + 2 * 1 = 7 for a plain 3x3 on top.
  const dil = analyzeModel(new Sequential([new Conv2D({ filters: 1, kernelSize: 3, dilationRate: 2, inputShape: [12, 12, 1] }), new Conv2D({ filters: 1, kernelSize: 3 })]));
  assert.deepEqual(dil.rows.slice(1).map(rf), [[5, 1], [7, 1]]);
});

test("receptive fields: VGG16's last conv sees 196 pixels with jump 16; its last pool 212", () => {
  const a = analyzeModel(createModel('vgg16'));
  const convs = a.rows.filter((r) => r.type === 'Conv2D');
  assert.equal(convs.length, 13);
  assert.deepEqual(rf(convs[12]), [196, 16]);
  // Stage by stage: 3 + 2 = 5 (+1 pool = 6), 6 + 2*2*2 = 14 (+2 = 16), 16 + 3*2*4 = 40 (+4 = 44), 44 + 3*2*8 = 92 (+8 = 100).
  assert.deepEqual([1, 3, 6, 9].map((i) => rf(convs[i])[0]), [5, 14, 40, 92]);
  assert.deepEqual(a.totals.maxReceptiveField, { size: [212, 212], jump: [32, 32] });
});

test('branches: Inception and ResNet blocks take the largest receptive field over their paths', () => {
  const inc = analyzeModel(createModel('inception10'));
  const block = inc.rows.find((r) => r.type === 'InceptionBlk')!;
  // 3x3 stem (3), then the 1x1 /2 -> 5x5 branch: 3 + 4 * 2 = 11 with jump 2 (the pool branch only reaches 5).
  assert.deepEqual(rf(block), [11, 2]);
  const inner = inc.rows.filter((r) => r.parent === block.id);
  assert.equal(inner.filter((r) => r.type === 'ConvBNRelu').length, 6);
  assert.deepEqual(rf(inner.find((r) => r.type === 'MaxPooling2D')!), [5, 1]);
  const concat = inc.rows[block.output!];
  assert.equal(concat.name, 'concat');
  assert.equal(concat.inputs.length, 4, 'four branches join');
  const res = analyzeModel(createModel('resnet18'));
  const first = res.rows.find((r) => r.type === 'ResnetBlock')!;
  assert.deepEqual(rf(first), [7, 1], 'stem 3, then two 3x3: 7; the identity shortcut brings 3');
  const sum = res.rows.find((r) => r.parent === first.id && r.name === 'add')!;
  assert.deepEqual(sum.inputs.map((i) => res.rows[i].type).sort(), ['Activation', 'BatchNormalization'], 'main path and the shortcut from outside');
  const down = res.rows.filter((r) => r.type === 'ResnetBlock')[2];
  assert.equal(res.rows.filter((r) => r.parent === down.id && r.type === 'Conv2D').length, 3, '1x1 /2 shortcut conv');
});

/** A user's block with plain ops in its call: a residual unit. */
class Residual extends Layer {
  readonly a = new Conv2D({ filters: 4, kernelSize: 3, padding: 'same' });
  readonly b = new Conv2D({ filters: 4, kernelSize: 3, padding: 'same' });
  call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    const x = this.single(inputs);
    return relu(add(this.b.apply(relu(this.a.apply(x, opts)), opts), x));
  }
}

class Net extends Model {
  readonly conv = new Conv2D({ filters: 4, kernelSize: 3, strides: 2 });
  readonly block = new Residual();
  readonly head = new Dense({ units: 3 });
  override call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    return this.head.apply(this.block.apply(this.conv.apply(inputs, opts), opts), opts);
  }
}

test("user-built models: a custom block's plain ops and shortcut, a subclassed model, and tracing leaves no trace", () => {
  const x = Input({ shape: [8, 8, 4] });
  const block = new Residual();
  const m = new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(new GlobalAveragePooling2D().apply(block.apply(x))) });
  const a = analyzeModel(m);
  assert.deepEqual(a.rows.map((r) => `${r.kind}:${r.type === 'op' ? r.name : r.type}@${r.depth}`), [
    'input:InputLayer@0', 'block:Residual@0', 'layer:Conv2D@1', 'op:relu@1', 'layer:Conv2D@1', 'op:add@1', 'op:relu@1', 'layer:GlobalAveragePooling2D@0', 'layer:Dense@0',
  ]);
  const addRow = a.rows[5];
  assert.deepEqual(addRow.inputs, [4, 0], 'add reads the second conv and the model input');
  assert.deepEqual(rf(addRow), [5, 1]);
  assert.deepEqual(rf(a.rows[7]), [12, 8], 'global pooling of 8x8: 5 + 7');
  assert.equal(a.rows[1].macs, 2 * 8 * 8 * 9 * 4 * 4);
  for (const l of [block, block.a, block.b]) assert.equal(Object.getOwnPropertyDescriptor(l, 'call'), undefined, 'call unwrapped');
  assert.throws(() => analyzeModel(new Net()), /give options.inputShape/);
  const n = analyzeModel(new Net(), { inputShape: [9, 9, 2] });
  assert.equal(n.rows[1].kind, 'block');
  assert.deepEqual(n.rows.filter((r) => r.depth === 2).map((r) => (r.type === 'op' ? r.name : r.type)), ['Conv2D', 'relu', 'Conv2D', 'add', 'relu']);
  assert.deepEqual(n.rows[n.rows.length - 1].outputShape, [null, 4, 4, 3], 'Dense on the 4x4 map');
  assert.equal(n.totals.macs, 4 * 4 * 9 * 2 * 4 + 2 * 4 * 4 * 9 * 4 * 4 + 4 * 4 * 4 * 3);
});

/** Independent count: 2 * oh * ow * kh * kw * cin * cout from each layer's own attributes, no geometry code. */
function independentFlops(model: Model): { forward: number; first: number } {
  let forward = 0;
  let first = -1;
  const seen = new Set<Layer>();
  const visit = (l: Layer): void => {
    if (seen.has(l)) return;
    seen.add(l);
    let f = 0;
    const s = l.lastOutputShape as number[];
    if (l instanceof Conv2D) f = 2 * s[1] * s[2] * l.kernel.shape.reduce((a, b) => a * b, 1);
    else if (l instanceof DepthwiseConv2D) f = 2 * s[1] * s[2] * l.depthwiseKernel.shape.reduce((a, b) => a * b, 1);
    else if (l instanceof Dense) f = 2 * s.slice(1, -1).reduce((a, b) => a * b, 1) * l.kernel.shape[0] * l.kernel.shape[1];
    if (f > 0 && first < 0) first = f;
    forward += f;
    for (const sub of l.layers) visit(sub);
  };
  visit(model);
  return { forward, first };
}

test('FLOPs of every zoo model equal an independent count; training = 3x minus the first layer\'s unneeded backprop-input', () => {
  for (const name of zooNames()) {
    const model = createModel(name);
    const want = independentFlops(model);
    const a = analyzeModel(model);
    assert.equal(a.totals.flops, want.forward, `${name} forward`);
    assert.equal(a.totals.macs * 2, a.totals.flops);
    assert.equal(modelFlops(model), want.forward, `${name} modelFlops`);
    assert.equal(modelFlops(model, { training: true }), 3 * want.forward - want.first, `${name} training`);
    assert.equal(a.totals.params, model.countParams());
    if (name === 'mobilenet') assert.ok(Math.abs(a.totals.macs - 569e6) < 1e6, `MobileNet paper: 569M mult-adds, got ${a.totals.macs}`);
    if (name === 'vgg16-slim') assert.ok(Math.abs(a.totals.macs - 15.47e9) < 0.01e9, `VGG16 at 224: 15.5G MACs, got ${a.totals.macs}`);
  }
});
