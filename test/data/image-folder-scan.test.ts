import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { codePointCompare, listOrder, scanDirectory, splitOrder, checkSplitArgs } from '../../src/data/image-folder/index.js';
import { NumpyRandomState } from '../../src/tensor/numpy-random.js';
import { tempDir, writeTree } from './fixtures.js';

test('NumpyRandomState: MT19937 reference output for init_genrand(5489) and numpy shuffles', () => {
  // The first outputs of the reference mt19937ar.c seeded with init_genrand(5489) (C++ std::mt19937's default
  // seed; its 10000th output is 4123659995), also np.random.RandomState(5489)._bit_generator.random_raw(5).
  const rs = new NumpyRandomState(5489);
  assert.deepEqual(Array.from({ length: 5 }, () => rs.nextUint32()), [3499211612, 581869302, 3890346734, 3586334585, 545404204]);
  for (let i = 5; i < 9999; i++) rs.nextUint32();
  assert.equal(rs.nextUint32(), 4123659995);
  // numpy 2.4.6: l = list(range(n)); np.random.RandomState(seed).shuffle(l); print(l)
  const golden: [number, number, number[]][] = [
    [0, 10, [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]],
    [1337, 10, [6, 3, 0, 4, 5, 2, 1, 9, 8, 7]],
    [42, 37, [17, 13, 4, 29, 35, 25, 6, 26, 24, 16, 8, 15, 12, 32, 9, 19, 0, 31, 5, 11, 1, 27, 21, 2, 36, 34, 3, 33, 23, 30, 10, 22, 18, 20, 7, 14, 28]],
    [4294967295, 20, [11, 17, 19, 15, 1, 5, 8, 16, 13, 18, 14, 9, 10, 6, 0, 4, 7, 12, 2, 3]],
    [123, 1, [0]],
  ];
  for (const [seed, n, expected] of golden) assert.deepEqual([...listOrder(n, seed)], expected, `seed ${seed}, n ${n}`);
  // The keras-io "image classification from scratch" size: 23410 files, validation_split 0.2 -> 4682 files.
  // numpy: l[:8], l[-8:], sum(l[-4682:])
  const big = listOrder(23410, 1337);
  assert.deepEqual([...big.subarray(0, 8)], [5760, 12621, 8981, 13012, 19086, 16054, 12337, 6953]);
  assert.deepEqual([...big.subarray(-8)], [6002, 22874, 19111, 21977, 19623, 9448, 860, 3223]);
  const { training, validation } = splitOrder(big, 0.2, 'both', 'test');
  assert.equal(training?.length, 18728);
  assert.equal(validation?.length, 4682);
  assert.equal(validation?.reduce((a, b) => a + b, 0), 55235285);
  assert.throws(() => new NumpyRandomState(2 ** 32), /seed must be an integer between 0 and 2\*\*32 - 1, received 4294967296/);
  assert.throws(() => new NumpyRandomState(-1), /received -1/);
});

test('codePointCompare sorts like Python: uppercase before lowercase, digits as text, astral above U+FFFF', () => {
  const names = ['b', 'a', 'B', '10', '9', '_x', 'ä', '\u{1F600}', '\uFF5E', 'a b', 'a-', 'a/'];
  assert.deepEqual([...names].sort(codePointCompare), ['10', '9', 'B', '_x', 'a', 'a b', 'a-', 'a/', 'b', 'ä', '\uFF5E', '\u{1F600}']);
  // UTF-16 order would put U+1F600 (surrogates D83D..) before U+FF5E.
  assert.deepEqual(['\u{1F600}', '\uFF5E'].sort(), ['\u{1F600}', '\uFF5E']);
});

/**
 * The tree and the expected lists come from this script, which restates Keras 3's index_directory and
 * get_training_or_validation_split with os.walk (numpy 2.4.6):
 *
 *   subdirs = [s for s in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, s)) and not s.startswith(".")]
 *   for i, s in enumerate(subdirs):
 *       for root, _, fs in sorted(os.walk(os.path.join(d, s)), key=lambda x: x[0]):
 *           for f in sorted(fs):
 *               if f.lower().endswith((".bmp", ".gif", ".jpeg", ".jpg", ".png")): files.append(...); labels.append(i)
 *   rng = np.random.RandomState(1337); rng.shuffle(files)      # and a fresh one for labels
 *   n = int(0.3 * len(files)); train = files[:-n]; val = files[-n:]
 */
const TREE = [
  '10/a.png', '9/b.png', 'Dog/x.jpg', 'Dog/y.png', 'cat/.hidden.png', 'cat/B.PNG', 'cat/a.jpg', 'cat/c.txt', 'cat/d.Jpeg',
  'cat/e', 'cat/sub/x.png', 'cat/sub x/y.png', 'cat/sub/deeper/z.gif', 'cat/sub-/w.bmp', 'ä/q.png', '.hidden/h.png', 'top.png',
];
const KERAS_CLASSES = ['10', '9', 'Dog', 'cat', 'ä'];
const KERAS_FILES = ['10/a.png', '9/b.png', 'Dog/x.jpg', 'Dog/y.png', 'cat/.hidden.png', 'cat/B.PNG', 'cat/a.jpg', 'cat/d.Jpeg', 'cat/sub/x.png', 'cat/sub x/y.png', 'cat/sub-/w.bmp', 'cat/sub/deeper/z.gif', 'ä/q.png'];
const KERAS_LABELS = [0, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4];
const KERAS_TRAIN = ['cat/B.PNG', 'Dog/y.png', '9/b.png', '10/a.png', 'cat/.hidden.png', 'cat/a.jpg', 'cat/sub/deeper/z.gif', 'Dog/x.jpg', 'cat/sub-/w.bmp', 'cat/sub x/y.png'];
const KERAS_VAL = ['ä/q.png', 'cat/sub/x.png', 'cat/d.Jpeg'];

test("scanDirectory lists classes and files in Keras's order; the seeded split picks Keras's files", () => {
  const { dir, cleanup } = tempDir();
  try {
    writeTree(dir, TREE);
    const scan = scanDirectory(dir);
    assert.deepEqual(scan.classNames, KERAS_CLASSES);
    assert.deepEqual(scan.files.map((f) => relative(dir, f.path)), KERAS_FILES);
    assert.deepEqual(scan.files.map((f) => f.label), KERAS_LABELS);
    assert.ok(scan.files.every((f) => f.size === 0 && f.mtimeMs > 0));
    const order = listOrder(scan.files.length, 1337);
    const { training, validation } = splitOrder(order, 0.3, 'both', 'test');
    assert.deepEqual(Array.from(training as Int32Array, (i) => relative(dir, scan.files[i].path)), KERAS_TRAIN);
    assert.deepEqual(Array.from(validation as Int32Array, (i) => relative(dir, scan.files[i].path)), KERAS_VAL);
    // Complementary: every file exactly once.
    assert.deepEqual([...(training as Int32Array), ...(validation as Int32Array)].sort((a, b) => a - b), [...scan.files.keys()]);
    // Without shuffling the validation files are the tail of the listing (the last classes), as in Keras.
    assert.deepEqual([...(splitOrder(listOrder(13, null), 0.3, 'validation', 'test').validation as Int32Array)], [10, 11, 12]);

    // classNames: a subset, in the given order, labels following it.
    const subset = scanDirectory(dir, { classNames: ['ä', '10'] });
    assert.deepEqual(subset.classNames, ['ä', '10']);
    assert.deepEqual(subset.files.map((f) => [relative(dir, f.path), f.label]), [['ä/q.png', 0], ['10/a.png', 1]]);
    assert.throws(() => scanDirectory(dir, { classNames: ['cat', 'horse', 'cat'] }), (e: Error) => {
      assert.match(e.message, /argument 'classNames' expected distinct names of subfolders of '.*' \(\['10', '9', 'Dog', 'cat', 'ä'\] or a subset\), received \['cat', 'horse', 'cat'\]; not found: 'horse'; repeated: 'cat'/);
      return true;
    });
    // labels null: every image below the folder, hidden folders and loose files included (os.walk from the top).
    const flat = scanDirectory(dir, { labels: null });
    assert.deepEqual(flat.files.map((f) => relative(dir, f.path)), ['top.png', '.hidden/h.png', ...KERAS_FILES]);
    assert.ok(flat.files.every((f) => f.label === -1));
    assert.throws(() => scanDirectory(dir, { labels: null, classNames: ['cat'] }), /when labels is null \(no labels\), argument 'classNames' cannot be given/);
  } finally {
    cleanup();
  }
});

test('scanDirectory: symlinked folders followed only with followLinks; empty classes and empty folders are errors', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeTree(dir, ['a/1.png', 'b/deep/2.jpg', 'b/deep/more/3.png', 'c/readme.txt']);
    symlinkSync(join(dir, 'b', 'deep'), join(dir, 'a', 'link'));
    symlinkSync(join(dir, 'b'), join(dir, 'linked-class'));
    symlinkSync(join(dir, 'a'), join(dir, 'b', 'deep', 'more', 'loop')); // a cycle when following links
    assert.throws(() => scanDirectory(dir), /class folder '.*\/c' holds no image files \(allowed: \.bmp \.gif \.jpeg \.jpg \.png, any case\)/);
    const plain = scanDirectory(dir, { classNames: ['a', 'linked-class'] });
    assert.deepEqual(plain.files.map((f) => relative(dir, f.path)), ['a/1.png', 'linked-class/deep/2.jpg', 'linked-class/deep/more/3.png']);
    const followed = scanDirectory(dir, { classNames: ['a'], followLinks: true });
    assert.deepEqual(followed.files.map((f) => relative(dir, f.path)), ['a/1.png', 'a/link/2.jpg', 'a/link/more/3.png']);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => scanDirectory(empty), /folder '.*empty' must hold one subfolder per class, received none$/);
    writeFileSync(join(empty, 'x.png'), '');
    assert.throws(() => scanDirectory(empty), /received none \(it holds 1 image files directly; pass labels: null to load them without labels\)/);
    assert.throws(() => scanDirectory(join(dir, 'c'), { labels: null }), /no images found in folder '.*\/c' \(allowed: \.bmp \.gif \.jpeg \.jpg \.png, any case\)/);
    assert.throws(() => scanDirectory(join(dir, 'nope')), /argument 'directory' expected an existing folder, received '.*nope'/);
  } finally {
    cleanup();
  }
});

test("checkSplitArgs and splitOrder refuse what Keras refuses, and empty subsets", () => {
  const who = 'imageDatasetFromDirectory';
  assert.throws(() => checkSplitArgs({ validationSplit: 0.2, subset: 'training', shuffle: true }, who), /you must provide a 'seed' argument/);
  assert.doesNotThrow(() => checkSplitArgs({ validationSplit: 0.2, subset: 'training', shuffle: false }, who));
  assert.throws(() => checkSplitArgs({ validationSplit: 1, subset: 'training', shuffle: false }, who), /'validationSplit' expected a number between 0 and 1 \(exclusive\), received 1/);
  assert.throws(() => checkSplitArgs({ validationSplit: 0.2, shuffle: false }, who), /if 'subset' is set, 'validationSplit' must be set, and inversely/);
  assert.throws(() => checkSplitArgs({ subset: 'both', shuffle: false }, who), /and inversely/);
  assert.throws(() => checkSplitArgs({ validationSplit: 0.2, subset: 'train' as 'training', shuffle: false }, who), /'subset' expected 'training', 'validation' or 'both', received 'train'/);
  assert.throws(() => checkSplitArgs({ shuffle: true, seed: 1.5 }, who), /'seed' expected an integer between 0 and 2\*\*32 - 1/);
  assert.throws(() => splitOrder(listOrder(4, 1), 0.2, 'training', who), /validationSplit 0\.2 of 4 files leaves 4 for training and 0 for validation; both must be non-empty/);
});
