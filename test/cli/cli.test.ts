import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });

test('summary prints the Keras table and JSON', () => {
  const r = run('summary', 'lenet5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Layer \(type\)\s+Output Shape\s+Param #/);
  assert.match(r.stdout, /Total params: 62,006/);
  const j = JSON.parse(run('summary', 'mobilenet', '--json').stdout);
  assert.equal(j.totalParams, 4253864);
  assert.equal(j.nonTrainableParams, 21888);
  assert.deepEqual(j.layers.find((l: { name: string }) => l.name === 'conv_preds').outputShape, [null, 1, 1, 1000]);
});

test('bad arguments and missing files: one line on stderr, non-zero exit', () => {
  for (const [args, code, pattern] of [
    [['summary', 'lenet6'], 2, /^convkit: summary: expected one of mlp, .*, or a model file \(.keras, .h5, .safetensors\) or training folder, received 'lenet6'\n$/],
    [['train', '--epochs', '0'], 2, /^convkit: --epochs: expected an integer >= 1, received '0'\n$/],
    [['evaluate', '--checkpoint', '/nonexistent/dir'], 1, /^convkit: --checkpoint: '\/nonexistent\/dir' does not exist\n$/],
    [['train', '--model', 'nope', '--out', join(tmpdir(), 'x')], 2, /^convkit: --model: expected one of .* received 'nope'\n$/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('train leaves checkpoint, best weights, curves, weight dump and log; evaluate and predict read them', () => {
  const out = mkdtempSync(join(tmpdir(), 'cli-train-'));
  const r = run('train', '--model', 'lenet5', '--epochs', '1', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--out', out, '--verbose', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Epoch 1\/1\n4\/4 - .* img\/s - loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - val_accuracy: [\d.]+/);
  for (const f of ['checkpoint.safetensors', 'best.safetensors', 'curves.png', 'curves.svg', 'weights.txt', 'log.csv']) assert.ok(existsSync(join(out, f)), `${f} written`);
  assert.match(readFileSync(join(out, 'weights.txt'), 'utf8'), /^conv2d\/kernel \(5, 5, 3, 6\)\n/);
  const e = run('evaluate', '--checkpoint', out, '--json');
  assert.equal(e.status, 0, e.stderr);
  const logs = JSON.parse(e.stdout);
  assert.ok(logs.loss > 0 && logs.accuracy >= 0 && logs.accuracy <= 1);
  const p = JSON.parse(run('predict', '--checkpoint', out, '-n', '3', '--json').stdout);
  assert.equal(p.predictions.length, 3);
  const again = run('train', '--model', 'lenet5', '--epochs', '2', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--out', out, '--verbose', '2', '--resume');
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Epoch 1\/2/, 'resumed after epoch 1');
  assert.match(again.stdout, /Epoch 2\/2/);
  assert.equal(readFileSync(join(out, 'log.csv'), 'utf8').trim().split('\n').length, 3, 'header + 2 epochs');
});
