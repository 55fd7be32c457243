import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { extractTarGz } from '../../src/data/tar.js';
import { downloadFile, installArchive, md5File, verifyMd5 } from '../../src/data/download.js';
import { fakeFetch, makeTar, makeTarGz, md5, paxRecord, tempDir } from './fixtures.js';

function writeArchive(dir: string, bytes: Uint8Array, name = 'a.tar.gz'): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('extractTarGz writes files, folders, ustar prefixes, GNU long names and pax paths', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const big = new Uint8Array(70000).map((_, i) => (i * 31) & 255); // spans many blocks and gzip chunks
    const longName = `deep/${'n'.repeat(120)}.bin`;
    const paxName = `pax/${'p'.repeat(110)}.txt`;
    const archive = writeArchive(dir, makeTarGz([
      { name: 'top/', type: '5' },
      { name: 'top/a.txt', data: 'hello' },
      { name: 'top/empty.txt', data: '' },
      { name: 'top/big.bin', data: big },
      { name: 'c.txt', prefix: 'top/with/prefix', data: 'prefixed' },
      { name: '././@LongLink', type: 'L', data: `${longName}\0` },
      { name: 'truncated-short-name', data: 'long' },
      { name: 'PaxHeader/x', type: 'x', data: paxRecord('path', paxName) },
      { name: 'short', data: 'pax' },
      { name: 'top/link', type: '2', linkname: '/etc/passwd' },
    ]));
    const out = join(dir, 'out');
    const written = await extractTarGz(archive, out);
    assert.deepEqual(written.sort(), ['top/a.txt', 'top/empty.txt', 'top/big.bin', 'top/with/prefix/c.txt', longName, paxName].sort());
    assert.equal(readFileSync(join(out, 'top/a.txt'), 'utf8'), 'hello');
    assert.equal(readFileSync(join(out, 'top/empty.txt')).length, 0);
    assert.deepEqual(new Uint8Array(readFileSync(join(out, 'top/big.bin'))), big);
    assert.equal(readFileSync(join(out, 'top/with/prefix/c.txt'), 'utf8'), 'prefixed');
    assert.equal(readFileSync(join(out, longName), 'utf8'), 'long');
    assert.equal(readFileSync(join(out, paxName), 'utf8'), 'pax');
    assert.equal(existsSync(join(out, 'top/link')), false, 'links are never created');
  } finally {
    cleanup();
  }
});

test('extractTarGz applies the filter and accepts an archive without end blocks', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tar = makeTar([{ name: 'keep/x', data: '1' }, { name: 'drop/y', data: '2' }], 0);
    const written = await extractTarGz(writeArchive(dir, gzipSync(tar)), join(dir, 'out'), {
      filter: (p) => p.startsWith('keep/'),
    });
    assert.deepEqual(written, ['keep/x']);
    assert.equal(existsSync(join(dir, 'out/drop')), false);
  } finally {
    cleanup();
  }
});

test('extractTarGz refuses entries that escape the destination', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const name of ['../evil.txt', 'a/../../evil.txt', '/abs/evil.txt']) {
      const archive = writeArchive(dir, makeTarGz([{ name, data: 'x' }]));
      await assert.rejects(extractTarGz(archive, join(dir, 'out')), /outside the destination/);
    }
    assert.equal(existsSync(join(dir, 'evil.txt')), false);
  } finally {
    cleanup();
  }
});

test('extractTarGz reports truncated and corrupt archives', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tar = makeTar([{ name: 'f.bin', data: new Uint8Array(3000) }]);
    const cut = writeArchive(dir, gzipSync(tar.subarray(0, 512 + 1000)), 'cut.tar.gz');
    await assert.rejects(extractTarGz(cut, join(dir, 'o1')), /cut\.tar\.gz: truncated inside entry 'f\.bin' \(2072 bytes missing\)/);
    const halfHeader = writeArchive(dir, gzipSync(tar.subarray(0, 200)), 'half.tar.gz');
    await assert.rejects(extractTarGz(halfHeader, join(dir, 'o2')), /truncated: 200 bytes of a 512-byte header/);
    const bad = Buffer.from(tar);
    bad[10] ^= 0xff;
    await assert.rejects(extractTarGz(writeArchive(dir, gzipSync(bad), 'bad.tar.gz'), join(dir, 'o3')), /checksum mismatch/);
    const notGzip = writeArchive(dir, Buffer.from('plain text, not gzip'), 'plain.tar.gz');
    await assert.rejects(extractTarGz(notGzip, join(dir, 'o4')), /incorrect header check|unknown compression/i);
  } finally {
    cleanup();
  }
});

test('md5File and verifyMd5 check a file against its checksum', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = Buffer.from('checksum me');
    const path = writeArchive(dir, data, 'f');
    assert.equal(await md5File(path), md5(data));
    await verifyMd5(path, md5(data).toUpperCase());
    await assert.rejects(verifyMd5(path, '0'.repeat(32)), (err: Error) => {
      assert.match(err.message, new RegExp(`md5 of .*f must be 0{32}, received ${md5(data)}`));
      return true;
    });
  } finally {
    cleanup();
  }
});

const DATASET = 'set-bin';
const REQUIRED = ['a.bin', 'b.bin'];

function datasetArchive(extra: { name: string; data: string }[] = []): Buffer {
  return makeTarGz([
    { name: `${DATASET}/`, type: '5' },
    { name: `${DATASET}/a.bin`, data: 'A' },
    { name: `${DATASET}/b.bin`, data: 'B' },
    { name: 'readme.txt', data: 'outside the folder: not installed' },
    ...extra,
  ]);
}

test('installArchive verifies the md5, extracts atomically and replaces an older copy', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bytes = datasetArchive();
    const archive = writeArchive(dir, bytes);
    const cache = join(dir, 'cache');
    const folder = await installArchive(archive, cache, { folder: DATASET, requiredFiles: REQUIRED, md5: md5(bytes) });
    assert.equal(folder, join(cache, DATASET));
    assert.equal(readFileSync(join(folder, 'a.bin'), 'utf8'), 'A');
    assert.deepEqual(readdirSync(cache), [DATASET], 'no temporary folders or stray files are left');
    writeFileSync(join(folder, 'stale.bin'), 'old');
    await installArchive(archive, cache, { folder: DATASET, requiredFiles: REQUIRED, md5: md5(bytes) });
    assert.equal(existsSync(join(folder, 'stale.bin')), false, 'the old copy is replaced whole');
    assert.deepEqual(readdirSync(cache), [DATASET]);
  } finally {
    cleanup();
  }
});

test('installArchive refuses a wrong checksum or an archive lacking required files, leaving nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bytes = datasetArchive();
    const archive = writeArchive(dir, bytes);
    const cache = join(dir, 'cache');
    await assert.rejects(installArchive(archive, cache, { folder: DATASET, requiredFiles: REQUIRED, md5: 'f'.repeat(32) }), /md5 .* must be f{32}, received/);
    assert.equal(existsSync(join(cache, DATASET)), false);
    await assert.rejects(
      installArchive(archive, cache, { folder: DATASET, requiredFiles: [...REQUIRED, 'c.bin'] }),
      /must contain set-bin\/ with a\.bin, b\.bin, c\.bin; missing: c\.bin/,
    );
    assert.deepEqual(readdirSync(cache), []);
  } finally {
    cleanup();
  }
});

test('downloadFile streams with progress, checks the md5 and renames only a verified file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const body = new Uint8Array(5500).map((_, i) => i & 255);
    const dest = join(dir, 'sub', 'file.tar.gz');
    const progress: [number, number | null][] = [];
    await downloadFile('https://example.invalid/file.tar.gz', dest, {
      fetch: fakeFetch(body),
      md5: md5(body),
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual(new Uint8Array(readFileSync(dest)), body);
    assert.deepEqual(progress.map((p) => p[0]), [1000, 2000, 3000, 4000, 5000, 5500]);
    assert.ok(progress.every((p) => p[1] === 5500));
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['file.tar.gz']);

    const other = join(dir, 'other.tar.gz');
    await assert.rejects(
      downloadFile('https://example.invalid/x', other, { fetch: fakeFetch(body), md5: '0'.repeat(32) }),
      new RegExp(`md5 of the download from https://example.invalid/x must be 0{32}, received ${md5(body)}`),
    );
    await assert.rejects(downloadFile('https://example.invalid/y', other, { fetch: fakeFetch(body, 404) }), /HTTP 404 Not Found/);
    const offline = async (): Promise<Response> => {
      throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND') });
    };
    await assert.rejects(downloadFile('https://example.invalid/z', other, { fetch: offline }), /could not download .*fetch failed \(getaddrinfo ENOTFOUND\)/);
    assert.deepEqual(readdirSync(dir).sort(), ['sub'], 'failed downloads leave no partial files');
  } finally {
    cleanup();
  }
});
