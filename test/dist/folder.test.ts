// An image folder loaded by the processes of a data-parallel job: each decodes its share of the first pass, and
// every process ends with the bytes, labels, order and skipped files of one process that decoded it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, writeTree } from '../data/fixtures.js';
import { encodePng } from '../data/image-fixtures.js';
import { alone, mpirun, skip } from './mpirun.js';

const worker = fileURLToPath(new URL('./folder-worker.js', import.meta.url));

type Report = { rank: number; size: number; decoded: number; kinds: string[]; warnings: string[]; digest: string };

/** 3 classes of 9 PNGs (sizes and pixels vary with the index) and one file that is not an image. */
function writeFolder(dir: string): void {
  const files = ['a', 'b', 'c'].flatMap((c) => Array.from({ length: 9 }, (_, i) => `${c}/${i}.png`));
  writeTree(dir, [...files, 'b/broken.png'], (p) => {
    const id = files.indexOf(p);
    if (id < 0) return Buffer.from('not a PNG at all');
    const [w, h] = [5 + (id % 4), 6 + (id % 3)];
    const samples: number[] = [];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) samples.push((id * 9) % 256, (10 * y + x) % 256, (id * 31 + x * y) % 256);
    return encodePng({ width: w, height: h, colorType: 2, bitDepth: 8, samples });
  });
}

const both = (out: unknown[]): Report[] => (out as Report[]).sort((a, b) => a.rank - b.rank);

test('dist: an image folder under mpirun -np 2: each process decodes its share, all end with one process\'s datasets (memory, disk cache, a cache on one process only, no seed)', { skip, timeout: 240_000 }, () => {
  const { dir: root, cleanup } = tempDir();
  try {
    const dir = join(root, 'images');
    writeFolder(dir);
    const one = alone([worker, dir, join(root, 'cache-alone'), String(2 ** 30), '7']) as Report;
    assert.equal(one.decoded, 27); // the 28th file cannot be decoded
    assert.equal(one.warnings.length, 1);
    assert.match(one.warnings[0], /skipped 'DIR\/b\/broken\.png', which cannot be decoded/);
    // 28 files, one share of 14 each; the broken one is in one of them (which depends on the shuffle).
    const shares = (d: number[]): boolean => d[0] + d[1] === 27 && d.every((n) => n === 13 || n === 14);
    const check = (ranks: Report[], decoded: (d: number[]) => boolean, kinds: string[], what: string): void => {
      assert.equal(ranks.length, 2, what);
      for (const r of ranks) {
        assert.equal(r.size, 2, what);
        assert.equal(r.digest, one.digest, `${what}: rank ${r.rank}'s datasets differ from one process's`);
        // A process that read its subsets from its own cache says so (the skipped file is the cache's record).
        assert.deepEqual(r.warnings.map((w) => w.replace(' (recorded in the disk cache)', '')), one.warnings, what);
        assert.deepEqual(r.kinds, kinds, what);
      }
      assert.ok(decoded(ranks.map((r) => r.decoded)), `${what}: decoded ${ranks.map((r) => r.decoded).join(' and ')}`);
    };
    check(both(mpirun(2, [worker, dir, join(root, 'unused'), String(2 ** 30), '7']).out), shares, ['memory', 'memory'], 'in memory');
    // A disk cache both processes write (the same bytes, renamed into place atomically), then read back.
    const shared = join(root, 'cache-shared');
    check(both(mpirun(2, [worker, dir, shared, '0', '7']).out), shares, ['disk', 'disk'], 'disk cache, first run');
    const reused = both(mpirun(2, [worker, dir, shared, '0', '7']).out);
    check(reused, (d) => d[0] === 0 && d[1] === 0, ['disk', 'disk'], 'disk cache reused');
    assert.match(reused[1].warnings[0], /\(recorded in the disk cache\)$/);
    // A cache on one process only: rank 0 reads its share from its cache and decodes nothing, rank 1 decodes its own.
    const perRank = join(root, 'cache-%r');
    check(both(mpirun(2, [worker, dir, perRank, '0', '7']).out), shares, ['disk', 'disk'], 'per-process caches, first run');
    rmSync(join(root, 'cache-1'), { recursive: true });
    check(both(mpirun(2, [worker, dir, perRank, '0', '7']).out), (d) => d[0] === 0 && (d[1] === 13 || d[1] === 14), ['disk', 'disk'], 'rank 1 lost its cache');
    // No seed, and rank 1's generator moved: both shuffle with rank 0's draw.
    const noSeed = both(mpirun(2, [worker, dir, join(root, 'unused'), String(2 ** 30), '-']).out);
    assert.equal(noSeed.length, 2);
    assert.equal(noSeed[0].digest, noSeed[1].digest, 'without a seed the processes listed the files in different orders');
  } finally {
    cleanup();
  }
});

test('dist: a process whose image folder lists other files than rank 0\'s stops with a message naming it, and the job ends (no hang)', { skip, timeout: 120_000 }, () => {
  const { dir: root, cleanup } = tempDir();
  try {
    const [dir, other] = [join(root, 'images'), join(root, 'other')];
    writeFolder(dir);
    writeFolder(other);
    writeTree(other, ['c/extra.png'], () => encodePng({ width: 5, height: 6, colorType: 2, bitDepth: 8, samples: new Array(90).fill(7) }));
    const started = Date.now();
    const r = mpirun(2, [worker, `${dir},${other}`, join(root, 'cache'), String(2 ** 30), '7'], 60_000);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /imageDatasetFromDirectory: process 1 of 2 lists other files or options than process 0/);
    assert.ok(Date.now() - started < 30_000, `the job took ${Date.now() - started} ms to end`);
    assert.equal(r.out.length, 0, 'a process printed datasets');
  } finally {
    cleanup();
  }
});
