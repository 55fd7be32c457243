import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchFromEnv } from '../../src/dist/index.js';
import '../../src/train/index.js';
import { fit } from '../../src/train/fit.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createModel } from '../../src/zoo/index.js';
import { TrainReport, alone, assertTwoRanksMatchOne, env, lead, mpirun, skip, worker } from './mpirun.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

for (const n of [2, 3, 4]) {
  test(`dist: allreduceSum and reduceGradients are exact on known inputs, identical on every rank (${n} ranks), and sum inexact values in their fixed order (pairwise, or the ring's); broadcast gives rank 0 values`, { skip }, () => {
    const r = mpirun(n, [worker, 'allreduce']);
    assert.equal(r.status, 0, r.stderr);
    const reports = r.out as { rank: number; size: number; bad: number; fusedBad: number; ringBad: number; extra: number[]; b: number[]; order: number[]; digest: string }[];
    assert.equal(reports.length, n);
    const ranks = [...Array(n).keys()];
    for (const p of reports) {
      assert.equal(p.bad, -1, `rank ${p.rank}: wrong sum at index ${p.bad}`);
      assert.equal(p.fusedBad, -1, `rank ${p.rank}: wrong fused sum at array/index ${p.fusedBad}`);
      assert.equal(p.ringBad, -1, `rank ${p.rank}: inexact sum not in the fixed order at index ${p.ringBad}`);
      assert.deepEqual(p.extra, [ranks.reduce((a, k) => a + k + 0.125, 0), n]);
      assert.deepEqual(p.b, [ranks.reduce((a, k) => a + k + 0.5, 0), ranks.reduce((a, k) => a + 2 ** -k, 0)]);
      assert.deepEqual(p.order, [10, 11, 12, 13, 14]);
      assert.equal(p.digest, reports[0].digest);
    }
  });
}

test('dist: ranks yield while they wait in MPI (their communication thread shares the cores with training), unless the user said otherwise', { skip }, () => {
  const yielding = mpirun(2, [worker, 'allreduce']);
  assert.equal(yielding.status, 0, yielding.stderr);
  for (const p of yielding.out as { yieldWhenIdle: string | null }[]) assert.equal(p.yieldWhenIdle, '1');
  const told = mpirun(2, [worker, 'allreduce'], 120_000, { OMPI_MCA_mpi_yield_when_idle: '0' });
  assert.equal(told.status, 0, told.stderr);
  for (const p of told.out as { yieldWhenIdle: string | null }[]) assert.equal(p.yieldWhenIdle, '0');
});

test('dist: mpirun -np 2 trains LeNet5 to the single-process loss curve (rel 1e-4), bit-identically twice', { skip }, () => {
  const single = alone([worker, 'train']) as TrainReport;
  const first = mpirun(2, [worker, 'train']);
  assert.equal(first.status, 0, first.stderr);
  const second = mpirun(2, [worker, 'train']);
  assert.equal(second.status, 0, second.stderr);
  assertTwoRanksMatchOne(single, first, second);
});

test('dist: gradient buckets reduced during the backward pass (small buckets) give the bits of the reduction after it', { skip }, () => {
  // 0.05 MB buckets: LeNet5's 62,006 weights in ~5 buckets; the ResNet also syncs batch norm inside backward,
  // between posted buckets, so the order of collectives is exercised too.
  for (const mode of ['train', 'syncbn']) {
    const overlapped = mpirun(2, [worker, mode], 120_000, { CONVKIT_BUCKET_MB: '0.05' });
    const after = mpirun(2, [worker, mode], 120_000, { CONVKIT_BUCKET_MB: '0.05', CONVKIT_DIST_OVERLAP: '0' });
    assert.equal(overlapped.status, 0, overlapped.stderr);
    assert.equal(after.status, 0, after.stderr);
    assert.equal(lead(overlapped.out).weights, lead(after.out).weights, `${mode}: overlapped and synchronous reductions differ`);
    assert.deepEqual(lead(overlapped.out).history, lead(after.out).history);
  }
});

test('dist: with syncBatchNorm (--sync-bn), mpirun -np 2 trains a ResNet18 to the single-process curve (rel 1e-4), bit-identically twice; per-rank BN does not', { skip }, () => {
  const single = alone([worker, 'syncbn']) as TrainReport;
  const runs = [mpirun(2, [worker, 'syncbn']), mpirun(2, [worker, 'syncbn'])];
  for (const r of runs) assert.equal(r.status, 0, r.stderr);
  const [a, b] = runs.map((r) => lead(r.out));
  assert.equal(a.weights, (runs[0].out as TrainReport[]).find((o) => o !== a)!.weights, 'the two ranks hold different weights');
  assert.equal(a.weights, b.weights, 'two runs with 2 ranks differ');
  const close = (run: TrainReport, key: string, epoch: number): boolean => Math.abs(run.history[key][epoch] - single.history[key][epoch]) <= 1e-4 * Math.abs(single.history[key][epoch]) + 1e-7;
  for (const key of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) {
    single.history[key].forEach((s, epoch) => assert.ok(close(a, key, epoch), `${key}, epoch ${epoch + 1}: 2 ranks ${a.history[key][epoch]}, 1 process ${s}`));
  }
  // The control: per-rank statistics (the default) leave the curve by more than the tolerance.
  const off = mpirun(2, [worker, 'syncbn', 'off']);
  assert.equal(off.status, 0, off.stderr);
  assert.ok(!close(lead(off.out), 'loss', 1), 'per-rank batch norm unexpectedly matched the single-process curve');
});

test('dist: a full checkpoint written by 2 ranks resumes on 1 process, and one written by 1 process on 2 ranks, on the same curve', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-dist-resume-'));
  const straight = alone([worker, 'resume', '4', join(dir, 'straight.safetensors')]) as TrainReport;
  // 2 ranks for epochs 1-2, then 1 process for 3-4.
  const two = mpirun(2, [worker, 'resume', '2', join(dir, 'two.safetensors')]);
  assert.equal(two.status, 0, two.stderr);
  const twoThenOne = alone([worker, 'resume', '4', join(dir, 'two-one.safetensors'), join(dir, 'two.safetensors')]) as TrainReport;
  // 1 process for epochs 1-2, then 2 ranks for 3-4.
  alone([worker, 'resume', '2', join(dir, 'one.safetensors')]);
  const oneThenTwo = mpirun(2, [worker, 'resume', '4', join(dir, 'one-two.safetensors'), join(dir, 'one.safetensors')]);
  assert.equal(oneThenTwo.status, 0, oneThenTwo.stderr);
  const ranks = oneThenTwo.out as TrainReport[];
  assert.equal(ranks.length, 2);
  assert.equal(ranks[0].weights, ranks[1].weights, 'the two ranks hold different weights after resuming');
  for (const [name, run] of [['2 ranks then 1', twoThenOne], ['1 then 2 ranks', lead(oneThenTwo.out)]] as const) {
    for (const key of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) {
      assert.equal(run.history[key].length, 4, `${name}: ${key}`);
      straight.history[key].forEach((s, epoch) => {
        const d = run.history[key][epoch];
        assert.ok(Math.abs(d - s) <= 1e-4 * Math.abs(s) + 1e-7, `${name}, ${key}, epoch ${epoch + 1}: ${d}, straight ${s}`);
      });
    }
  }
});

test('dist: under a launcher without the MPI addon, train fails with one line saying how to install it', () => {
  const out = mkdtempSync(join(tmpdir(), 'convkit-dist-'));
  const r = spawnSync(process.execPath, [cli, 'train', '--dataset', 'embedded', '--train-size', '8', '--test-size', '4', '-e', '1', '-o', out], {
    env: { ...env, OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_LOCAL_SIZE: '2', CONVKIT_MPI_ADDON: join(out, 'missing.node') },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /rank 0 of 2 under mpirun, but the MPI addon is not built .*apt-get install openmpi-bin libopenmpi-dev.*npx convkit build-native/);
});

test('dist: launchFromEnv reads Open MPI and PMI variables', () => {
  assert.equal(launchFromEnv({}), null);
  assert.deepEqual(launchFromEnv({ OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }), { size: 4, rank: 3, localSize: 2 });
  assert.deepEqual(launchFromEnv({ PMI_SIZE: '2', PMI_RANK: '1' }), { size: 2, rank: 1, localSize: 2 });
});

test('dist: the global batch must divide by the number of processes', async () => {
  const model = createModel('lenet5', { inputShape: [32, 32, 3], numClasses: 10 });
  model.compile({ loss: 'sparse_categorical_crossentropy' });
  const group = { rank: 0, size: 2, allreduceSum: () => undefined, broadcast: () => undefined };
  await assert.rejects(fit(model, Tensor.zeros([4, 32, 32, 3]), new Int32Array(4), { batchSize: 3, dataParallel: group, verbose: 0 }), /argument 'batchSize' \(the global batch\) expected a multiple of the 2 processes, received 3/);
});
