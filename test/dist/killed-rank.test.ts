import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { alone, env, skip, worker } from './mpirun.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** p's value, or null when it has not settled after ms (the timer is cleared either way: nothing lingers). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('dist: kill -9 of rank 1 ends the whole mpirun job within seconds, naming the rank; the last checkpoint resumes on 1 process', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'convkit-dist-killed-'));
  const ckpt = join(dir, 'last.safetensors');
  const pidFile = join(dir, 'rank1.pid');
  // LeNet5 on the embedded set, a full checkpoint every epoch, epochs without end: only the kill stops it.
  const job = spawn('mpirun', ['-np', '2', process.execPath, worker, 'killed', ckpt, dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  job.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  job.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const closed = new Promise<{ code: number | null }>((resolve) => job.once('close', (code) => resolve({ code })));
  try {
    // The checkpoint is renamed into place (src/io/atomic.ts): once it exists, it is whole.
    const started = Date.now();
    while (!(existsSync(ckpt) && existsSync(pidFile))) {
      if (job.exitCode !== null || Date.now() - started > 60_000) assert.fail(`no checkpoint after ${Date.now() - started} ms (exit ${job.exitCode}): ${output}`);
      await sleep(50);
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const exit = await within(closed, 15_000);
    const seconds = (Date.now() - killedAt) / 1000;
    assert.ok(exit, `mpirun still running ${seconds} s after rank 1 (pid ${pid}) was killed: ${output}`);
    assert.notEqual(exit.code, 0, output);
    assert.match(output, /process rank 1 with PID \d+ on node \S+ exited on signal 9/, output);
    console.log(`mpirun exited with ${exit.code} ${seconds.toFixed(1)} s after the kill`);
  } finally {
    // A hung job: mpirun and its rank 0 go, so the failure leaves no process behind.
    if (job.exitCode === null) {
      job.kill('SIGKILL');
      const rank0 = join(dir, 'rank0.pid');
      if (existsSync(rank0)) {
        try {
          process.kill(Number(readFileSync(rank0, 'utf8')), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
  // The last checkpoint rank 0 wrote is whole: it holds the 2-rank history and trains on alone, one epoch past it.
  const state = readCheckpoint(ckpt).state;
  const epoch = state.epoch!;
  assert.ok(epoch >= 1, `checkpoint epoch ${epoch}`);
  const resumed = alone([worker, 'resume', String(epoch + 1), join(dir, 'resumed.safetensors'), ckpt]) as { size: number; history: Record<string, number[]> };
  assert.equal(resumed.size, 1);
  assert.deepEqual(resumed.history.loss.slice(0, epoch), state.history!.history.loss);
  assert.equal(resumed.history.loss.length, epoch + 1);
  assert.ok(Number.isFinite(resumed.history.loss[epoch]), `loss ${resumed.history.loss}`);
});
