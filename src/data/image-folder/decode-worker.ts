/**
 * A decode worker (see decode-pool.ts): says { ready: true } once, then receives { id, path } and answers
 * { id, ok: true, data } with the prepared bytes (their buffer transferred, not copied) or { id, ok: false, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PrepareSpec, readAndPrepare } from './prepare.js';

const spec = workerData as PrepareSpec;
const port = parentPort;
if (port) {
  // Sent before any job is handled: a worker that dies before this could not start at all (not a bad file).
  port.postMessage({ ready: true });
  port.on('message', (job: { id: number; path: string }) => {
    try {
      const data = readAndPrepare(job.path, spec);
      port.postMessage({ id: job.id, ok: true, data }, [data.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
