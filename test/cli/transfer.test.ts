/**
 * `convkit train --model mobilenet --weights FILE.h5 --data DIR --freeze-base --fine-tune-from LAYER` on a
 * tiny MobileNet (alpha 0.25, 32x32) whose Keras _no_top weights file is written here with random values.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/index.js';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { mobilenet } from '../../src/zoo/imagenet.js';
import { encodePng } from '../data/image-fixtures.js';
import { legacySpec, randomizeWeights, writeLegacyH5 } from '../io/keras-h5-fixtures.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1', CONVKIT_DATA: join(tmpdir(), 'convkit-cli-data-cache') } });

test('train --model mobilenet --weights no_top.h5 --freeze-base --fine-tune-from: feature cache, then fine-tuning; frozen layers keep the file\'s weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-transfer-'));
  const photos = join(dir, 'photos');
  ['daisy', 'rose'].forEach((name, c) => {
    mkdirSync(join(photos, name), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const samples = Array.from({ length: 40 * 40 * 3 }, (_, j) => (j % 3 === c ? 200 : 40) + ((i * 7 + j) % 30));
      writeFileSync(join(photos, name, `p${i}.png`), encodePng({ width: 40, height: 40, colorType: 2, bitDepth: 8, samples }));
    }
  });
  const base = mobilenet({ inputShape: [32, 32, 3], alpha: 0.25, includeTop: false, pooling: 'avg' });
  randomizeWeights(base, 3);
  const weights = join(dir, 'mobilenet_2_5_32_tf_no_top.h5');
  await writeLegacyH5(weights, legacySpec(base));
  const out = join(dir, 'run');
  const r = run('train', '--model', 'mobilenet', '--weights', weights, '--data', photos, '--image-size', '32,32', '--freeze-base', '--epochs', '2', '--fine-tune-from', 'conv_dw_13', '--fine-tune-epochs', '1', '--batch-size', '4', '--out', out, '--verbose', '2');
  assert.equal(r.status, 0, r.stderr);
  // 219,058 = Keras's 218,544 for MobileNet 0.25 without top, and the head's 256 * 2 + 2.
  assert.match(r.stdout, /Training mobilenet_0\.25_32_transfer \(219,058 params\) with weights '.*no_top\.h5', base frozen on image-folder-training: 10 train \/ 2 test images/);
  assert.match(r.stdout, /Frozen base, no augmentation: computing its features once per image/);
  assert.match(r.stdout, /Epoch 2\/2\n3\/3 - /);
  assert.match(r.stdout, /Fine-tuning from conv_dw_13: 5 layers unfrozen \(BatchNormalization stays frozen\), 4 trainable weights, Adam learning rate 0\.00001, 1 more epochs\nEpoch 3\/3/);
  const ckpt = readCheckpoint(join(out, 'checkpoint.safetensors'));
  assert.equal(ckpt.state.epoch, 3);
  assert.equal((ckpt.state.extra as { preprocess: string }).preprocess, 'tf');
  // Layers before conv_dw_13, and every BatchNormalization, still hold the file's values.
  for (const name of ['conv1/kernel', 'conv_pw_12/kernel', 'conv_dw_13_bn/moving_mean', 'conv_pw_13_bn/moving_variance']) {
    const want = base.weights.find((w) => w.name === name)!;
    assert.deepEqual(ckpt.weights.get(name)!.data, want.data, name);
  }
  assert.notDeepEqual(ckpt.weights.get('conv_pw_13/kernel')!.data, base.weights.find((w) => w.name === 'conv_pw_13/kernel')!.data, 'fine-tuned');

  const e = run('evaluate', '--checkpoint', out, '--data', photos, '--json');
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).images, 12);
  const p = run('predict', join(photos, 'rose', 'p0.png'), '--checkpoint', out, '--json', '-k', '2');
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(JSON.parse(p.stdout).predictions.map((x: { name: string }) => x.name).sort(), ['daisy', 'rose']);

  const bad = run('train', '--model', 'lenet5', '--freeze-base', '--out', join(dir, 'bad'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^convkit: --freeze-base \/ --weights \/ --fine-tune-from: transfer learning takes --model mobilenet, received 'lenet5'\n$/);
});
