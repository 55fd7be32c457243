import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainReport, alone, assertTwoRanksMatchOne, mpirun, skip, worker } from './mpirun.js';

// The worker's small CNN with two Dropout(0.5) layers, batch 32 over 193 images (the last batch's single sample
// is rank 1's: rank 0 draws nothing in that step), 2 epochs; `augment`: random crops and flips too.
for (const args of [['dropout'], ['dropout', 'augment']]) {
  test(`dist: mpirun -np 2 trains a CNN with Dropout${args[1] ? ' on augmented images' : ''} to the single-process curve (rel 1e-4), bit-identically twice`, { skip }, () => {
    const single = alone([worker, ...args]) as TrainReport;
    const runs = [mpirun(2, [worker, ...args]), mpirun(2, [worker, ...args])];
    for (const r of runs) assert.equal(r.status, 0, r.stderr);
    assertTwoRanksMatchOne(single, runs[0], runs[1]);
  });
}
