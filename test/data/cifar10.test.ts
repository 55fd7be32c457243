import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CIFAR10_CLASS_NAMES,
  CIFAR10_FOLDER,
  CIFAR10_TEST_FILES,
  CIFAR10_TRAIN_FILES,
  loadCifar10,
  readCifar10Batch,
} from '../../src/data/cifar10.js';
import { TarEntrySpec, cifarRecords, fakeFetch, fakePixel, makeTarGz, md5, tempDir } from './fixtures.js';

test('readCifar10Batch converts planar RGB records to NHWC uint8', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'data_batch_1.bin');
    writeFileSync(path, cifarRecords([3, 0, 9]));
    const ds = readCifar10Batch(path);
    assert.equal(ds.name, 'data_batch_1');
    assert.deepEqual([ds.n, ds.height, ds.width, ds.channels], [3, 32, 32, 3]);
    assert.deepEqual([...ds.labels], [3, 0, 9]);
    assert.deepEqual(ds.classNames, [...CIFAR10_CLASS_NAMES]);
    assert.equal(ds.images.length, 3 * 32 * 32 * 3);
    for (let i = 0; i < 3; i++) {
      for (const [y, x] of [[0, 0], [0, 31], [5, 7], [31, 0], [31, 31]]) {
        for (let c = 0; c < 3; c++) {
          const p = y * 32 + x;
          assert.equal(ds.images[((i * 32 + y) * 32 + x) * 3 + c], fakePixel(i, c, p), `image ${i} y ${y} x ${x} c ${c}`);
        }
      }
    }
  } finally {
    cleanup();
  }
});

test('readCifar10Batch rejects truncated, wrong-sized and empty files, naming file and sizes', () => {
  const { dir, cleanup } = tempDir();
  try {
    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, cifarRecords([1, 2, 3]).subarray(0, 3 * 3073 - 100));
    assert.throws(() => readCifar10Batch(truncated), (err: Error) => {
      assert.match(err.message, /truncated\.bin/);
      assert.match(err.message, /positive multiple of the record size 3073/);
      assert.match(err.message, /received 9119 bytes \(2 whole records and 2973 extra bytes\)/);
      return true;
    });
    const wrong = join(dir, 'wrong.bin');
    writeFileSync(wrong, Buffer.alloc(3072 * 4)); // e.g. pixels without label bytes
    assert.throws(() => readCifar10Batch(wrong), /wrong\.bin: size must be .*3073.*received 12288 bytes/);
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, Buffer.alloc(0));
    assert.throws(() => readCifar10Batch(empty), /empty\.bin: size must be a positive multiple .*received 0 bytes/);
    assert.throws(() => readCifar10Batch(join(dir, 'absent.bin')), /ENOENT.*absent\.bin/);
  } finally {
    cleanup();
  }
});

test('readCifar10Batch rejects labels outside 0..9, naming the file and record', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'labels.bin');
    writeFileSync(path, cifarRecords([0, 10, 2]));
    assert.throws(() => readCifar10Batch(path), /labels\.bin: record 1 \(byte offset 3073\) has label 10; labels must be 0\.\.9/);
  } finally {
    cleanup();
  }
});

/** Writes the six batch files with 2 records each (test file: 3) into `dir`; returns the labels written. */
function writeFakeCifar(dir: string): { train: number[]; test: number[] } {
  mkdirSync(dir, { recursive: true });
  const train: number[] = [];
  CIFAR10_TRAIN_FILES.forEach((f, k) => {
    const labels = [k, 9 - k];
    train.push(...labels);
    writeFileSync(join(dir, f), cifarRecords(labels));
  });
  const test = [7, 8, 9];
  writeFileSync(join(dir, CIFAR10_TEST_FILES[0]), cifarRecords(test));
  return { train, test };
}

test('loadCifar10 reads train and test from dataDir or from dataDir/cifar-10-batches-bin', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const labels = writeFakeCifar(join(dir, 'direct'));
    const direct = await loadCifar10({ dataDir: join(dir, 'direct') });
    assert.equal(direct.train.n, 10);
    assert.equal(direct.test.n, 3);
    assert.deepEqual([...direct.train.labels], labels.train);
    assert.deepEqual([...direct.test.labels], labels.test);
    // Record 0 of data_batch_2 is the third training image.
    assert.equal(direct.train.images[2 * 3072 + 1], fakePixel(0, 1, 0));

    writeFakeCifar(join(dir, 'parent', CIFAR10_FOLDER));
    const nested = await loadCifar10({ dataDir: join(dir, 'parent') });
    assert.deepEqual(nested.train.images, direct.train.images);
  } finally {
    cleanup();
  }
});

test('loadCifar10 without the files lists what is missing, where it looked and how to get them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(loadCifar10({ dataDir: join(dir, 'nothing') }), (err: Error) => {
      assert.match(err.message, /CIFAR-10 binary files not found/);
      assert.match(err.message, /nothing: no CIFAR-10 files/);
      assert.match(err.message, /cifar-10-binary\.tar\.gz/);
      assert.match(err.message, /download: true/);
      return true;
    });
    const partial = join(dir, 'partial');
    writeFakeCifar(partial);
    for (const f of ['data_batch_3.bin', 'test_batch.bin']) rmSync(join(partial, f));
    await assert.rejects(loadCifar10({ dataDir: partial }), /partial: missing data_batch_3\.bin, test_batch\.bin/);
  } finally {
    cleanup();
  }
});

test('loadCifar10 with download installs a verified archive into the cache, never touching the network', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const src = join(dir, 'src');
    const labels = writeFakeCifar(src);
    const entries: TarEntrySpec[] = [{ name: `${CIFAR10_FOLDER}/`, type: '5' }];
    for (const f of readdirSync(src).sort()) entries.push({ name: `${CIFAR10_FOLDER}/${f}`, data: readFileSync(join(src, f)) });
    entries.push({ name: `${CIFAR10_FOLDER}/batches.meta.txt`, data: 'airplane\n' });
    const archive = makeTarGz(entries);
    const cache = join(dir, 'cache');
    let lastProgress: [number, number | null] = [0, null];
    const loaded = await loadCifar10({
      dataDir: cache,
      download: true,
      url: 'https://example.invalid/datasets/cifar-10-binary.tar.gz',
      md5: md5(archive),
      fetch: fakeFetch(archive, 200, 4096),
      onProgress: (done, total) => (lastProgress = [done, total]),
    });
    assert.deepEqual(lastProgress, [archive.length, archive.length]);
    assert.deepEqual([...loaded.train.labels], labels.train);
    assert.deepEqual([...loaded.test.labels], labels.test);
    assert.deepEqual(readdirSync(cache).sort(), [CIFAR10_FOLDER, 'cifar-10-binary.tar.gz']);

    // Installed: a second load needs no fetch at all.
    const offline = async (): Promise<Response> => assert.fail('must not fetch');
    const again = await loadCifar10({ dataDir: cache, download: true, fetch: offline });
    assert.deepEqual(again.train.images, loaded.train.images);
  } finally {
    cleanup();
  }
});

test('loadCifar10 with download refuses an archive whose md5 is wrong and installs nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const archive = makeTarGz([{ name: `${CIFAR10_FOLDER}/data_batch_1.bin`, data: 'x' }]);
    const cache = join(dir, 'cache');
    await assert.rejects(
      loadCifar10({ dataDir: cache, download: true, url: 'https://example.invalid/c.tar.gz', fetch: fakeFetch(archive) }),
      /md5 of the download from https:\/\/example\.invalid\/c\.tar\.gz must be c32a1d4ab5d03f1284b67883e8d87530.*copy it to/s,
    );
    assert.equal(existsSync(join(cache, CIFAR10_FOLDER)), false);
    assert.deepEqual(readdirSync(cache), []);
  } finally {
    cleanup();
  }
});

test('loadCifar10 looks in $CONVKIT_DATA/cifar-10-batches-bin by default', async () => {
  const { dir, cleanup } = tempDir();
  const saved = process.env.CONVKIT_DATA;
  try {
    process.env.CONVKIT_DATA = dir;
    await assert.rejects(loadCifar10(), (err: Error) => err.message.includes(`${join(dir, CIFAR10_FOLDER)}: no CIFAR-10 files`));
    writeFakeCifar(join(dir, CIFAR10_FOLDER));
    assert.equal((await loadCifar10()).train.n, 10);
  } finally {
    if (saved === undefined) delete process.env.CONVKIT_DATA;
    else process.env.CONVKIT_DATA = saved;
    cleanup();
  }
});
