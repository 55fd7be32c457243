import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What native/mpi/mpi.cc exports, as TypeScript sees it. */
export interface MpiAddon {
  init(): { rank: number; size: number };
  finalize(): void;
  rank(): number;
  size(): number;
  barrier(): void;
  /** In place, summed in rank order on rank 0 and broadcast: the same bits everywhere, run to run. */
  allreduceSum(a: Float32Array | Float64Array): void;
  /** In place: arrays scaled by weight then summed over ranks, extra summed; see DataParallel.reduceGradients. */
  reduceGradients(arrays: Float32Array[], weight: number, extra?: Float64Array): void;
  /**
   * The same reduction posted to the addon's communication thread: returns true at once (the arrays are the
   * addon's until waitReductions), or false, doing nothing, when MPI lacks MPI_THREAD_SERIALIZED.
   */
  reduceGradientsAsync(arrays: Float32Array[], weight: number, extra?: Float64Array): boolean;
  /** Returns when every posted reduction has run; throws the first failure. */
  waitReductions(): void;
  broadcast(a: Float32Array | Float64Array | Int32Array | Uint8Array, root: number): void;
  abort(code: number): void;
  version(): string;
}

/** Where scripts/build-native.mjs leaves the MPI addon (from dist/src/dist/ or src/dist/, three folders up). */
export const MPI_ADDON_PATH = fileURLToPath(new URL('../../../native/mpi/build/Release/convkit_mpi.node', import.meta.url));

export const INSTALL_HINT = 'install Open MPI (`apt-get install openmpi-bin libopenmpi-dev`), then run `npx convkit build-native`';

let cached: MpiAddon | null | undefined;

/** The MPI addon, or null when it was not built (no MPI at install time) or does not load. */
export function loadMpiAddon(): { addon: MpiAddon | null; reason: string } {
  if (cached !== undefined) return { addon: cached, reason: cached ? '' : 'not built' };
  const path = process.env.CONVKIT_MPI_ADDON || MPI_ADDON_PATH;
  if (!existsSync(path)) {
    cached = null;
    return { addon: null, reason: `the MPI addon is not built (${path} is missing)` };
  }
  try {
    cached = createRequire(import.meta.url)(path) as MpiAddon;
    return { addon: cached, reason: '' };
  } catch (e) {
    cached = null;
    return { addon: null, reason: `the MPI addon does not load: ${(e as Error).message.split('\n')[0]}` };
  }
}
