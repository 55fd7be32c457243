import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import '../../src/index.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { Random } from '../../src/tensor/random.js';
import { loadModel } from '../../src/train/saving.js';
import { SKIP_REAL, realFile } from './real-keras.js';

/**
 * Hostile and damaged model files, made from the real ones: truncated, bit-flipped, a zip member claiming
 * gigabytes, JSON nested deep, configs asking for absurd layers. Each load either succeeds (a flipped weight
 * value is still a model) or throws a plain Error whose message names the file, quickly, without a huge
 * allocation.
 */
const dir = mkdtempSync(join(tmpdir(), 'keras-fuzz-'));
const quiet = { onWarning: () => undefined };

async function expectCleanFailureOrModel(bytes: Uint8Array, name: string, label: string): Promise<'ok' | 'error'> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const t0 = Date.now();
  try {
    const m = await loadModel(path, quiet);
    assert.ok(m.countParams() > 0);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof Error, `${label}: threw a non-Error ${String(e)}`);
    assert.ok(e.message.includes(path) || e.message.includes(name), `${label}: the message does not name the file: ${e.message.slice(0, 300)}`);
    assert.ok(!/^undefined|\[object Object\]/.test(e.message), `${label}: ${e.message}`);
    return 'error';
  } finally {
    assert.ok(Date.now() - t0 < 5000, `${label}: took ${Date.now() - t0} ms`);
  }
}

async function mutate(file: string, ext: string, count: number): Promise<{ ok: number; error: number }> {
  const buf = readFileSync(realFile(file));
  const rng = new Random(17);
  const tally = { ok: 0, error: 0 };
  for (let k = 0; k < count; k++) {
    const b = new Uint8Array(buf);
    let label: string;
    let bytes: Uint8Array = b;
    if (k % 3 === 0) {
      const cut = Math.floor(rng.uniform() * b.length);
      bytes = b.subarray(0, cut);
      label = `truncated at ${cut}`;
    } else {
      // Headers and metadata sit in the first and last few KiB: flip there twice as often as in the weights.
      const near = k % 3 === 1 ? Math.floor(rng.uniform() * Math.min(8192, b.length)) : Math.floor(rng.uniform() * b.length);
      const pos = k % 2 === 0 ? b.length - 1 - near : near;
      b[pos] ^= 1 << Math.floor(rng.uniform() * 8);
      label = `bit flip at ${pos}`;
    }
    tally[await expectCleanFailureOrModel(bytes, `m${k}${ext}`, `${file} ${label}`)]++;
  }
  return tally;
}

test('legacy .h5 (Keras 2) and Keras 3 legacy .h5: truncations and bit flips', { skip: SKIP_REAL }, async () => {
  const a = await mutate('muskuloes__MNIST-deployment__cnn_mnist.h5', '.h5', 45);
  const b = await mutate('Prabhav-Mishra__Handwritten-Digit-Recognition-using-deep-learning__cnn_model_mnist.h5', '.h5', 30);
  assert.ok(a.error > 10 && b.error > 5, `damage is noticed: ${JSON.stringify([a, b])}`);
});

test('.keras archives: truncations and bit flips (the zip CRC catches flipped member bytes)', { skip: SKIP_REAL }, async () => {
  const t = await mutate('sanket-pathak__Cifar10Streamlit__cifar10_cnn.keras', '.keras', 45);
  // Every byte of a stored member is covered by its CRC-32, so only flips in unchecked zip fields may load.
  assert.ok(t.error >= 40, `damage is noticed: ${JSON.stringify(t)}`);
});

function rezip(file: string, edit: (members: Map<string, Uint8Array>) => void): Uint8Array {
  const members = readZip(readFileSync(realFile(file)), file);
  edit(members);
  return writeZip([...members]);
}

test('a zip member that claims gigabytes, nested JSON, absurd layer sizes: refused before any allocation', { skip: SKIP_REAL }, async () => {
  const file = 'sanket-pathak__Cifar10Streamlit__cifar10_cnn.keras';
  // Central directory: the uncompressed size of model.weights.h5 set to 3.9 GB.
  const huge = new Uint8Array(readFileSync(realFile(file)));
  const view = new DataView(huge.buffer);
  for (let p = huge.length - 22; p > 0; p--) {
    if (view.getUint32(p, true) === 0x02014b50 && new TextDecoder().decode(huge.subarray(p + 46, p + 46 + 16)) === 'model.weights.h5') {
      view.setUint32(p + 24, 3_900_000_000, true);
      break;
    }
  }
  await assert.rejects(loadModel(join(dir, 'x'), quiet));
  writeFileSync(join(dir, 'huge.keras'), huge);
  await assert.rejects(loadModel(join(dir, 'huge.keras'), quiet), /huge\.keras.*model\.weights\.h5' claims 3900000000 bytes/);

  const enc = new TextEncoder();
  const deep = rezip(file, (m) => m.set('config.json', enc.encode('{"a":' + '['.repeat(100000) + ']'.repeat(100000) + '}')));
  writeFileSync(join(dir, 'deep.keras'), deep);
  await assert.rejects(loadModel(join(dir, 'deep.keras'), quiet), /deep\.keras.*config\.json: the model config nests 100001 levels deep/);

  const absurd = rezip(file, (m) => {
    const cfg = JSON.parse(new TextDecoder().decode(m.get('config.json')));
    cfg.config.layers.find((l: { class_name: string }) => l.class_name === 'Dense').config.units = 1_000_000_000;
    m.set('config.json', enc.encode(JSON.stringify(cfg)));
  });
  writeFileSync(join(dir, 'absurd.keras'), absurd);
  const before = process.memoryUsage().rss;
  await assert.rejects(loadModel(join(dir, 'absurd.keras'), quiet), /Dense 'dense_3': argument 'kernel' expected at most \d+ more values \(the weights '.*absurd\.keras' holds\)/);
  assert.ok(process.memoryUsage().rss - before < 200e6, 'no huge allocation');

  const noConfig = rezip(file, (m) => m.delete('config.json'));
  writeFileSync(join(dir, 'noconfig.keras'), noConfig);
  await assert.rejects(loadModel(join(dir, 'noconfig.keras'), quiet), /noconfig\.keras': the archive has no config\.json/);
  const notJson = rezip(file, (m) => m.set('config.json', enc.encode('{"class_name": "Sequential", "config": ')));
  writeFileSync(join(dir, 'notjson.keras'), notJson);
  await assert.rejects(loadModel(join(dir, 'notjson.keras'), quiet), /notjson\.keras' config\.json: the model config is not valid JSON/);
  const badWeights = rezip(file, (m) => m.set('model.weights.h5', new Uint8Array(m.get('model.weights.h5')!.length).fill(0x78)));
  writeFileSync(join(dir, 'badweights.keras'), badWeights);
  await assert.rejects(loadModel(join(dir, 'badweights.keras'), quiet), /HDF5 file '.*': not an HDF5 file/);
});
