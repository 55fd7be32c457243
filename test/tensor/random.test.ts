/** The seeded generator: reproducible streams, state save/restore, and the distributions' basic facts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random, globalRandom, setSeed } from '../../src/tensor/random.js';

const draw = (r: Random, n: number): number[] => Array.from({ length: n }, () => r.uniform());

test('same seed, same stream; different seeds, different streams', () => {
  assert.deepEqual(draw(new Random(42), 20), draw(new Random(42), 20));
  assert.notDeepEqual(draw(new Random(42), 20), draw(new Random(43), 20));
  const r = new Random(7);
  const first = draw(r, 5);
  r.seed(7);
  assert.deepEqual(draw(r, 5), first, 'seed() restarts the stream');
});

test('getState/setState reproduces the stream, including the spare normal of Box-Muller', () => {
  const r = new Random(11);
  draw(r, 3);
  r.normal(); // leaves a spare behind
  const state = r.getState();
  const a = [r.normal(), r.normal(), r.uniform(), r.int(100), r.normal()];
  r.setState(state);
  const b = [r.normal(), r.normal(), r.uniform(), r.int(100), r.normal()];
  assert.deepEqual(b, a);
  const copy = new Random(999);
  copy.setState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual([copy.normal(), copy.normal(), copy.uniform(), copy.int(100), copy.normal()], a, 'the state survives JSON (checkpoints)');
});

test('setSeed seeds the global generator', () => {
  setSeed(5);
  const a = draw(globalRandom, 4);
  setSeed(5);
  assert.deepEqual(draw(globalRandom, 4), a);
});

test('uniform in [0, 1), int in [0, n), normal with mean 0 and variance 1, shuffle a permutation', () => {
  const r = new Random(3);
  let sum = 0;
  let sumSq = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    const z = r.normal();
    sum += z;
    sumSq += z * z;
  }
  assert.ok(Math.abs(sum / n) < 0.03, `mean ${sum / n}`);
  assert.ok(Math.abs(sumSq / n - 1) < 0.05, `variance ${sumSq / n}`);
  const p = r.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...p].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
