/**
 * The first pass of imageDatasetFromDirectory: decode every image that no cache holds yet, into memory or into
 * a disk cache writer. Alone, this process decodes them all. In a data-parallel job (a PrepareGroup) the images
 * that any process lacks are cut into one contiguous share per process; each decodes its share (or reads it from
 * its own cache, where it has one) and the shares are broadcast (shared-prepare.ts), so every process ends with
 * the same bytes and the same skipped files for 1/N of the decoding.
 */
import { DiskCacheWriter, PixelStore } from './cache.js';
import { decodeFiles } from './decode-pool.js';
import { PrepareSpec, preparedBytes } from './prepare.js';
import { ScannedFile } from './scan.js';
import { PrepareGroup, jobRange, shareJobs } from './shared-prepare.js';

/** One subset being loaded: its files in dataset order and where their bytes go. */
export interface Part {
  name: string;
  files: ScannedFile[];
  /** Set when a disk cache already held the subset (before the pass), or by the pass's commit. */
  store: PixelStore | null;
  writer: DiskCacheWriter | null;
  memory: Uint8Array | null;
  /** Store slot of each file (dataset order), before skipping. */
  slotOf: Int32Array;
  failed: Map<number, string>;
  /** Images this process decoded. */
  decoded: number;
  cachePath: string | null;
  /** This process's disk cache held the subset before the pass (its skipped files are the cache's record). */
  fromCache: boolean;
}

export interface FirstPassOptions {
  workers: number;
  timeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
  group: PrepareGroup | null;
  log: (line: string) => void;
}

type Job = [Part, number];

/** Fills every part that has no store (memory or writer), then commits the writers; aborts them on failure. */
export async function firstPass(parts: readonly Part[], spec: PrepareSpec, opts: FirstPassOptions): Promise<void> {
  const { group } = opts;
  const imageBytes = preparedBytes(spec);
  // The parts decoded somewhere: alone, those without a cache; in a group, those that any process lacks (every
  // process must run the same broadcasts, so the list is the union of everyone's).
  let needed = parts.map((part) => !part.store);
  if (group) {
    const any = new Int32Array(parts.length);
    for (let r = 0; r < group.size; r++) {
      const theirs = Int32Array.from(needed, (n) => (n ? 1 : 0));
      group.broadcast(theirs, r);
      theirs.forEach((n, k) => (any[k] |= n));
    }
    needed = Array.from(any, (n) => n === 1);
  }
  const jobs: Job[] = [];
  parts.forEach((part, k) => {
    if (needed[k]) part.files.forEach((_, p) => jobs.push([part, p]));
  });
  const [lo, hi] = group ? jobRange(group, jobs.length) : [0, jobs.length];
  // This process decodes its share, except what its own cache already holds (it reads that to send it).
  const mine: number[] = [];
  for (let j = lo; j < hi; j++) if (!jobs[j][0].store) mine.push(j);
  if (group && jobs.length > 0) opts.log(`Decoding ${jobs.length} images in ${group.size} processes (${mine.length} in this one).`);

  const put = ([part, p]: Job, data: Uint8Array): void => {
    if (part.store) return; // this process's cache has it
    if (part.memory) part.memory.set(data, p * imageBytes);
    else part.writer?.write(part.slotOf[p], data);
  };
  const fail = ([part, p]: Job, reason: string): void => {
    if (part.store) return;
    part.failed.set(p, reason);
    part.writer?.fail(part.slotOf[p], reason);
  };
  const read = ([part, p]: Job, dst: Uint8Array): void => {
    if (part.store) part.store.readSlots([part.slotOf[p]], dst);
    else if (part.memory) dst.set(part.memory.subarray(p * imageBytes, (p + 1) * imageBytes));
    else part.writer?.read(part.slotOf[p], dst);
  };
  try {
    await decodeFiles(mine.map((j) => jobs[j][0].files[jobs[j][1]].path), spec, {
      workers: opts.workers,
      timeoutMs: opts.timeoutMs,
      onProgress: opts.onProgress,
      onImage: (i, data) => {
        jobs[mine[i]][0].decoded++;
        put(jobs[mine[i]], data);
      },
      onFailure: (i, reason) => fail(jobs[mine[i]], reason),
    });
    if (group) {
      const own = new Map<number, string>();
      for (let j = lo; j < hi; j++) {
        const reason = jobs[j][0].failed.get(jobs[j][1]);
        if (reason !== undefined) own.set(j, reason);
      }
      shareJobs(group, jobs.length, imageBytes, own, (j, dst) => read(jobs[j], dst), (j, data) => put(jobs[j], data), (j, reason) => fail(jobs[j], reason));
    }
    for (const part of parts) if (part.writer) part.store = part.writer.commit().store;
  } catch (err) {
    for (const part of parts) part.writer?.abort();
    throw err;
  }
}
