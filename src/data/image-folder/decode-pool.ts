/**
 * Decoding many image files on worker threads (node:worker_threads), one job in flight per worker: the worker
 * reads the file, decodes and resizes it (prepare.ts) and transfers the bytes back. Results arrive in any order
 * and are handed to `onImage` as they come, so the caller can write them straight into their place; nothing
 * else is kept, and at most `workers` prepared images are in flight.
 *
 * A file that fails is reported once to `onFailure` with the reason. A worker that takes longer than
 * `timeoutMs` on one file (a decoder stuck on a hostile file) or dies (out of memory) is terminated and replaced,
 * and that file counts as failed, so a bad file can neither hang nor crash the load.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PrepareSpec, readAndPrepare } from './prepare.js';

/** Images prepared by this process (any thread) since it started; tests use it to prove a cache is read. */
export const decodeStats = { images: 0 };

export interface DecodeFilesOptions {
  /** Worker threads; 0 decodes on the calling thread (no timeout then). Default: available cores. */
  workers?: number;
  onImage: (index: number, data: Uint8Array) => void;
  onFailure: (index: number, reason: string) => void;
  /** After each file, success or not. */
  onProgress?: (done: number, total: number) => void;
  /** Per file; default 60 s. */
  timeoutMs?: number;
}

export const defaultWorkerCount = (): number => availableParallelism();

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);

interface Slot {
  worker: Worker;
  job: number;
  timer: NodeJS.Timeout | null;
  /** The worker has started (its first message); an error before that means workers cannot run at all. */
  ready: boolean;
}

/** Prepares `paths[i]` for every i; resolves when every file has been handed to onImage or onFailure. */
export async function decodeFiles(paths: readonly string[], spec: PrepareSpec, options: DecodeFilesOptions): Promise<void> {
  const total = paths.length;
  const workers = Math.min(options.workers ?? defaultWorkerCount(), total);
  let done = 0;
  const finishOne = (): void => {
    done++;
    options.onProgress?.(done, total);
  };
  if (workers <= 0) {
    for (let i = 0; i < total; i++) {
      try {
        const data = readAndPrepare(paths[i], spec);
        decodeStats.images++;
        options.onImage(i, data);
      } catch (err) {
        options.onFailure(i, (err as Error).message);
      }
      finishOne();
    }
    return;
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let closing = false;
    const slots = new Set<Slot>();
    const fail = (err: unknown): void => {
      if (closing) return;
      closing = true;
      for (const s of slots) void s.worker.terminate();
      reject(err);
    };
    const complete = (slot: Slot): void => {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.job = -1;
      finishOne();
      if (done === total) {
        closing = true;
        for (const s of slots) void s.worker.terminate();
        resolve();
      } else dispatch(slot);
    };
    const dispatch = (slot: Slot): void => {
      if (next >= total) return;
      slot.job = next++;
      slot.timer = setTimeout(() => replace(slot, `no result within ${timeoutMs} ms; the decoder was stopped`), timeoutMs);
      slot.worker.postMessage({ id: slot.job, path: paths[slot.job] });
    };
    /** Fails the slot's current file, ends its worker and starts a new one in its place. */
    const replace = (slot: Slot, reason: string): void => {
      if (closing) return;
      const job = slot.job;
      slots.delete(slot);
      slot.worker.removeAllListeners();
      slot.worker.on('error', () => undefined); // a late error from the stopped worker must not go unhandled
      void slot.worker.terminate();
      if (slot.timer) clearTimeout(slot.timer);
      try {
        if (job >= 0) options.onFailure(job, `image '${paths[job]}': ${reason}`);
        const fresh = spawn();
        if (job >= 0) complete(fresh);
        else dispatch(fresh);
      } catch (err) {
        fail(err);
      }
    };
    const spawn = (): Slot => {
      const slot: Slot = { worker: new Worker(WORKER_URL, { workerData: spec }), job: -1, timer: null, ready: false };
      slots.add(slot);
      slot.worker.on('message', (msg: { ready?: true; id: number; ok: boolean; data?: Uint8Array; error?: string }) => {
        if (msg.ready) slot.ready = true;
        if (closing || msg.id !== slot.job) return;
        try {
          if (msg.ok) {
            decodeStats.images++;
            options.onImage(msg.id, msg.data as Uint8Array);
          } else options.onFailure(msg.id, msg.error ?? 'unknown error');
          complete(slot);
        } catch (err) {
          fail(err); // the caller's sink threw (a disk write failed, say): stop everything
        }
      });
      const died = (reason: string): void => {
        if (slot.ready) replace(slot, reason);
        else fail(new Error(`imageDatasetFromDirectory: a decode worker (${WORKER_URL.pathname}) could not start: ${reason}; workers: 0 decodes on the main thread`));
      };
      slot.worker.on('error', (err) => died(`the decoder failed (${err.message})`));
      slot.worker.on('exit', (code) => died(`the decoder exited (code ${code})`));
      return slot;
    };
    try {
      for (let w = 0; w < workers; w++) dispatch(spawn());
    } catch (err) {
      fail(err);
    }
  });
}
