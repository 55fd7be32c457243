/**
 * The CLI on the user's own images: a PNG folder written here trains through `train --data`, a zoo model is
 * built for the folder's images and classes, `evaluate --data` equals the library's evaluation, and the
 * folder's class names travel in the checkpoint to `predict`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/index.js';
import { imageDatasetFromDirectory } from '../../src/data/image-folder/index.js';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { loadModel } from '../../src/train/saving.js';
import { encodePng } from '../data/image-fixtures.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1', CONVKIT_DATA: join(tmpdir(), 'convkit-cli-data-cache') } });

/** Three classes of 28x28 grey PNGs, 5 each: dark, mid and bright, with a little seeded noise. */
function writeFolder(): { dir: string; files: Record<string, string[]> } {
  const dir = mkdtempSync(join(tmpdir(), 'cli-data-'));
  const files: Record<string, string[]> = {};
  let s = 7;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) % 41) - 20;
  ['cats', 'dogs', 'zebras'].forEach((name, c) => {
    mkdirSync(join(dir, name));
    files[name] = [];
    for (let i = 0; i < 5; i++) {
      const samples = Array.from({ length: 28 * 28 }, () => Math.max(0, Math.min(255, 40 + 80 * c + noise())));
      const path = join(dir, name, `img${i}.png`);
      writeFileSync(path, encodePng({ width: 28, height: 28, colorType: 0, bitDepth: 8, samples }));
      files[name].push(path);
    }
  });
  writeFileSync(join(dir, 'cats', 'notes.txt'), 'not an image');
  return { dir, files };
}

test('train --data: lenet5 built for 28x28x1 and 3 classes; evaluate --data equals the library; predict prints the class names', async () => {
  const { dir, files } = writeFolder();
  const out = mkdtempSync(join(tmpdir(), 'cli-data-run-'));
  const t = run('train', '--model', 'lenet5', '--data', dir, '--image-size', '28,28', '--color-mode', 'grayscale', '--validation-split', '0.2', '--seed', '3', '--epochs', '1', '--batch-size', '4', '--out', out, '--verbose', '2');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /Found 15 files belonging to 3 classes\./);
  assert.match(t.stdout, /Using 12 files for training\.\nUsing 3 files for validation\./);
  assert.match(t.stdout, /Note: lenet5 is defined for 32x32x3 input; building it for 28x28x1\./);
  assert.match(t.stdout, /on image-folder-training: 12 train \/ 3 test images, 1 epochs, batch 4/);
  assert.match(t.stdout, /Epoch 1\/1\n3\/3 - .* val_accuracy: [\d.]+/);
  assert.match(readFileSync(join(out, 'weights.txt'), 'utf8'), /^conv2d\/kernel \(5, 5, 1, 6\)\n/);
  const extra = readCheckpoint(join(out, 'checkpoint.safetensors')).state.extra as Record<string, unknown>;
  assert.deepEqual(extra.classNames, ['cats', 'dogs', 'zebras']);
  assert.deepEqual(extra.data, { data: dir, imageSize: [28, 28], colorMode: 'grayscale', seed: 3, validationSplit: 0.2 });

  // evaluate --data: the whole folder, scored as the library scores it.
  const e = run('evaluate', '--checkpoint', out, '--data', dir, '--json');
  assert.equal(e.status, 0, e.stderr);
  const got = JSON.parse(e.stdout);
  assert.equal(got.images, 15);
  const model = await loadModel(join(out, 'best.safetensors'), { compile: false });
  model.compile({ loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const ds = await imageDatasetFromDirectory(dir, { imageSize: [28, 28], colorMode: 'grayscale', shuffle: false, verbose: false });
  const want = model.evaluate(ds, undefined, { batchSize: 128 });
  assert.ok(Math.abs(got.loss - want.loss) < 1e-6, `loss ${got.loss} vs ${want.loss}`);
  assert.equal(got.accuracy, want.accuracy);

  // Without --data, evaluate reads the recorded validation split again: the 3 validation images.
  const v = JSON.parse(run('evaluate', '--checkpoint', out, '--json').stdout);
  assert.equal(v.images, 3);

  // predict on image files prints the folder's class names, in the order the library's probabilities give.
  const image = files.zebras[0];
  const p = run('predict', image, '--checkpoint', out, '--json', '-k', '3');
  assert.equal(p.status, 0, p.stderr);
  const rows = JSON.parse(p.stdout).predictions as { name: string; score: number }[];
  assert.deepEqual(rows.map((r) => r.name).sort(), ['cats', 'dogs', 'zebras']);
  const probs = model.predict(ds.take([10]).x).data; // zebras/img0.png: listed 11th
  const best = ['cats', 'dogs', 'zebras'][probs.indexOf(Math.max(...probs))];
  assert.equal(rows[0].name, best);
  assert.ok(Math.abs(rows[0].score - Math.max(...probs)) < 1e-6);
  const text = run('predict', image, '--checkpoint', out);
  assert.match(text.stdout, /preprocessing 'unit'/);
  assert.match(text.stdout, /(cats|dogs|zebras)/);
});

test('train --data with --validation-data; data flags that do not go together are one-line usage errors', () => {
  const { dir } = writeFolder();
  const { dir: val } = writeFolder();
  const out = mkdtempSync(join(tmpdir(), 'cli-data-run-'));
  const t = run('train', '--model', 'mlp', '--data', dir, '--validation-data', val, '--image-size', '8', '--epochs', '1', '--out', out, '--verbose', '0');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /on image-folder: 15 train \/ 15 test images/);
  assert.match(readFileSync(join(out, 'weights.txt'), 'utf8'), /dense\/kernel \(192, 128\)/, '8x8 RGB (the default color mode) flattened');
  for (const [args, pattern] of [
    [['train', '--data', dir, '--dataset', 'mnist'], /^convkit: --data: use either --data DIR or --dataset NAME, not both\n$/],
    [['train', '--image-size', '8,8', '--epochs', '1'], /^convkit: --image-size: only with --data DIR \(an image folder\)\n$/],
    [['train', '--data', dir, '--image-size', '8,x'], /^convkit: --image-size: expected H,W \(positive integers, e.g. 224,224\), received '8,x'\n$/],
    [['train', '--data', dir, '--validation-split', '1.5'], /^convkit: --validation-split: expected a fraction in \(0, 1\), received '1.5'\n$/],
    [['train', '--data', join(dir, 'nope')], /^convkit: --data: /],
  ] as const) {
    const r = run(...args, '--out', mkdtempSync(join(tmpdir(), 'cli-data-bad-')));
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern);
  }
});
