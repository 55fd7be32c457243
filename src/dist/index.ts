import { setPrepareGroup } from '../data/image-folder/index.js';
import { DataParallel, setDataParallel } from '../train/parallel.js';
import { Launch, launchFromEnv } from './env.js';
import { INSTALL_HINT, MpiAddon, loadMpiAddon } from './mpi.js';

export { launchFromEnv, defaultThreadsPerRank, type Launch } from './env.js';
export { INSTALL_HINT, MPI_ADDON_PATH, loadMpiAddon, type MpiAddon } from './mpi.js';

/** Distributed training was asked for (a launcher started N > 1 processes) and cannot run. */
export class DistributedUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistributedUnavailableError';
  }
}

/** A DataParallel over MPI_COMM_WORLD. */
export interface MpiGroup extends DataParallel {
  readonly addon: MpiAddon;
  barrier(): void;
  abort(code: number): void;
}

let group: MpiGroup | null = null;

/**
 * Joins the MPI job this process was launched into and makes every later `fit` data-parallel over it.
 * Returns null when not launched by mpirun (or launched as one process): training stays single-process.
 * Throws DistributedUnavailableError, with the install line, when launched as N > 1 without the addon.
 */
export function initDistributed(launch: Launch | null = launchFromEnv()): MpiGroup | null {
  if (group) return group;
  if (!launch || launch.size <= 1) return null;
  const { addon, reason } = loadMpiAddon();
  if (!addon) throw new DistributedUnavailableError(`running as rank ${launch.rank} of ${launch.size} under mpirun, but ${reason}: ${INSTALL_HINT}`);
  const { rank, size } = addon.init();
  group = {
    rank,
    size,
    addon,
    allreduceSum: (a) => addon.allreduceSum(a),
    reduceGradients: (arrays, weight, extra) => addon.reduceGradients(arrays, weight, extra),
    ...(typeof addon.reduceGradientsAsync === 'function' && process.env.CONVKIT_DIST_OVERLAP !== '0'
      ? { reduceGradientsAsync: (arrays: Float32Array[], weight: number, extra?: Float64Array) => addon.reduceGradientsAsync(arrays, weight, extra), waitReductions: () => addon.waitReductions() }
      : {}),
    broadcast: (a, root) => addon.broadcast(a, root),
    barrier: () => addon.barrier(),
    abort: (code) => addon.abort(code),
  };
  setDataParallel(group);
  // Image folders loaded from here on are decoded once across the job, each process its share (src/data/image-folder).
  setPrepareGroup({ rank, size, broadcast: (a, root) => addon.broadcast(a, root) });
  // A normal exit finalizes; a rank that exits without it (an error, a kill) makes mpirun end the whole job.
  process.once('exit', (code) => {
    if (code === 0) addon.finalize();
  });
  return group;
}

/** The group initDistributed joined, or null. */
export function distributedGroup(): MpiGroup | null {
  return group;
}
