import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx, readIdx } from '../../src/data/idx.js';
import { Random } from '../../src/tensor/random.js';
import { idxBytes, tempDir } from './fixtures.js';

test('readIdx reads plain and gzip image and label files, by content not name', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const images = idxBytes([3, 2, 4]);
    writeFileSync(join(dir, 'img-idx3-ubyte'), images);
    writeFileSync(join(dir, 'img-idx3-ubyte.gz'), gzipSync(images));
    writeFileSync(join(dir, 'plain-named.gz'), images); // a .gz name on plain bytes still reads
    for (const f of ['img-idx3-ubyte', 'img-idx3-ubyte.gz', 'plain-named.gz']) {
      const r = await readIdx(join(dir, f), { ndims: 3 });
      assert.deepEqual(r.dims, [3, 2, 4], f);
      assert.equal(r.data.length, 24);
      assert.deepEqual([r.data[0], r.data[1], r.data[23]], [3, 10, (23 * 7 + 3) & 255]);
    }
    writeFileSync(join(dir, 'lab.gz'), gzipSync(idxBytes([5], [0, 9, 3, 3, 1])));
    const labels = await readIdx(join(dir, 'lab.gz'), { ndims: 1 });
    assert.deepEqual(labels.dims, [5]);
    assert.deepEqual([...labels.data], [0, 9, 3, 3, 1]);
    assert.deepEqual([...parseIdx(gzipSync(idxBytes([2], [7, 8])), 'mem').data], [7, 8]);
  } finally {
    cleanup();
  }
});

test('readIdx names the file, the expected and the received value for each kind of damage', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = idxBytes([3, 2, 4]); // 16 + 24 = 40 bytes
    const cases: [string, Uint8Array, RegExp][] = [
      ['trunc', good.subarray(0, 30), /trunc: size must be 40 bytes \(16 header \+ 3\*2\*4 = 24 data\), received 30: the file is truncated/],
      ['long', Buffer.concat([good, Buffer.from([1])]), /long: size must be 40 bytes .* received 41: the file is longer than its header says/],
      ['labels-as-images', idxBytes([5]), /labels-as-images: magic number must be 0x00000803 \(unsigned bytes, 3 dimensions\), received 0x00000801; the file is not an IDX image file/],
      ['float', Buffer.from([0, 0, 0x0d, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /float: .*received 0x00000d03: type 0x0d \(float32\) is not supported, only 0x08/],
      ['text', Buffer.from('hello world, not idx'), /text: magic number must be 0x00000803 .*received 0x68656c6c/],
      ['header', good.subarray(0, 10), /header: ends after 10 bytes, inside its header \(expected at least 16 header bytes\)/],
      ['empty', new Uint8Array(0), /empty: ends after 0 bytes, inside its header \(expected at least 4/],
      ['gz-trunc', gzipSync(good).subarray(0, 25), /gz-trunc: (gzip data is corrupt or truncated|expected 40 bytes .*after decompression, received \d+)/],
      ['gz-long', gzipSync(Buffer.concat([good, Buffer.alloc(5)])), /gz-long: holds more than the 40 bytes its header implies/],
      ['gz-huge', gzipSync(idxBytes([1, 1, 1]).fill(0xff, 4, 16)), /gz-huge: header claims 4294967295\*4294967295\*4294967295 = .* bytes, more than the limit/],
    ];
    for (const [name, bytes] of cases) writeFileSync(join(dir, name), bytes);
    for (const [name, , message] of cases) {
      await assert.rejects(readIdx(join(dir, name), { ndims: 3 }), message, name);
    }
    // A header within maxBytes but beyond what the gzip file could expand to is refused before allocating.
    const bomb = Buffer.alloc(16);
    bomb.set([0, 0, 8, 3]);
    [1000, 1000, 1000].forEach((d, i) => bomb.writeUInt32BE(d, 4 + 4 * i)); // 1e9 bytes: under maxBytes
    writeFileSync(join(dir, 'gz-bomb'), gzipSync(bomb));
    await assert.rejects(readIdx(join(dir, 'gz-bomb'), { ndims: 3 }), /gz-bomb: header claims .* more than a gzip file of \d+ bytes can hold/);
    assert.throws(() => parseIdx(good.subarray(0, 30), 'mem', { ndims: 3 }), /IDX file mem: size must be 40 bytes/);
    await assert.rejects(readIdx(join(dir, 'absent')), /ENOENT/);
  } finally {
    cleanup();
  }
});

/**
 * Fuzz: every truncation, random bit flips and absurd dimension counts, plain and gzip. Each input must either
 * parse into exactly prod(dims) bytes (no more than the input could hold) or throw an Error naming the source;
 * never crash, hang or allocate beyond the bound.
 */
test('IDX fuzz: truncations, bit flips and absurd dimensions never crash, hang or over-allocate', async () => {
  const rng = new Random(7);
  const good = idxBytes([4, 3, 5]);
  const inputs: Uint8Array[] = [];
  const gz = gzipSync(good);
  for (let len = 0; len < good.length; len++) inputs.push(good.subarray(0, len));
  for (let len = 0; len < gz.length; len++) inputs.push(gz.subarray(0, len));
  for (let k = 0; k < 300; k++) {
    const src = k % 2 === 0 ? good : gz;
    const b = Buffer.from(src);
    const flips = 1 + rng.int(4);
    for (let f = 0; f < flips; f++) b[rng.int(b.length)] ^= 1 << rng.int(8);
    inputs.push(b);
  }
  for (const d of [0, 1, 2, 3, 4, 200, 255]) {
    const h = Buffer.alloc(4 + 4 * d + 8, 0xff);
    h[0] = 0;
    h[1] = 0;
    h[2] = 8;
    h[3] = d;
    inputs.push(h, gzipSync(h));
  }
  let parsed = 0;
  let refused = 0;
  const t0 = Date.now();
  for (const [i, bytes] of inputs.entries()) {
    try {
      const r = parseIdx(bytes, `fuzz${i}`);
      assert.equal(r.data.length, r.dims.reduce((a, b) => a * b, 1));
      assert.ok(r.data.length <= 1032 * bytes.length + 1024, `fuzz${i}: ${r.data.length} bytes from ${bytes.length}`);
      parsed++;
    } catch (err) {
      assert.ok(err instanceof Error && err.message.startsWith(`IDX file fuzz${i}:`), `fuzz${i}: ${String(err)}`);
      refused++;
    }
  }
  assert.equal(parsed + refused, inputs.length);
  assert.ok(parsed >= 2 && refused > inputs.length / 2, `parsed ${parsed}, refused ${refused}`);
  // The streaming reader on a sample of the same inputs, through real files.
  const { dir, cleanup } = tempDir();
  try {
    for (let i = 0; i < inputs.length; i += 7) {
      const p = join(dir, `f${i}`);
      writeFileSync(p, inputs[i]);
      try {
        const r = await readIdx(p);
        assert.equal(r.data.length, r.dims.reduce((a, b) => a * b, 1));
      } catch (err) {
        assert.ok(err instanceof Error && err.message.startsWith(`IDX file ${p}:`), String(err));
      }
    }
  } finally {
    cleanup();
  }
  assert.ok(Date.now() - t0 < 5000, `fuzzing took ${Date.now() - t0} ms`);
});
