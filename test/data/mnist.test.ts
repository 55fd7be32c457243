import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST, MNIST, MnistFamilySpec, fashionMnist, loadMnistFamily, mnist } from '../../src/data/mnist.js';
import { fakeFetch, idxBytes, md5, tempDir } from './fixtures.js';

const PIXELS = 28 * 28;

/** Writes the four files of a tiny MNIST-like set: `train` and `test` are label lists. */
function writeFakeSet(dir: string, train: number[], test: number[], gz = true): Record<string, Buffer> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxBytes([train.length, 28, 28]),
    'train-labels-idx1-ubyte': idxBytes([train.length], train),
    't10k-images-idx3-ubyte': idxBytes([test.length, 28, 28], Array.from({ length: test.length * PIXELS }, (_, i) => 255 - (i & 255))),
    't10k-labels-idx1-ubyte': idxBytes([test.length], test),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  return files;
}

test('mnist.loadData reads the four IDX files from dataDir (gzip or plain) as 28x28x1 uint8 datasets', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFakeSet(join(dir, 'a'), [5, 0, 4], [7, 2]);
    writeFakeSet(join(dir, 'b', 'mnist'), [1], [9], false); // the <name>/ subfolder, uncompressed names
    const { train, test: t } = await mnist.loadData({ dataDir: join(dir, 'a') });
    assert.deepEqual([train.n, train.height, train.width, train.channels], [3, 28, 28, 1]);
    assert.deepEqual([...train.labels], [5, 0, 4]);
    assert.deepEqual([...t.labels], [7, 2]);
    assert.equal(train.name, 'mnist-train');
    assert.deepEqual(train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual([train.images[0], train.images[1], train.images[PIXELS]], [3, 10, (PIXELS * 7 + 3) & 255]);
    assert.deepEqual([t.images[0], t.images[PIXELS + 1]], [255, 255 - ((PIXELS + 1) & 255)]);
    const b = await mnist.loadData({ dataDir: join(dir, 'b') });
    assert.deepEqual([b.train.n, b.test.n, b.test.labels[0]], [1, 1, 9]);
    const f = await fashionMnist.loadData({ dataDir: join(dir, 'a') });
    assert.deepEqual(f.train.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    assert.equal(f.test.name, 'fashion-mnist-test');
  } finally {
    cleanup();
  }
});

test('mnist.loadData refuses count mismatches, wrong sizes and labels outside 0..9, naming the files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFakeSet(dir, [1, 2, 3], [4]);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([2], [1, 2])));
    await assert.rejects(mnist.loadData({ dataDir: dir }), /IDX files .*train-images-idx3-ubyte\.gz and .*train-labels-idx1-ubyte\.gz: counts must be equal, received 3 images and 2 labels/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([3], [1, 12, 3])));
    await assert.rejects(mnist.loadData({ dataDir: dir }), /train-labels-idx1-ubyte\.gz: label 1 must be in \[0, 9\], received 12/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([3], [1, 2, 3])));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([3, 32, 32])));
    await assert.rejects(mnist.loadData({ dataDir: dir }), /train-images-idx3-ubyte\.gz: images must be 28x28, received 32x32/);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([3, 28, 28])).subarray(0, 100));
    await assert.rejects(mnist.loadData({ dataDir: dir }), /train-images-idx3-ubyte\.gz: gzip data is corrupt or truncated after \d+ decompressed bytes of the 2368 its header implies/);
  } finally {
    cleanup();
  }
});

test('an explicit dataDir is the only place looked in; without it, system folders come before the cache', async () => {
  const { dir, cleanup } = tempDir();
  const saved = process.env.CONVKIT_DATA;
  try {
    process.env.CONVKIT_DATA = join(dir, 'cache');
    writeFakeSet(join(dir, 'cache', 'mnist'), [3], [3]);
    writeFakeSet(join(dir, 'system'), [8, 8], [8]);
    assert.deepEqual([...(await mnist.loadData()).train.labels], [3]);
    assert.deepEqual([...(await mnist.loadData({ systemDirs: [join(dir, 'nowhere'), join(dir, 'system')] })).train.labels], [8, 8]);
    mkdirSync(join(dir, 'partial'));
    writeFileSync(join(dir, 'partial', 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([1, 28, 28])));
    await assert.rejects(mnist.loadData({ dataDir: join(dir, 'partial') }), (err: Error) => {
      assert.match(err.message, /^mnist IDX files not found\. Looked in:/);
      assert.match(err.message, /partial: missing train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz/);
      assert.match(err.message, /partial\/mnist: no mnist files/);
      assert.match(err.message, /download: true to fetch them into .*partial\/mnist/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.CONVKIT_DATA;
    else process.env.CONVKIT_DATA = saved;
    cleanup();
  }
});

test('download: true fetches only the missing files, checks md5 and sha256, and keeps nothing that fails', async () => {
  const { dir, cleanup } = tempDir();
  const saved = process.env.CONVKIT_DATA;
  try {
    const src = join(dir, 'src');
    const plain = writeFakeSet(src, [1, 2], [3], false);
    const bodies = new Map<string, Buffer>();
    const files = Object.fromEntries(
      Object.entries(plain).map(([name, bytes]) => {
        const gz = gzipSync(bytes);
        bodies.set(`https://mirror.test/${name}.gz`, gz);
        return [name, { name, md5: md5(gz), sha256: createHash('sha256').update(gz).digest('hex') }];
      }),
    );
    const spec: MnistFamilySpec = {
      ...MNIST, name: 'toy', baseUrl: 'https://mirror.test/',
      trainImages: files['train-images-idx3-ubyte'], trainLabels: files['train-labels-idx1-ubyte'],
      testImages: files['t10k-images-idx3-ubyte'], testLabels: files['t10k-labels-idx1-ubyte'],
    };
    const fetched: string[] = [];
    const fetch = async (url: string): Promise<Response> => {
      fetched.push(url);
      return fakeFetch(bodies.get(url) as Buffer)(url);
    };
    process.env.CONVKIT_DATA = join(dir, 'cache');
    mkdirSync(join(dir, 'cache', 'toy'), { recursive: true });
    writeFileSync(join(dir, 'cache', 'toy', 't10k-labels-idx1-ubyte'), plain['t10k-labels-idx1-ubyte']); // already there
    await assert.rejects(loadMnistFamily(spec), /toy IDX files not found/);
    const { train, test: t } = await loadMnistFamily(spec, { download: true, fetch });
    assert.deepEqual([...train.labels, ...t.labels], [1, 2, 3]);
    assert.equal(fetched.length, 3);
    assert.ok(!fetched.some((u) => u.includes('t10k-labels')));
    assert.deepEqual(readdirSync(join(dir, 'cache', 'toy')).sort(), ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    // A second load reads the cache without fetching.
    await loadMnistFamily(spec, { fetch });
    assert.equal(fetched.length, 3);
    // A body whose sha256 differs (same md5 cannot be forged here, so change the expected sum) is refused.
    const bad = { ...spec, name: 'bad', trainImages: { ...spec.trainImages, sha256: '0'.repeat(64) } };
    await assert.rejects(loadMnistFamily(bad, { download: true, fetch }), /sha256 of the download from https:\/\/mirror\.test\/train-images-idx3-ubyte\.gz must be 0{64}, received [0-9a-f]{64}.*copy it to/);
    assert.ok(!existsSync(join(dir, 'cache', 'bad', 'train-images-idx3-ubyte.gz')));
    assert.deepEqual(readdirSync(join(dir, 'cache', 'bad')), []);
  } finally {
    if (saved === undefined) delete process.env.CONVKIT_DATA;
    else process.env.CONVKIT_DATA = saved;
    cleanup();
  }
});

const DEBIAN = FASHION_MNIST.systemDirs[0];

test('the real Fashion-MNIST from Debian (dataset-fashion-mnist)', { skip: existsSync(DEBIAN) ? false : `${DEBIAN} is absent (apt-get install dataset-fashion-mnist)` }, async () => {
  const { dir, cleanup } = tempDir();
  const saved = process.env.CONVKIT_DATA;
  try {
    process.env.CONVKIT_DATA = dir; // an empty cache: the Debian copy must be what is read
    const { train, test: t } = await fashionMnist.loadData();
    assert.deepEqual([train.n, t.n, train.height, train.width, train.channels], [60000, 10000, 28, 28, 1]);
    // Numbers from numpy on the same files: np.frombuffer(gzip.open(f).read(), np.uint8, offset=8 or 16).
    assert.deepEqual([...train.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert.deepEqual([...t.labels.subarray(0, 10)], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(6000));
    let sum = 0;
    for (const v of train.images) sum += v;
    assert.equal(sum, 3431114169);
    sum = 0;
    for (const v of t.images) sum += v;
    assert.equal(sum, 573469082);
  } finally {
    if (saved === undefined) delete process.env.CONVKIT_DATA;
    else process.env.CONVKIT_DATA = saved;
    cleanup();
  }
});
