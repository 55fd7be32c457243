import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/index.js';
import { checkOnnxModel } from '../../src/export/onnx-check.js';
import { loadKerasWeights } from '../../src/io/keras-h5.js';
import { legacySpec, writeLegacyH5 } from '../io/keras-h5-fixtures.js';
import { assertClose, randomInput, runOnnx, toNchw, zooModel } from './onnx-helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
const dir = mkdtempSync(join(tmpdir(), 'export-cli-'));

test('convkit export --format onnx: a zoo model with Keras weights, NCHW, BN kept; runs as convkit predicts', async () => {
  const source = zooModel('mobilenet', { alpha: 0.25, inputShape: [96, 96, 3] });
  const weights = join(dir, 'mobilenet_2_5_96_tf.h5');
  await writeLegacyH5(weights, legacySpec(source));
  const out = join(dir, 'm.onnx');
  const r = run('export', '--format', 'onnx', '--model', 'mobilenet', '--weights', weights, '--alpha', '0.25', '--size', '96', '--input-layout', 'nchw', '--batch-norm', 'keep', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Wrote .*m\.onnx: mobilenet_0\.25_96, [\d.]+ MB, \d+ nodes, \d+ initializers, ONNX opset 13; input 'input' \[batch, 3, 96, 96\] NCHW, output 'output' \[batch, 1000\]\n$/);
  const bytes = readFileSync(out);
  assert.ok(checkOnnxModel(bytes).ops.BatchNormalization > 0);
  const model = zooModel('mobilenet', { alpha: 0.25, inputShape: [96, 96, 3] }, 9);
  await loadKerasWeights(model, weights);
  const x = randomInput(model, 2, 3);
  assertClose((await runOnnx(bytes, toNchw(x))).data, model.predict(x).data, 'exported mobilenet');
});

test('convkit export: without weights it says so; bad arguments exit 2', () => {
  const out = join(dir, 'lenet5.onnx');
  const r = run('export', '--model', 'lenet5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^convkit: note: no --weights, exporting lenet5 with freshly initialised weights\n$/);
  assert.deepEqual(checkOnnxModel(readFileSync(out)).inputs[0].shape, [null, 32, 32, 3]);
  for (const [args, pattern] of [
    [['export', '--format', 'tflite', '--model', 'lenet5'], /option '--format <format>' argument 'tflite' is invalid/],
    [['export', '--model', 'lenet6'], /^convkit: --model: expected one of .* received 'lenet6'\n$/],
    [['export', '--out', out], /^convkit: --model: expected a zoo model/],
  ] as const) {
    const e = run(...args);
    assert.equal(e.status, 2, `${args.join(' ')}: ${e.stderr}`);
    assert.match(e.stderr, pattern);
  }
});
