import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import '../../src/index.js';
import { mobilenetOptionsFromName } from '../../src/cli/predict.js';
import { decodePredictions } from '../../src/images/imagenet.js';
import { loadImages } from '../../src/images/preprocess.js';
import { loadKerasWeights } from '../../src/io/keras-h5.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { setSeed } from '../../src/tensor/random.js';
import { createModel } from '../../src/zoo/index.js';
import type { ZooOptions } from '../../src/zoo/options.js';
import { keras3Spec, legacySpec, randomizeWeights, writeKeras3H5, writeLegacyH5 } from '../io/keras-h5-fixtures.js';
import { gradient } from './fixtures.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
const dir = mkdtempSync(join(tmpdir(), 'predict-cli-'));
const TINY: ZooOptions & { alpha: number } = { alpha: 0.25, inputShape: [128, 128, 3] };

/** A MobileNet 0.25/128 with random weights, saved as keras.applications names it, and two photos. */
async function fixtures(): Promise<{ weights: string; k3: string; jpg: string; png: string }> {
  resetLayerNames();
  setSeed(1);
  const model = createModel('mobilenet', TINY);
  randomizeWeights(model, 4);
  const weights = join(dir, 'mobilenet_2_5_128_tf.h5');
  await writeLegacyH5(weights, legacySpec(model));
  const k3 = join(dir, 'tiny.weights.h5');
  await writeKeras3H5(k3, keras3Spec(model), { withNames: true });
  const jpg = join(dir, 'photo.jpg');
  writeFileSync(jpg, jpeg.encode({ data: gradient(200, 150), width: 200, height: 150 }, 90).data);
  const png = join(dir, 'photo.png');
  writeFileSync(png, pngjs.PNG.sync.write({ width: 90, height: 120, data: Buffer.from(gradient(90, 120).reverse()) } as pngjs.PNG));
  return { weights, k3, jpg, png };
}
const files = fixtures();

test('Keras MobileNet file names give alpha and size', () => {
  assert.deepEqual(mobilenetOptionsFromName('/x/mobilenet_1_0_224_tf.h5'), { alpha: 1, size: 224, includeTop: true });
  assert.deepEqual(mobilenetOptionsFromName('mobilenet_7_5_160_tf_no_top.h5'), { alpha: 0.75, size: 160, includeTop: false });
  assert.deepEqual(mobilenetOptionsFromName('mobilenet_2_5_128_tf.h5'), { alpha: 0.25, size: 128, includeTop: true });
  assert.equal(mobilenetOptionsFromName('weights.h5'), null);
});

test('convkit predict prints a top-5 table (rank, wnid, class, score) for a JPEG and a PNG', async () => {
  const { weights, jpg, png } = await files;
  const r = run('predict', '--model', 'mobilenet', '--weights', weights, jpg, png);
  assert.equal(r.status, 0, r.stderr);
  const blocks = r.stdout.trim().split(/\n(?=\S+ \()/);
  assert.equal(blocks.length, 2);
  for (const [block, file] of [[blocks[0], jpg], [blocks[1], png]]) {
    const lines = block.split('\n');
    assert.equal(lines[0], `${file} (mobilenet_0.25_128, preprocessing 'tf')`);
    assert.match(lines[1], /^rank {2}wnid {7}class +score$/);
    assert.equal(lines.length, 7);
    lines.slice(2).forEach((l, k) => assert.match(l, new RegExp(`^ {3}${k + 1} {2}n\\d{8} {2}\\S+ +[01]\\.\\d{4}$`)));
  }
});

test('convkit predict --json --top 3 equals the library (load_img nearest, mode tf, decode_predictions); Keras 3 file too', async () => {
  const { weights, k3, jpg, png } = await files;
  resetLayerNames();
  const model = createModel('mobilenet', TINY);
  await loadKerasWeights(model, weights);
  const expected = decodePredictions(model.predict(loadImages([jpg, png], { inputShape: [128, 128, 3], mode: 'tf' })), 3);
  for (const args of [['--weights', weights], ['--weights', k3, '--alpha', '0.25', '--size', '128']]) {
    const r = run('predict', '--model', 'mobilenet', ...args, '--json', '--top', '3', jpg, png);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.file), [jpg, png]);
    lines.forEach((l, i) => {
      assert.deepEqual(Object.keys(l.predictions[0]), ['index', 'wnid', 'name', 'score']);
      assert.deepEqual(l.predictions.map((p: { index: number }) => p.index), expected[i].map((p) => p.index));
      l.predictions.forEach((p: { score: number }, k: number) => assert.ok(Math.abs(p.score - expected[i][k].score) < 1e-6));
    });
  }
});

test('convkit predict: usage errors exit 2, unreadable input exits 1, one line each', async () => {
  const { weights, jpg } = await files;
  const bad = join(dir, 'notes.txt');
  writeFileSync(bad, 'hello');
  for (const [args, code, pattern] of [
    [['predict', jpg], 2, /^convkit: --model: expected a zoo model \(.*\) with --weights, or a model file \(.keras, .h5, .safetensors\) or training folder; or --checkpoint\n$/],
    [['predict', '--model', 'mobilenet', jpg], 2, /^convkit: --weights: required with a zoo --model/],
    [['predict'], 2, /^convkit: predict: expected image files \(with --model\), or --checkpoint\n$/],
    [['predict', '--model', 'mobilenet', '--weights', weights, '--preprocess', 'bgr', jpg], 2, /^convkit: --preprocess: expected one of tf, caffe, torch, unit, centered, raw, none, received 'bgr'\n$/],
    [['predict', '--model', 'mobilenet', '--weights', weights, bad], 1, /^convkit: image '.*notes\.txt': expected a JPEG or PNG image, received 5 bytes starting 68 65 6c 6c 6f\n$/],
    [['predict', '--model', 'mobilenet', '--weights', weights, '--alpha', '0.5', jpg], 1, /^convkit: Keras weights .* do not fit model 'mobilenet_0\.50_128'/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
