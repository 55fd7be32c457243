import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCheckpoint, restoreWeights, saveCheckpoint } from '../../src/io/checkpoint.js';
import { weightsToText } from '../../src/io/weights-text.js';
import { Dense } from '../../src/layers/core.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { Sequential } from '../../src/models/sequential.js';
import { setSeed } from '../../src/tensor/random.js';

const here = dirname(fileURLToPath(import.meta.url));

function mlp(seed: number, units = 4): Sequential {
  resetLayerNames();
  setSeed(seed);
  return new Sequential([new Dense({ units, activation: 'relu', inputShape: [3] }), new Dense({ units: 2 })]);
}

test('a checkpoint round-trips weights, slots and state exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const path = join(dir, 'a.safetensors');
  const a = mlp(1);
  const slot = { m: { 'dense/kernel': new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) } };
  saveCheckpoint(path, a, { epoch: 3, history: { epoch: [0, 1, 2], history: { loss: [3, 2, 1] } } }, slot);
  const ck = readCheckpoint(path);
  assert.equal(ck.kind, 'full');
  assert.equal(ck.state.epoch, 3);
  assert.deepEqual(ck.state.history?.history.loss, [3, 2, 1]);
  assert.deepEqual(Array.from(ck.slots.m['dense/kernel']), Array.from(slot.m['dense/kernel']));
  const b = mlp(2);
  restoreWeights(b, ck);
  b.weights.forEach((w, i) => assert.deepEqual(Array.from(w.data), Array.from(a.weights[i].data)));
  assert.deepEqual(readdirSync(dir), ['a.safetensors'], 'no temporary file is left behind');
});

test('truncated, corrupt and foreign files are refused with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const path = join(dir, 'a.safetensors');
  saveCheckpoint(path, mlp(1), { epoch: 1 });
  const bytes = readFileSync(path);
  writeFileSync(join(dir, 'trunc'), bytes.subarray(0, bytes.length - 7));
  assert.throws(() => readCheckpoint(join(dir, 'trunc')), /truncated/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0xff;
  writeFileSync(join(dir, 'flip'), flipped);
  assert.throws(() => readCheckpoint(join(dir, 'flip')), /checksum mismatch, the file is corrupt/);
  writeFileSync(join(dir, 'tiny'), Buffer.from([1, 2, 3]));
  assert.throws(() => readCheckpoint(join(dir, 'tiny')), /not a valid safetensors file \(3 bytes/);
  assert.throws(() => readCheckpoint(join(dir, 'missing')), /no such file/);
});

test('a checkpoint that does not fit the model fails whole and changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const path = join(dir, 'a.safetensors');
  saveCheckpoint(path, mlp(1, 4), {});
  const other = mlp(2, 5);
  const before = other.weights.map((w) => Array.from(w.data));
  assert.throws(() => restoreWeights(other, readCheckpoint(path)), /weight 'dense\/kernel': model shape \(3, 5\), file shape \(3, 4\)/);
  other.weights.forEach((w, i) => assert.deepEqual(Array.from(w.data), before[i]));
});

test('the weights text dump names each variable, its shape and its values', () => {
  const m = mlp(1);
  const text = weightsToText(m);
  assert.match(text, /^dense\/kernel \(3, 4\)\n/);
  assert.match(text, /\ndense_1\/bias \(2\)\n0 0\n/);
  const firstRow = text.split('\n')[1].split(' ').map(Number);
  assert.deepEqual(firstRow, Array.from(m.weights[0].data.subarray(0, 4)));
});

test('SIGKILL in the middle of writing a checkpoint leaves the previous one loadable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-kill-'));
  const path = join(dir, 'ckpt.safetensors');
  saveCheckpoint(path, mlp(1), { epoch: 0 });
  const child = join(here, 'checkpoint-writer.js');
  for (const delay of [40, 90, 150, 230]) {
    const proc = spawn(process.execPath, [child, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Wait until the child has started writing (it says so), then kill it at a varying moment.
    await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, delay));
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const ck = readCheckpoint(path);
    assert.ok(ck.state.epoch !== undefined, 'the checkpoint at the path is complete');
    assert.ok(existsSync(path));
  }
});
