import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alone, mpirun, skip, worker } from './mpirun.js';

type Report = { size: number; history: Record<string, number[]>; weights: string };
const lead = (out: unknown[]): Report => (out as Report[]).find((o) => o.size !== undefined)!;

// The worker's small CNN with two Dropout(0.5) layers, batch 32 over 193 images (the last batch's single sample
// is rank 1's: rank 0 draws nothing in that step), 2 epochs; `augment`: random crops and flips too.
for (const args of [['dropout'], ['dropout', 'augment']]) {
  test(`dist: mpirun -np 2 trains a CNN with Dropout${args[1] ? ' on augmented images' : ''} to the single-process curve (rel 1e-4), bit-identically twice`, { skip }, () => {
    const single = alone([worker, ...args]) as Report;
    const runs = [mpirun(2, [worker, ...args]), mpirun(2, [worker, ...args])];
    for (const r of runs) assert.equal(r.status, 0, r.stderr);
    const [a, b] = runs.map((r) => lead(r.out));
    assert.equal(a.size, 2);
    assert.equal(a.weights, (runs[0].out as Report[]).find((o) => o !== a)!.weights, 'the two ranks hold different weights');
    assert.equal(a.weights, b.weights, 'two runs with 2 ranks differ');
    assert.deepEqual(a.history, b.history);
    for (const key of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) {
      single.history[key].forEach((s, epoch) => {
        const d = a.history[key][epoch];
        assert.ok(Math.abs(d - s) <= 1e-4 * Math.abs(s) + 1e-7, `${key}, epoch ${epoch + 1}: 2 ranks ${d}, 1 process ${s}`);
      });
    }
  });
}
