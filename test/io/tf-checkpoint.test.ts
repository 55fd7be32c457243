import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/index.js';
import { crc32c, maskCrc, unmaskCrc } from '../../src/io/tf-checkpoint/crc32c.js';
import { halfToFloat } from '../../src/io/tf-checkpoint/bundle.js';
import { OBJECT_GRAPH_KEY, isTfCheckpoint, loadTfCheckpoint, readObjectGraph, readTfCheckpoint, resolveTfCheckpointPrefix, variableOwners } from '../../src/io/tf-checkpoint/index.js';
import { Dense } from '../../src/layers/core.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import type { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { SGD } from '../../src/train/optimizers.js';
import { createModel } from '../../src/zoo/index.js';
import { f32, objectGraph, stringSpec, writeBundle } from './tf-checkpoint-writer.js';

// dist/test/io -> the repository root; the shared material sits beside it (../shared), as in /work/main.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const realDir = resolve(process.env.CONVKIT_SHARED ?? resolve(root, '../shared'), 'data/real-keras');
export const realPrefix = (name: 'LeNet5' | 'Baseline'): string => join(realDir, `oumanatsumi__CIFAR10-Tensorflow__${name}.ckpt`);
const haveReal = existsSync(`${realPrefix('LeNet5')}.index`) && existsSync(`${realPrefix('Baseline')}.index`);
const skipReal = haveReal ? false : `the real TF checkpoints are not at ${realDir} (shared/ beside the repository root, or CONVKIT_SHARED)`;
const shard = (prefix: string): string => `${prefix}.data-00000-of-00001`;

const dir = mkdtempSync(join(tmpdir(), 'tf-ckpt-'));

function build(name: string, options: Record<string, unknown> = {}, seed = 1): Model {
  resetLayerNames();
  setSeed(seed);
  return createModel(name, options);
}
const snapshot = (m: Model): Float32Array[] => m.weights.map((w) => Float32Array.from(w.data));
const assertUnchanged = (m: Model, before: Float32Array[]): void => m.weights.forEach((w, i) => assert.deepEqual(w.data, before[i], `${w.name} changed`));

function randomBatch(n: number, seed: number): Tensor {
  const rng = new Random(seed);
  return new Tensor(Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.uniform()), [n, 32, 32, 3]);
}

function assertSoftmaxRows(y: Tensor, classes: number): void {
  assert.equal(y.shape[1], classes);
  for (let r = 0; r < y.shape[0]; r++) {
    const row = Array.from(y.data.subarray(r * classes, (r + 1) * classes));
    assert.ok(row.every((v) => Number.isFinite(v) && v >= 0), `row ${r} finite and non-negative`);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${r} sums to 1`);
  }
}

/**
 * Each loaded weight's float32 bytes found as a run in the raw data file, independently of our index reader,
 * and that run's position equal to the offset the index records for the key the layer was paired with.
 */
function assertValuesAtIndexOffsets(m: Model, prefix: string, keyOf: Record<string, string>): void {
  const data = readFileSync(shard(prefix));
  const ckpt = readTfCheckpoint(prefix);
  for (const w of m.weights) {
    const [layer, short] = [w.name.slice(0, w.name.lastIndexOf('/')), w.name.slice(w.name.lastIndexOf('/') + 1)];
    const key = `${keyOf[layer]}/${short}/.ATTRIBUTES/VARIABLE_VALUE`;
    const at = data.indexOf(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    assert.equal(at, ckpt.get(key)?.offset, `${w.name} sits at the offset of '${key}'`);
    assert.equal(w.data[w.data.length - 1], data.readFloatLE(at + 4 * (w.data.length - 1)));
  }
}

test('CRC-32C gives the standard check value; the LevelDB mask round-trips; half floats decode', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234'))), 0xe3069283, 'extends');
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, '32 zero bytes (RFC 3720 B.4)');
  for (const v of [0, 1, 0xe3069283, 0xffffffff]) assert.equal(unmaskCrc(maskCrc(v)), v);
  assert.deepEqual([0x3c00, 0xc000, 0x0001, 0x7c00].map(halfToFloat), [1, -2, 2 ** -24, Infinity]);
});

test('the real LeNet5 checkpoint loads into zoo lenet5: pairing, shapes, values at the index offsets, softmax', { skip: skipReal }, async () => {
  const prefix = realPrefix('LeNet5');
  const m = build('lenet5');
  const report = loadTfCheckpoint(m, prefix);
  assert.equal(report.arrays, 10);
  assert.deepEqual(report.layers, [
    { checkpoint: 'c1', layer: 'conv2d' },
    { checkpoint: 'c2', layer: 'conv2d_1' },
    { checkpoint: 'f1', layer: 'dense' },
    { checkpoint: 'f2', layer: 'dense_1' },
    { checkpoint: 'f3', layer: 'dense_2' },
  ]);
  assert.deepEqual(m.weights.map((w) => w.shape), [[5, 5, 3, 6], [6], [5, 5, 6, 16], [16], [400, 120], [120], [120, 84], [84], [84, 10], [10]]);
  assertValuesAtIndexOffsets(m, prefix, { conv2d: 'c1', conv2d_1: 'c2', dense: 'f1', dense_1: 'f2', dense_2: 'f3' });
  assertSoftmaxRows(m.predict(randomBatch(8, 3)), 10);

  // The other forms Keras users pass: the .index file, and the folder with TF's `checkpoint` state file.
  const folder = join(dir, 'checkpoint');
  mkdirSync(folder);
  for (const ext of ['.index', '.data-00000-of-00001']) copyFileSync(`${prefix}${ext}`, join(folder, `LeNet5.ckpt${ext}`));
  writeFileSync(join(folder, 'checkpoint'), 'model_checkpoint_path: "LeNet5.ckpt"\nall_model_checkpoint_paths: "LeNet5.ckpt"\n');
  assert.equal(resolveTfCheckpointPrefix(folder), join(folder, 'LeNet5.ckpt'));
  // Written on the training machine with an absolute path that does not exist here: found in the folder.
  writeFileSync(join(folder, 'checkpoint'), 'model_checkpoint_path: "/home/student/class5/checkpoint/LeNet5.ckpt"\n');
  assert.equal(resolveTfCheckpointPrefix(folder), join(folder, 'LeNet5.ckpt'));
  for (const form of [`${prefix}.index`, folder, join(folder, 'LeNet5.ckpt')]) {
    assert.ok(isTfCheckpoint(form), form);
    const other = build('lenet5', {}, 2);
    await other.loadWeights(form);
    other.weights.forEach((w, i) => assert.deepEqual(w.data, m.weights[i].data, `${form}: ${w.name}`));
  }
  assert.ok(!isTfCheckpoint(join(dir, 'nothing-here')));
});

test('the real Baseline checkpoint loads into zoo baseline, BatchNormalization included', { skip: skipReal }, async () => {
  const prefix = realPrefix('Baseline');
  const m = build('baseline');
  await m.loadWeights(prefix);
  assert.deepEqual(m.weights.map((w) => w.shape), [[5, 5, 3, 6], [6], [6], [6], [6], [6], [1536, 128], [128], [128, 10], [10]]);
  assertValuesAtIndexOffsets(m, prefix, { conv2d: 'c1', batch_normalization: 'b1', dense: 'f1', dense_1: 'f2' });
  const variance = m.weights.find((w) => w.name.endsWith('moving_variance'))!;
  assert.ok(variance.data.every((v) => v > 0), 'moving variance positive');
  assert.ok(m.weights.find((w) => w.name.endsWith('moving_mean'))!.data.some((v) => v !== 0), 'moving mean trained');
  assertSoftmaxRows(m.predict(randomBatch(8, 4)), 10);
});

test('the object graph decodes: root children in attribute order, variable owners, entries and dtypes', { skip: skipReal }, () => {
  const lenet = readTfCheckpoint(realPrefix('LeNet5'));
  assert.equal(lenet.numShards, 1);
  assert.equal(lenet.entries.length, 36, 'graph + 10 variables x (value, m, v) + 5 optimizer scalars');
  assert.deepEqual(lenet.get(OBJECT_GRAPH_KEY)?.dtypeName, 'string');
  assert.equal(lenet.get('optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE')?.dtypeName, 'int64');
  assert.deepEqual(lenet.get('optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE')?.read(), BigInt64Array.of(7815n), 'Keras step count (bytes 87 1e 00.. at 248024)');
  const g = readObjectGraph(lenet);
  assert.deepEqual(g.nodes[0].children.map((c) => c.localName), ['c1', 'p1', 'c2', 'p2', 'flatten', 'f1', 'f2', 'f3', 'optimizer']);
  assert.deepEqual(variableOwners(g).map((o) => `${o.path}: ${o.variables.map((v) => v.name).join(' ')}`), ['c1: kernel bias', 'c2: kernel bias', 'f1: kernel bias', 'f2: kernel bias', 'f3: kernel bias']);
  const base = readObjectGraph(readTfCheckpoint(realPrefix('Baseline')));
  assert.deepEqual(base.nodes[0].children.map((c) => c.localName), ['c1', 'b1', 'a1', 'p1', 'd1', 'flatten', 'f1', 'd2', 'f2', 'optimizer']);
  assert.deepEqual(variableOwners(base)[1].variables.map((v) => v.name), ['gamma', 'beta', 'moving_mean', 'moving_variance']);
});

test('a model that does not fit gets every problem listed, and keeps its weights', { skip: skipReal }, async () => {
  const m = build('lenet5', { numClasses: 5 });
  const before = snapshot(m);
  await assert.rejects(m.loadWeights(realPrefix('LeNet5')), (e: Error) => {
    assert.match(e.message, /^TF checkpoint '.*LeNet5\.ckpt' does not fit model 'lenet5' \(2 problems/);
    assert.match(e.message, /layer 'dense_2' \(Dense, checkpoint object 'f3'\) weight 'dense_2\/kernel': expected shape \(84, 5\), checkpoint shape \(84, 10\) \(key 'f3\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE'\)/);
    assert.match(e.message, /weight 'dense_2\/bias': expected shape \(5\), checkpoint shape \(10\)/);
    return true;
  });
  assertUnchanged(m, before);
  // The Baseline checkpoint in LeNet5: wrong objects, a BN where a conv is expected, one layer left over.
  await assert.rejects(m.loadWeights(realPrefix('Baseline')), (e: Error) => {
    assert.match(e.message, /layer 'conv2d_1' \(Conv2D, checkpoint object 'b1'\) weight 'conv2d_1\/kernel' \(5, 5, 6, 16\): the checkpoint object has no variable 'kernel' \(it has: gamma \(6\), beta/);
    assert.match(e.message, /extra checkpoint variable 'moving_mean'/);
    assert.match(e.message, /missing layer 'dense_2' \(Dense, 2 weights: dense_2\/kernel \(84, 5\), dense_2\/bias \(5\)\): the checkpoint has no object left for it/);
    return true;
  });
  assertUnchanged(m, before);
});

test("optimizer: true restores Keras's Adam m/v slots, step count and learning rate, and fit continues from them", { skip: skipReal }, async () => {
  const prefix = realPrefix('LeNet5');
  const m = build('lenet5');
  await assert.rejects(m.loadWeights(prefix, { optimizer: true }), /^Error: .*loadWeights: option 'optimizer' restores into the compiled optimizer; call compile\(\{ optimizer, loss \}\) first$/);
  m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  await m.loadWeights(prefix, { optimizer: true });
  const c = (await import('../../src/train/fit.js')).getCompiled(m);
  assert.equal(c.optimizer.iterations, 7815);
  assert.ok(Math.abs(c.optimizer.learningRate - 0.001) < 1e-9);
  const state = c.optimizer.getState(m.trainableWeights);
  const data = readFileSync(shard(prefix));
  const ckpt = readTfCheckpoint(prefix);
  for (const [slot, byVar] of Object.entries(state.slots)) {
    assert.equal(Object.keys(byVar).length, 10, `${slot} for every trainable weight`);
    const mv = byVar['dense_2/kernel'];
    const at = data.indexOf(Buffer.from(mv.buffer, mv.byteOffset, mv.byteLength));
    assert.equal(at, ckpt.get(`f3/kernel/.OPTIMIZER_SLOT/optimizer/${slot}/.ATTRIBUTES/VARIABLE_VALUE`)?.offset, `${slot} of dense_2/kernel`);
  }
  await m.fit(randomBatch(4, 5), new Tensor(Float32Array.of(0, 1, 2, 3), [4]), { epochs: 1, batchSize: 4, verbose: 0 });
  assert.equal(c.optimizer.iterations, 7816);

  // A compiled SGD with momentum keeps other slots: all 20 listed, nothing changed (weights nor optimizer).
  const s = build('lenet5');
  s.compile({ optimizer: new SGD({ momentum: 0.9 }), loss: 'sparse_categorical_crossentropy' });
  const before = snapshot(s);
  await assert.rejects(s.loadWeights(prefix, { optimizer: true }), (e: Error) => {
    assert.match(e.message, /\(20 problems/);
    assert.match(e.message, /optimizer slot 'm' of 'c1\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE': the model's compiled SGD keeps slots 'momentum'/);
    return true;
  });
  assertUnchanged(s, before);
  assert.equal((await import('../../src/train/fit.js')).getCompiled(s).optimizer.iterations, 0);
});

/** Dense(2) on 3 inputs, and a checkpoint graph with one object 'd' owning kernel and bias. */
function dense(): Sequential {
  resetLayerNames();
  setSeed(9);
  return new Sequential([new Dense({ units: 2, inputShape: [3] })]);
}
const denseGraph = (): ReturnType<typeof stringSpec> =>
  stringSpec(OBJECT_GRAPH_KEY, [objectGraph([{ children: [['d', 1]] }, { children: [['kernel', 2], ['bias', 3]] }, { key: 'd/kernel/.ATTRIBUTES/VARIABLE_VALUE' }, { key: 'd/bias/.ATTRIBUTES/VARIABLE_VALUE' }])]);
const K = 'd/kernel/.ATTRIBUTES/VARIABLE_VALUE';
const B = 'd/bias/.ATTRIBUTES/VARIABLE_VALUE';
const kernel = [1, 2, 3, 4, 5, 6];

test('written checkpoints: float64, float16 and bfloat16 weights, string tensors, and a layer by order not name', () => {
  const halfs = Buffer.alloc(12);
  [0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600].forEach((h, i) => halfs.writeUInt16LE(h, 2 * i));
  const bf16 = Buffer.alloc(4);
  bf16.writeUInt16LE(0x3f80, 0);
  bf16.writeUInt16LE(0xc000, 2);
  for (const [name, k, b] of [
    ['float64', { dtype: 2, data: Buffer.from(Float64Array.from(kernel).buffer) }, { dtype: 14, data: bf16 }],
    ['float16', { dtype: 19, data: halfs }, { dtype: 1, data: f32([1, -2]) }],
  ] as const) {
    const prefix = join(dir, `dtypes-${name}`);
    writeBundle(prefix, [denseGraph(), { key: K, shape: [3, 2], ...k }, { key: B, shape: [2], ...b }]);
    const m = dense();
    loadTfCheckpoint(m, prefix);
    assert.deepEqual(Array.from(m.weights[0].data), kernel, name);
    assert.deepEqual(Array.from(m.weights[1].data), [1, -2], name);
  }
  const prefix = join(dir, 'strings');
  const words = ['', 'kernel', 'ß', 'x'.repeat(300)].map((s) => Buffer.from(s));
  writeBundle(prefix, [stringSpec('words', words, [2, 2])]);
  assert.deepEqual((readTfCheckpoint(prefix).get('words')!.read() as Uint8Array[]).map((b) => Buffer.from(b).toString()), words.map(String));
});

/** [what, tensors or knobs, expected message]: every broken checkpoint fails in one line naming its file. */
test('broken written checkpoints fail in one line naming the file, what was expected and what was received', () => {
  const good = () => [denseGraph(), { key: K, dtype: 1, shape: [3, 2], data: f32(kernel) }, { key: B, dtype: 1, shape: [2], data: f32([0, 0]) }];
  const cases: [string, Parameters<typeof writeBundle>[1], Parameters<typeof writeBundle>[2], RegExp][] = [
    ['keys out of order', [good()[1], good()[0], good()[2]], { unsorted: true, restartInterval: 1 }, /index '.*keys-out-of-order\.index': data block 0 \(index entry 0\): expected keys in increasing order, received '_CHECKPOINTABLE_OBJECT_GRAPH' after 'd\/kernel/],
    ['restart past the entries', good(), { restarts: [0, 4000] }, /index '.*\.index': data block 0 \(index entry 0\): restart point 1: expected an offset after 0 and before \d+, received 4000/],
    ['restart inside an entry', good(), { restarts: [0, 3] }, /restart point 1 at byte 3 is not the start of an entry/],
    ['Snappy blocks', good(), { compression: 1 }, /expected compression type 0 .*received 1 \(Snappy\)/],
    ['big-endian bundle', good(), { endianness: 1 }, /expected little-endian tensors \(endianness 0\), received endianness 1/],
    ['missing shard', [...good().slice(0, 2), { key: B, dtype: 1, shape: [2], data: f32([0, 0]), entry: { shardId: 1 } }], { numShards: 2 }, /data '.*\.data-00001-of-00002': missing \(shard 1 of 2, which holds tensor 'd\/bias/],
    ['offset varint past 2^53', [...good().slice(0, 2), { key: B, dtype: 1, shape: [2], data: f32([0, 0]), entry: { offset: 2n ** 60n } }], {}, /entry 'd\/bias\/\.ATTRIBUTES\/VARIABLE_VALUE': expected offset to be a non-negative integer below 2\^53, received 1152921504606846976/],
    ['size past the shard', [...good().slice(0, 2), { key: B, dtype: 1, shape: [2], data: f32([0, 0]), entry: { size: 1e6 } }], {}, /expected its 1000000 bytes at offset \d+ to lie inside '.*\.data-00000-of-00001' \(\d+ bytes\)/],
    ['absurd shape', [...good().slice(0, 2), { key: B, dtype: 1, shape: [2], data: f32([0, 0]), entry: { shape: [1e9, 1e9, 1e9] } }], {}, /expected a shape whose elements fit in its 8 bytes, received \(1000000000, 1000000000, 1000000000\)/],
    ['size not elements x 4', [...good().slice(0, 2), { key: B, dtype: 1, shape: [3], data: f32([0, 0]) }], {}, /expected 3 x 4 = 12 bytes for float32 \(3\), received size 8/],
    ['tensor CRC', [...good().slice(0, 2), { key: B, dtype: 1, shape: [2], data: f32([0, 0]), entry: { crc: 12345 } }], {}, /data '.*\.data-00000-of-00001': tensor 'd\/bias\/\.ATTRIBUTES\/VARIABLE_VALUE': CRC-32C mismatch, the file is corrupt/],
    ['no object graph', good().slice(1), {}, /expected an entry '_CHECKPOINTABLE_OBJECT_GRAPH' \(the TF2 object graph\), received none/],
    ['graph not a proto', [stringSpec(OBJECT_GRAPH_KEY, [Buffer.from([0x0a, 0x7f, 1])]), ...good().slice(1)], {}, /tensor '_CHECKPOINTABLE_OBJECT_GRAPH': object graph: expected a valid TrackableObjectGraph protocol buffer, received bytes that do not decode/],
    ['graph child out of range', [stringSpec(OBJECT_GRAPH_KEY, [objectGraph([{ children: [['d', 7]] }])]), ...good().slice(1)], {}, /object graph: node 0 child 0 \('d'\): expected a node id below 1, received 7/],
  ];
  for (const [what, tensors, opts, message] of cases) {
    const prefix = join(dir, what.replace(/\W+/g, '-'));
    writeBundle(prefix, tensors, opts);
    const m = dense();
    const before = snapshot(m);
    assert.throws(() => loadTfCheckpoint(m, prefix), (e: Error) => {
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes('\n'), `${what}: one line`);
      return true;
    });
    assertUnchanged(m, before);
  }
  // A dtype we do not read: listed as a problem when loading, refused by name when read.
  const prefix = join(dir, 'bool');
  writeBundle(prefix, [...good().slice(0, 2), { key: B, dtype: 10, shape: [2], data: Buffer.from([1, 0]) }]);
  assert.throws(() => loadTfCheckpoint(dense(), prefix), /weight 'dense\/bias': expected a floating-point tensor, checkpoint dtype DataType 10/);
  assert.throws(() => readTfCheckpoint(prefix).get(B)!.read(), /data '.*bool\.data-00000-of-00001': tensor 'd\/bias\/\.ATTRIBUTES\/VARIABLE_VALUE': expected dtype float32, .* received TensorFlow DataType 10/);
  assert.throws(() => resolveTfCheckpointPrefix(join(dir, 'nope')), /TF checkpoint '.*nope': expected '.*nope\.index'/);
});
