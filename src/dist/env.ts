import { availableParallelism } from 'node:os';

/**
 * What the launcher (mpirun, srun) told this process through its environment, read before anything loads MPI:
 * Open MPI sets OMPI_COMM_WORLD_{SIZE,RANK,LOCAL_SIZE}; PMIx and PMI launchers (MPICH, Slurm) set PMIX_RANK or
 * PMI_{SIZE,RANK}. Null when not launched by one.
 */
export interface Launch {
  size: number;
  rank: number;
  /** Processes of this job on this machine. */
  localSize: number;
}

export function launchFromEnv(env: NodeJS.ProcessEnv = process.env): Launch | null {
  const int = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  const size = int(env.OMPI_COMM_WORLD_SIZE) ?? int(env.PMI_SIZE) ?? int(env.PMIX_SIZE);
  const rank = int(env.OMPI_COMM_WORLD_RANK) ?? int(env.PMIX_RANK) ?? int(env.PMI_RANK);
  if (size === null && rank === null) return null;
  const localSize = int(env.OMPI_COMM_WORLD_LOCAL_SIZE) ?? int(env.MPI_LOCALNRANKS) ?? int(env.PMI_LOCAL_SIZE) ?? size ?? 1;
  return { size: size ?? 1, rank: rank ?? 0, localSize: Math.max(1, localSize) };
}

/**
 * Under a launcher, each rank's kernel threads default to this machine's cores divided by its ranks (at least
 * one), so N ranks on one machine do not fight over the cores; an explicit CONVKIT_THREADS wins. Must run before
 * the native backend starts its thread pool: the CLI imports this module first.
 */
export function defaultThreadsPerRank(env: NodeJS.ProcessEnv = process.env): void {
  const launch = launchFromEnv(env);
  if (!launch || launch.size <= 1 || env.CONVKIT_THREADS) return;
  env.CONVKIT_THREADS = String(Math.max(1, Math.floor(availableParallelism() / launch.localSize)));
}
