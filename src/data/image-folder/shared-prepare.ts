/**
 * The first pass over an image folder shared by the processes of a data-parallel job (mpirun -np N): each process
 * decodes a contiguous 1/N of the images that need decoding, then every process's images (and the files it
 * could not decode) are broadcast to the others, so every process ends with the same prepared bytes for 1/N of
 * the decoding. Without it, N processes on one machine would each decode the whole folder (N times the work,
 * and N decode pools fighting for the same cores).
 *
 * The group is anything with a rank, a size and an in-place broadcast; src/dist registers its MPI group here
 * (setPrepareGroup) when it joins a job, so `imageDatasetFromDirectory` shares without being asked. Every call
 * below is collective: all processes make it, in the same order, with the same job list.
 */
import { createHash } from 'node:crypto';

/** What sharing the preparation needs of a group of processes. */
export interface PrepareGroup {
  readonly rank: number;
  readonly size: number;
  /** In place: every process's `a` becomes `root`'s (same length everywhere). */
  broadcast(a: Uint8Array | Int32Array | Float64Array, root: number): void;
}

let registered: PrepareGroup | null = null;

/** The group every later imageDatasetFromDirectory shares its first pass with (null: none). Called by src/dist. */
export function setPrepareGroup(g: PrepareGroup | null): void {
  registered = g;
}

/** The registered group when it has more than one process, else null. */
export function registeredPrepareGroup(): PrepareGroup | null {
  return registered && registered.size > 1 ? registered : null;
}

/** Process r's contiguous part [lo, hi) of n jobs: floor(n r / N) .. floor(n (r + 1) / N). */
export function jobRange(g: PrepareGroup, n: number, r = g.rank): [number, number] {
  return [Math.floor((n * r) / g.size), Math.floor((n * (r + 1)) / g.size)];
}

/** Root's number, everywhere. */
export function broadcastNumber(g: PrepareGroup, value: number, root = 0): number {
  const a = Float64Array.of(value);
  g.broadcast(a, root);
  return a[0];
}

/** Root's JSON value, everywhere (its length first, then its UTF-8 bytes). */
export function broadcastJson<T>(g: PrepareGroup, value: T, root: number): T {
  const mine = g.rank === root ? Buffer.from(JSON.stringify(value), 'utf8') : null;
  const length = Int32Array.of(mine ? mine.length : 0);
  g.broadcast(length, root);
  const bytes = mine ? new Uint8Array(mine.buffer, mine.byteOffset, mine.length) : new Uint8Array(length[0]);
  g.broadcast(bytes, root);
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as T;
}

/**
 * Throws on every process whose `what` differs from process 0's (the folder listed differently, other options):
 * sharing needs the same job list everywhere. A process that throws here leaves the job, and mpirun ends it.
 */
export function checkSameEverywhere(g: PrepareGroup, what: string, who: string): void {
  const digest = createHash('sha256').update(what).digest();
  const mine = new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
  const root = g.rank === 0 ? mine : new Uint8Array(mine.length);
  g.broadcast(root, 0);
  if (Buffer.compare(Buffer.from(root), Buffer.from(mine)) !== 0) {
    throw new Error(`${who}: process ${g.rank} of ${g.size} lists other files or options than process 0 (every process of a data-parallel job must read the same folder with the same options)`);
  }
}

/** Bytes per broadcast: large enough that the per-call cost vanishes, small enough to stay a side buffer. */
const CHUNK_BYTES = 16 << 20;

/**
 * Every process's share of the jobs, everywhere. For each process r in turn: r's failures (job -> reason) go to
 * all, then r's images in chunks of whole images. `produce(j, dst)` fills dst with job j's bytes on the process
 * that owns j (never called for a failed job); `accept(j, data)` and `acceptFailure(j, reason)` take another
 * process's results (data is a view valid during the call). `failures` holds this process's own failures.
 */
export function shareJobs(
  g: PrepareGroup,
  jobs: number,
  imageBytes: number,
  failures: ReadonlyMap<number, string>,
  produce: (j: number, dst: Uint8Array) => void,
  accept: (j: number, data: Uint8Array) => void,
  acceptFailure: (j: number, reason: string) => void,
): void {
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, imageBytes)));
  let buffer: Uint8Array | null = null;
  for (let r = 0; r < g.size; r++) {
    const [lo, hi] = jobRange(g, jobs, r);
    const own = r === g.rank;
    const failed = new Map(broadcastJson(g, own ? [...failures].filter(([j]) => j >= lo && j < hi) : [], r));
    if (!own) for (const [j, reason] of failed) acceptFailure(j, reason);
    for (let start = lo; start < hi; start += perChunk) {
      const end = Math.min(hi, start + perChunk);
      const bytes = (end - start) * imageBytes;
      if (!buffer || buffer.length < bytes) buffer = new Uint8Array(Math.min(perChunk, hi - lo) * imageBytes);
      const view = buffer.subarray(0, bytes);
      const image = (j: number): Uint8Array => view.subarray((j - start) * imageBytes, (j - start + 1) * imageBytes);
      if (own) {
        view.fill(0); // a failed job's bytes travel as zeros, which no process keeps
        for (let j = start; j < end; j++) if (!failed.has(j)) produce(j, image(j));
      }
      g.broadcast(view, r);
      if (!own) for (let j = start; j < end; j++) if (!failed.has(j)) accept(j, image(j));
    }
  }
}
