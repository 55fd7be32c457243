import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ImageDatasetFromDirectoryOptions, decodeStats, imageDatasetFromDirectory } from '../../src/data/image-folder/index.js';
import { Dense, Flatten } from '../../src/layers/core.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { Sequential } from '../../src/models/sequential.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import '../../src/train/index.js';
import { imageSource } from '../../src/train/source.js';
import { tempDir, writeTree } from './fixtures.js';
import { encodePng, encodeProgressiveJpeg } from './image-fixtures.js';

/** A 4x4 RGB PNG whose pixels encode `id`: R = id, G = 10 * y + x, B = 200. */
function idPng(id: number, w = 4, h = 4): Buffer {
  const samples: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) samples.push(id, 10 * y + x, 200);
  return encodePng({ width: w, height: h, colorType: 2, bitDepth: 8, samples });
}

const quiet = (over: ImageDatasetFromDirectoryOptions = {}): ImageDatasetFromDirectoryOptions => ({ verbose: false, workers: 0, onWarning: () => undefined, ...over });

test("imageDatasetFromDirectory: Keras's exact seeded split ('both' and each subset alone), labels, pixels in [0, 1]", async () => {
  const { dir, cleanup } = tempDir();
  try {
    // The tree of image-folder-scan.test.ts (expected lists from the numpy script there); every image file is a
    // PNG whatever its extension says (decoding goes by content), and its red channel is its index in TREE.
    const tree = ['10/a.png', '9/b.png', 'Dog/x.jpg', 'Dog/y.png', 'cat/.hidden.png', 'cat/B.PNG', 'cat/a.jpg', 'cat/c.txt', 'cat/d.Jpeg', 'cat/e', 'cat/sub/x.png', 'cat/sub x/y.png', 'cat/sub/deeper/z.gif', 'cat/sub-/w.bmp', 'ä/q.png'];
    writeTree(dir, tree, (p) => idPng(tree.indexOf(p)));
    const opts = quiet({ seed: 1337, validationSplit: 0.3, imageSize: [4, 4], interpolation: 'nearest' });
    const [train, val] = await imageDatasetFromDirectory(dir, { ...opts, subset: 'both' });
    const rel = (paths: string[]): string[] => paths.map((p) => relative(dir, p));
    assert.deepEqual(rel(train.filePaths), ['cat/B.PNG', 'Dog/y.png', '9/b.png', '10/a.png', 'cat/.hidden.png', 'cat/a.jpg', 'cat/sub/deeper/z.gif', 'Dog/x.jpg', 'cat/sub-/w.bmp', 'cat/sub x/y.png']);
    assert.deepEqual(rel(val.filePaths), ['ä/q.png', 'cat/sub/x.png', 'cat/d.Jpeg']);
    assert.deepEqual([...(train.labels as Int32Array)], [3, 2, 1, 0, 3, 3, 3, 2, 3, 3]);
    assert.deepEqual([...(val.labels as Int32Array)], [4, 3, 3]);
    assert.deepEqual(train.classNames, ['10', '9', 'Dog', 'cat', 'ä']);
    assert.deepEqual([train.name, val.name, train.seed, train.storage], ['image-folder-training', 'image-folder-validation', 1337, 'memory']);
    const alone = await imageDatasetFromDirectory(dir, { ...opts, subset: 'validation' });
    assert.deepEqual(alone.filePaths, val.filePaths);
    assert.deepEqual((await imageDatasetFromDirectory(dir, { ...opts, subset: 'training' })).filePaths, train.filePaths);
    // The pixels belong to the listed file: red = its index in the tree; x = bytes / 255.
    const { x, y } = train.take([0, 3], true);
    assert.deepEqual(x.shape, [2, 4, 4, 3]);
    assert.deepEqual(y, Int32Array.from([3, 0]));
    const f32 = (v: number): number => Math.fround(v * (1 / 255));
    assert.equal(x.data[0], f32(tree.indexOf('cat/B.PNG')));
    assert.equal(x.data[48], f32(tree.indexOf('10/a.png')));
    assert.equal(x.data[48 + 3 * 5 + 1], f32(11)); // green of pixel (1, 1)
    assert.deepEqual([...train.readImages([1]).subarray(0, 3)], [tree.indexOf('Dog/y.png'), 0, 200]);
    await assert.rejects(imageDatasetFromDirectory(dir, quiet({ validationSplit: 0.3, subset: 'both' })), /you must provide a 'seed' argument/);
  } finally {
    cleanup();
  }
});

test('label modes, colour modes, classNames, and the argument checks', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeTree(dir, ['b/1.png', 'b/2.png', 'a/1.png', 'c/1.png'], (p) => idPng(p.charCodeAt(0)));
    const base = quiet({ shuffle: false, imageSize: [2, 2] });
    const int = await imageDatasetFromDirectory(dir, base);
    assert.deepEqual([int.n, int.channels, [...(int.labels as Int32Array)], int.seed], [4, 3, [0, 1, 1, 2], null]);
    const cat = await imageDatasetFromDirectory(dir, { ...base, labelMode: 'categorical' });
    const yc = cat.take([0, 2, 3]).y as Tensor;
    assert.deepEqual(yc.shape, [3, 3]);
    assert.deepEqual([...yc.data], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const bin = await imageDatasetFromDirectory(dir, { ...base, labelMode: 'binary', classNames: ['c', 'a'] });
    const yb = bin.take([0, 1]).y as Tensor;
    assert.deepEqual([yb.shape, [...yb.data], bin.classNames], [[2, 1], [0, 1], ['c', 'a']]);
    await assert.rejects(imageDatasetFromDirectory(dir, { ...base, labelMode: 'binary' }), /when labelMode is 'binary', there must be exactly 2 classes, received 3: \['a', 'b', 'c'\]/);
    const none = await imageDatasetFromDirectory(dir, { ...base, labelMode: null });
    assert.deepEqual([none.n, none.labels, none.classNames, (none.take([0]).y as Int32Array).length], [4, null, [], 0]);
    await assert.rejects(imageDatasetFromDirectory(dir, { ...base, labelMode: null, classNames: ['a'] }), /argument 'classNames' cannot be given/);
    // Colour modes: red = the class letter's code, green 0..11, blue 200.
    const grey = await imageDatasetFromDirectory(dir, { ...base, colorMode: 'grayscale', imageSize: [4, 4] });
    assert.equal(grey.channels, 1);
    // libpng's luma of (97, G, 200) for G = 0 and 1, the first two pixels.
    assert.deepEqual([...grey.readImages([0]).subarray(0, 2)], [(9797 * 97 + 3737 * 200) >>> 15, (9797 * 97 + 19234 + 3737 * 200) >>> 15]);
    assert.deepEqual([...grey.readImages([0]).subarray(0, 2)], [51, 52]);
    const rgba = await imageDatasetFromDirectory(dir, { ...base, colorMode: 'rgba', imageSize: [4, 4] });
    assert.deepEqual([...rgba.readImages([0]).subarray(0, 8)], [97, 0, 200, 255, 97, 1, 200, 255]);
    for (const [over, message] of [
      [{ labelMode: 'sparse' }, /argument 'labelMode' expected one of "int", "categorical", "binary", null, received "sparse"/],
      [{ colorMode: 'bgr' }, /argument 'colorMode' expected one of "grayscale", "rgb", "rgba", received "bgr"/],
      [{ interpolation: 'bicubic' }, /argument 'interpolation' expected one of "nearest", "bilinear", received "bicubic"/],
      [{ imageSize: [0, 4] }, /argument 'imageSize\[0\]' expected an integer >= 1, received 0/],
      [{ batchSize: 0 }, /argument 'batchSize' expected an integer >= 1, received 0/],
      [{ labels: 'folders' }, /argument 'labels' expected 'inferred' or null, received "folders"/],
    ] as [Record<string, unknown>, RegExp][]) {
      await assert.rejects(imageDatasetFromDirectory(dir, { ...base, ...over } as ImageDatasetFromDirectoryOptions), message);
    }
  } finally {
    cleanup();
  }
});

test('an undecodable file is skipped with one warning naming it and counted; empty classes are errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeTree(dir, ['a/1.png', 'a/2.png', 'b/1.png'], () => idPng(1));
    writeFileSync(join(dir, 'a', 'broken.jpg'), 'not a jpeg at all');
    writeFileSync(join(dir, 'b', 'anim.gif'), Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00'));
    writeFileSync(join(dir, 'b', 'notes.txt'), 'ignored: no image extension');
    const warnings: string[] = [];
    const ds = await imageDatasetFromDirectory(dir, quiet({ shuffle: false, imageSize: [2, 2], onWarning: (m) => warnings.push(m) }));
    assert.equal(ds.n, 3);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /^imageDatasetFromDirectory: skipped '.*\/a\/broken\.jpg', which cannot be decoded: expected a JPEG or PNG image, received 17 bytes starting 6e 6f 74/);
    assert.match(warnings[1], /skipped '.*\/b\/anim\.gif', which cannot be decoded: expected a JPEG or PNG image, received a GIF image/);
    assert.deepEqual(ds.skippedFiles.map((s) => relative(dir, s.path)), ['a/broken.jpg', 'b/anim.gif']);
    assert.deepEqual(ds.filePaths.map((p) => relative(dir, p)), ['a/1.png', 'a/2.png', 'b/1.png']);
    assert.deepEqual([...(ds.labels as Int32Array)], [0, 0, 1]);
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'readme.md'), '');
    await assert.rejects(imageDatasetFromDirectory(dir, quiet()), /class folder '.*\/c' holds no image files/);
  } finally {
    cleanup();
  }
});

test('disk cache: beyond the memory budget images go to a cache file that later epochs and loads read without decoding', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = join(dir, 'data');
    writeTree(data, Array.from({ length: 12 }, (_, i) => `${i % 3}/${i}.png`), (p) => idPng(Number(p.split('/')[1].split('.')[0]), 5, 3));
    writeFileSync(join(data, '1', 'bad.png'), 'broken');
    const cacheDir = join(dir, 'cache');
    const opts = quiet({ imageSize: [3, 3], seed: 5, validationSplit: 0.25, subset: 'training', memoryBudget: 0, cacheDir, workers: 2 });
    const progress: [number, number][] = [];
    const warnings: string[] = [];
    const before = decodeStats.images;
    const ds = await imageDatasetFromDirectory(data, { ...opts, onProgress: (d, t) => progress.push([d, t]), onWarning: (m) => warnings.push(m) });
    assert.equal(ds.storage, 'disk');
    assert.ok(ds.cachePath && existsSync(ds.cachePath) && ds.cachePath.startsWith(cacheDir));
    // 13 files, int(0.25 * 13) = 3 for validation, 10 for training; the seed puts bad.png (listed 9th) in training.
    assert.deepEqual([ds.n, ds.skippedFiles.length], [9, 1]);
    assert.equal(decodeStats.images - before, ds.n);
    assert.equal(ds.decodedImages, ds.n);
    assert.deepEqual(progress.at(-1), [10, 10]);
    assert.equal(progress.length, 10);
    // The same split in memory: identical pixels, labels and order.
    const mem = await imageDatasetFromDirectory(data, { ...opts, memoryBudget: 2 ** 20, workers: 0 });
    assert.equal(mem.storage, 'memory');
    assert.deepEqual(mem.filePaths, ds.filePaths);
    const all = Int32Array.from({ length: ds.n }, (_, i) => i);
    assert.deepEqual(ds.readImages(all), mem.readImages(all));
    // Two epochs through batches() and take(): nothing is decoded again.
    const afterFirst = decodeStats.images;
    let seen = 0;
    for (let epoch = 0; epoch < 2; epoch++) {
      for (const b of ds.batches({ batchSize: 4, rng: new Random(epoch) })) {
        seen += b.indices.length;
        assert.deepEqual(b.x.data, mem.take(b.indices).x.data);
      }
    }
    assert.equal(seen, 2 * ds.n);
    assert.equal(decodeStats.images, afterFirst);
    // A second load with the same files and options reuses the cache file (and its record of the bad file).
    const warnings2: string[] = [];
    const again = await imageDatasetFromDirectory(data, { ...opts, onWarning: (m) => warnings2.push(m) });
    assert.equal(decodeStats.images, afterFirst);
    assert.deepEqual([again.decodedImages, again.cachePath, again.filePaths], [0, ds.cachePath, ds.filePaths]);
    assert.deepEqual(again.readImages(all), ds.readImages(all));
    assert.equal(warnings.length, ds.skippedFiles.length);
    assert.deepEqual(warnings2.map((w) => w.replace(' (recorded in the disk cache)', '')), warnings);
    // Touching a file changes the key: a new cache file, everything decoded again.
    utimesSync(ds.filePaths[0], new Date(), new Date(Date.now() + 5000));
    const touched = await imageDatasetFromDirectory(data, opts);
    assert.notEqual(touched.cachePath, ds.cachePath);
    assert.equal(decodeStats.images - afterFirst, touched.n);
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.u8')).length, 2);
    assert.ok(!readdirSync(cacheDir).some((f) => f.includes('.part')), 'no temporary files left');
    assert.throws(() => ds.toImageDataset(), /held in a disk cache .*use the dataset itself as the data source, or raise memoryBudget/);
  } finally {
    cleanup();
  }
});

test('plugs into fit: directly as a data source, through toImageDataset + imageSource, and with one-hot labels', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // Two classes told apart by brightness.
    writeTree(dir, Array.from({ length: 16 }, (_, i) => `${i % 2 ? 'light' : 'dark'}/${i}.png`), (p) =>
      encodePng({ width: 6, height: 6, colorType: 0, bitDepth: 8, samples: new Array(36).fill(p.startsWith('light') ? 220 : 30) }));
    const build = (units: number): Sequential => {
      resetLayerNames();
      setSeed(1);
      return new Sequential([new Flatten({ inputShape: [4, 4, 1] }), new Dense({ units, activation: 'softmax' })]);
    };
    const ds = await imageDatasetFromDirectory(dir, quiet({ imageSize: [4, 4], colorMode: 'grayscale', seed: 3, memoryBudget: 0, cacheDir: join(dir, '.cache') }));
    const model = build(2);
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const h = await model.fit(ds, undefined, { batchSize: 4, epochs: 3, verbose: 0 });
    assert.equal(h.history.loss.length, 3);
    assert.ok(Number.isFinite(h.history.loss[2]));
    const inMemory = await imageDatasetFromDirectory(dir, quiet({ imageSize: [4, 4], colorMode: 'grayscale', seed: 3 }));
    const r1 = model.evaluate(ds, undefined, { batchSize: 5 });
    const r2 = model.evaluate(imageSource(inMemory.toImageDataset()), undefined, { batchSize: 5 });
    assert.ok(Math.abs(r1.loss - r2.loss) < 1e-6, `${r1.loss} vs ${r2.loss}`);
    const oneHot = await imageDatasetFromDirectory(dir, quiet({ imageSize: [4, 4], colorMode: 'grayscale', seed: 3, labelMode: 'categorical' }));
    const m2 = build(2);
    m2.compile({ optimizer: 'adam', loss: 'categorical_crossentropy' });
    const h2 = await m2.fit(oneHot.source({ horizontalFlip: true }), undefined, { batchSize: 8, epochs: 2, verbose: 0 });
    assert.equal(h2.history.loss.length, 2);
  } finally {
    cleanup();
  }
});

test('fuzz: corrupt PNG and JPEG files (truncations, bit flips) are decoded or skipped, never a crash or hang', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const rng = new Random(11);
    const sources = [idPng(7, 9, 7), encodeProgressiveJpeg(9, 7, 3, Array.from({ length: 189 }, (_, i) => (i * 13) % 256)), encodeProgressiveJpeg(8, 8, 1, new Array(64).fill(90))];
    const all = join(dir, 'all');
    mkdirSync(all);
    let k = 0;
    for (const src of sources) {
      for (let len = 0; len < src.length; len += Math.max(1, Math.floor(src.length / 25))) writeFileSync(join(all, `cut-${k++}.png`), src.subarray(0, len));
      for (let f = 0; f < 40; f++) {
        const b = Buffer.from(src);
        for (let i = 0; i < 1 + rng.int(6); i++) b[rng.int(b.length)] ^= 1 << rng.int(8);
        writeFileSync(join(all, `flip-${k++}.jpg`), b);
      }
    }
    const files = readdirSync(all);
    writeFileSync(join(all, 'good.png'), idPng(1));
    const t0 = Date.now();
    let warnings = 0;
    const ds = await imageDatasetFromDirectory(dir, quiet({ imageSize: [5, 5], shuffle: false, workers: 2, decodeTimeoutMs: 20_000, onWarning: () => warnings++ }));
    assert.equal(ds.n + ds.skippedFiles.length, files.length + 1);
    assert.equal(warnings, ds.skippedFiles.length);
    assert.ok(ds.filePaths.some((p) => p.endsWith('good.png')));
    assert.ok(ds.skippedFiles.length > files.length / 4, `${ds.skippedFiles.length} of ${files.length} skipped`);
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
  } finally {
    cleanup();
  }
});

test('a file whose read never finishes (a FIFO) is skipped after decodeTimeoutMs; the worker is replaced', async () => {
  const { dir, cleanup } = tempDir();
  const fifo = join(dir, 'a', 'stuck.png');
  try {
    writeTree(dir, ['a/1.png', 'a/2.png', 'b/1.png'], () => idPng(2));
    execFileSync('mkfifo', [fifo]);
    const warnings: string[] = [];
    const ds = await imageDatasetFromDirectory(dir, quiet({ imageSize: [2, 2], shuffle: false, workers: 1, decodeTimeoutMs: 1500, onWarning: (m) => warnings.push(m) }));
    assert.equal(ds.n, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /skipped '.*stuck\.png', which cannot be decoded: no result within 1500 ms; the decoder was stopped/);
  } finally {
    // (1.5 s, not less: on a loaded 2-core machine a real file's first decode, worker start-up included, took over 300 ms.)
    // Release the stopped worker's blocked open() so its thread can end (non-blocking: never waits itself).
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader left
    }
    cleanup();
  }
});
