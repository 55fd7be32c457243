// What the MPI tests share: whether they can run, the environment they run in, and how they launch mpirun.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadMpiAddon } from '../../src/dist/index.js';

export const worker = fileURLToPath(new URL('./worker.js', import.meta.url));

const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const addon = loadMpiAddon();
/** The reason the MPI tests skip, or false when mpirun and the addon are both there. */
export const skip = !hasMpirun ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)' : !addon.addon ? `${addon.reason} (run npx convkit build-native after installing Open MPI)` : false;

// One kernel thread per rank; root is allowed (CI containers), ranks may outnumber cores, shared memory only.
export const env: NodeJS.ProcessEnv = { ...process.env, CONVKIT_THREADS: '1', OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_btl: 'self,vader', OMPI_MCA_rmaps_base_oversubscribe: '1' };
for (const k of Object.keys(env)) if (/^(OMPI_COMM_WORLD|PMIX_|PMI_)/.test(k)) delete env[k];

/** The JSON lines of stdout (every other line is ignored). */
export const jsonLines = (stdout: string): unknown[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as unknown);

/** `mpirun -np n node args...`, waited for. */
export function mpirun(n: number, args: string[], timeout = 120_000, extraEnv: Record<string, string> = {}): { out: unknown[]; stderr: string; status: number | null } {
  const r = spawnSync('mpirun', ['-np', String(n), process.execPath, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout });
  return { out: jsonLines(r.stdout), stderr: r.stderr, status: r.status };
}

/** `node args...` as one process: its last stdout line, parsed. */
export function alone(args: string[], extraEnv: Record<string, string> = {}): unknown {
  const r = spawnSync(process.execPath, args, { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** What a training worker prints: its process count, its history and a digest of its weights. */
export type TrainReport = { size: number; history: Record<string, number[]>; weights: string };

/** The report of rank 0 (the one that prints its size) among a run's JSON lines. */
export const lead = (out: unknown[]): TrainReport => (out as TrainReport[]).find((o) => o.size !== undefined)!;

/**
 * Two `mpirun -np 2` runs of the same worker: both ranks end with the same weights, the two runs are
 * bit-identical (weights and history), and every epoch's loss and accuracy are within 1e-4 relative of `single`.
 */
export function assertTwoRanksMatchOne(single: TrainReport, first: { out: unknown[] }, second: { out: unknown[] }): void {
  const a = lead(first.out);
  const b = lead(second.out);
  assert.equal(a.size, 2);
  assert.equal(a.weights, (first.out as TrainReport[]).find((o) => o !== a)!.weights, 'the two ranks hold different weights');
  assert.equal(a.weights, b.weights, 'two runs with 2 ranks differ');
  assert.deepEqual(a.history, b.history);
  for (const key of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) {
    single.history[key].forEach((s, epoch) => {
      const d = a.history[key][epoch];
      assert.ok(Math.abs(d - s) <= 1e-4 * Math.abs(s) + 1e-7, `${key}, epoch ${epoch + 1}: 2 ranks ${d}, 1 process ${s}`);
    });
  }
}
