// Imported first by the CLI, for its side effect: CONVKIT_THREADS per rank before the native backend loads.
import { defaultThreadsPerRank } from './env.js';

defaultThreadsPerRank();
