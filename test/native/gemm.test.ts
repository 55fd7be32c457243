import { test } from 'node:test';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, f64, forEachIsa, randomF32 } from './util.js';

/**
 * SGEMM sweep: sizes below, at and above the register tiles (6x16 avx2, 12x32 avx512, 6x8 portable) and the
 * cache blocks (KC 192/384/256, MC 144, NC 3072/4096), primes, vectors, a long reduction that takes the split-k
 * path, A read in place (not transposed, at most four column panels) and packed, last row panels of every tile
 * height (1, 2, 4, 8 rows and full), and every transpose combination.
 */
const SHAPES: [m: number, k: number, n: number][] = [
  [1, 1, 1],
  [5, 3, 7],
  [6, 16, 16],
  [12, 32, 32],
  [17, 29, 31],
  [143, 191, 47],
  [144, 256, 48],
  [145, 257, 49],
  [97, 520, 101],
  [151, 800, 64], // A read in place over three depth blocks, row tail
  [148, 800, 64], // ... a tail of 4 rows (the 4-row tile), and of 2
  [134, 800, 64],
  [52, 250, 70], // tails of 4 and 2 rows on packed A, two depth blocks
  [26, 250, 70],
  [40, 900, 64], // few rows: B read in place over three depth blocks
  [1, 300, 333],
  [333, 300, 1],
  [7, 9, 4200], // more columns than NC
  [13, 5000, 17], // small C, long k: split into depth segments
  [3, 0, 4], // empty reduction: zeros
];

const cases = SHAPES.flatMap(([m, k, n], i) =>
  [false, true].flatMap((transA) =>
    [false, true].map((transB) => {
      const a = randomF32(m * k, 100 + i);
      const b = randomF32(k * n, 200 + i);
      return { m, k, n, transA, transB, a, b, want: ref.matmul(f64(a), f64(b), m, k, n, transA, transB) };
    }),
  ),
);

test('native matmul matches the reference', async (t) => {
  await forEachIsa(t, (nb, isa) => {
    for (const c of cases) {
      const got = nb.matmul(c.a, c.b, c.m, c.k, c.n, c.transA, c.transB);
      const name = `${isa} matmul m=${c.m} k=${c.k} n=${c.n} transA=${c.transA} transB=${c.transB}`;
      assertClose(name, got, c.want, [c.m, c.n]);
    }
  });
});
