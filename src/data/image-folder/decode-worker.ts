/**
 * A decode worker (see decode-pool.ts): receives { id, path }, answers { id, ok: true, data } with the prepared
 * bytes (their buffer transferred, not copied) or { id, ok: false, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PrepareSpec, readAndPrepare } from './prepare.js';

const spec = workerData as PrepareSpec;
const port = parentPort;
if (port) {
  port.on('message', (job: { id: number; path: string }) => {
    try {
      const data = readAndPrepare(job.path, spec);
      port.postMessage({ id: job.id, ok: true, data }, [data.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
