/** Every zoo model's parameter totals (Keras's numbers), and seeded, reproducible weights. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resetLayerNames } from '../../src/layers/layer.js';
import { setSeed } from '../../src/tensor/random.js';
import { createModel, inception10, zoo, zooNames } from '../../src/zoo/index.js';

const totals: Record<string, [total: number, nonTrainable: number]> = {
  // Flatten, Dense(128), Dense(10) on 32x32x3: 3072 * 128 + 128 + 128 * 10 + 10.
  mlp: [394634, 0],
  baseline: [198506, 12],
  lenet5: [62006, 0],
  alexnet8: [9639178, 704],
  vgg16: [15262026, 8448],
  inception10: [121418, 1184],
  resnet18: [11183562, 9600],
  mobilenet: [4253864, 21888],
  'vgg16-slim': [138357544, 0],
};

test('the zoo lists exactly the models with known totals', () => {
  assert.deepEqual([...zooNames()].sort(), Object.keys(totals).sort());
  assert.throws(() => createModel('resnet50'), /createModel: argument 'name' expected one of .*baseline, .*received 'resnet50'/);
});

for (const [name, [total, nonTrainable]] of Object.entries(totals)) {
  test(`${name}: ${total.toLocaleString('en-US')} params, ${nonTrainable} non-trainable`, () => {
    resetLayerNames();
    const model = createModel(name);
    const s = model.summaryData();
    assert.equal(s.totalParams, total);
    assert.equal(s.nonTrainableParams, nonTrainable);
    assert.equal(s.trainableParams, total - nonTrainable);
    assert.equal(s.layers.reduce((n, l) => n + l.params, 0), total, 'the rows add up to the total');
    assert.match(model.summary(null), new RegExp(`Total params: ${total.toLocaleString('en-US')}\\n`));
    assert.deepEqual(model.inputs[0]?.shape ?? model.layers[0].batchInputShape, [null, ...zoo[name].inputShape]);
  });
}

test('same seed, identical weights; another seed, different weights', () => {
  const build = (seed: number) => {
    setSeed(seed);
    return inception10().weights.map((w) => Array.from(w.data));
  };
  const a = build(7);
  const b = build(7);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(w, b[i], `weight ${i}`));
  const c = build(8);
  assert.notDeepEqual(c[0], a[0]);
});
