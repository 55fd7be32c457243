// What the MPI tests share: whether they can run, the environment they run in, and how they launch mpirun.
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
