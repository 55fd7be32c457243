// `npm run bench -- --vs-ort`: inference side by side with onnxruntime-node (our devDependency) on each zoo
// model's own ONNX export (convkit export's defaults: NHWC input, batch norm folded), in one process, both on
// the same thread count. Rounds alternate convkit and ORT (a VM's speed drifts over minutes, so only figures
// taken side by side compare); each round times a burst of calls and keeps its median, and the table gives the
// median over rounds. ratio = ORT ms / convkit ms: above 1 convkit is faster.
//
// --alternate: single calls instead, convkit then ORT, over and over (rounds x seconds in all), medians of each:
// a second view, in which a drift of the VM's speed falls on both alike call by call. Each call comes 2 ms after
// the other's, so that neither side's idle workers are still spinning when it starts, and ORT's spinning is off
// (session.intra_op.allow_spinning = 0; spinning right after its call, its worker took a core from the convkit
// call that followed: 5 x 3x3 32x32x64 convolutions at batch 1 read 5.46 ms for convkit beside a spinning ORT,
// 2.63 beside one that sleeps; ORT ran as fast without it: ResNet18 at batch 1 in bursts, 7.88 ms spinning,
// 8.03 not). In a slow phase of the VM neither view is steady.
import { loadavg } from 'node:os';
import { nativeInfo } from '../src/backend/native/index.js';
import { toOnnx } from '../src/export/onnx.js';
import { Tensor } from '../src/tensor/tensor.js';
import { setSeed } from '../src/tensor/random.js';
import { createModel, zoo } from '../src/zoo/index.js';

export interface VsOrtRow {
  model: string;
  batch: number;
  convkitMs: number;
  ortMs: number;
  /** ortMs / convkitMs. */
  ratio: number;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * A pause before each round. ORT's intra-op workers spin (sched_yield) for a while after a run, its default
 * (session.intra_op.allow_spinning); on a 2-core machine that took a core from the convkit round right after:
 * one 8x8x256 convolution at batch 32 read 21.4 ms there against 16.1-16.9 ms after a pause, while ORT's own
 * time was the same with spinning off (16.0 against 16.1 ms). Serving, the two never share a process; the pause
 * lets either side's idle workers go to sleep before the other is timed.
 */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 250));

async function timeBurst(seconds: number, call: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  const start = performance.now();
  do {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  } while (performance.now() - start < seconds * 1000 || times.length < 3);
  return median(times);
}

/** Medians of single calls, convkit then ORT, repeated for `seconds` (at least 5 pairs). */
async function timeAlternating(seconds: number, ours: () => unknown, theirs: () => Promise<unknown>): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  const start = performance.now();
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));
  do {
    await pause();
    let t0 = performance.now();
    ours();
    a.push(performance.now() - t0);
    await pause();
    t0 = performance.now();
    await theirs();
    b.push(performance.now() - t0);
  } while (performance.now() - start < seconds * 1000 || a.length < 5);
  return [median(a), median(b)];
}

export async function benchVsOrt(models: string[], batches: (model: string) => number[], rounds: number, seconds: number, alternate = false): Promise<VsOrtRow[]> {
  // Imported here so that the plain bench runs without the devDependency.
  const ort = await import('onnxruntime-node');
  const threads = nativeInfo()?.threads ?? 1;
  const rows: VsOrtRow[] = [];
  for (const name of models) {
    setSeed(1);
    const model = createModel(name);
    const spin = alternate ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {};
    const session = await ort.InferenceSession.create(toOnnx(model), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', ...spin });
    const inputName = session.inputNames[0];
    for (const batch of batches(name)) {
      const x = Tensor.randomUniform([batch, ...zoo[name].inputShape], 0, 1);
      const feeds = { [inputName]: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) };
      // Warm-up: packs weights, faults in buffers, lets ORT plan its memory.
      for (let i = 0; i < 3; i++) {
        model.predict(x, { batchSize: batch });
        await session.run(feeds);
      }
      if (alternate) {
        await settle();
        const [convkitMs, ortMs] = await timeAlternating(rounds * seconds, () => model.predict(x, { batchSize: batch }), () => session.run(feeds));
        rows.push({ model: name, batch, convkitMs, ortMs, ratio: ortMs / convkitMs });
        continue;
      }
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await settle();
        ours.push(await timeBurst(seconds, () => model.predict(x, { batchSize: batch })));
        await settle();
        theirs.push(await timeBurst(seconds, () => session.run(feeds)));
      }
      const convkitMs = median(ours);
      const ortMs = median(theirs);
      rows.push({ model: name, batch, convkitMs, ortMs, ratio: ortMs / convkitMs });
    }
    await session.release();
  }
  return rows;
}

export function printVsOrt(rows: VsOrtRow[], alternate = false): void {
  const info = nativeInfo();
  process.stdout.write(`convkit predict vs onnxruntime-node on convkit's ONNX export; ${info ? `${info.isa} kernels, ${info.threads} threads each` : 'reference backend'}; ${alternate ? 'single calls alternating, ORT not spinning' : 'alternating bursts'}; load ${loadavg()[0].toFixed(2)}\n`);
  const head = ['model', 'batch', 'convkit ms', 'ORT ms', 'ratio'];
  const cells = rows.map((r) => [r.model, String(r.batch), r.convkitMs.toFixed(3), r.ortMs.toFixed(3), r.ratio.toFixed(2)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  ');
  process.stdout.write(`${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
  const worst = rows.reduce((a, r) => (r.ratio < a.ratio ? r : a), rows[0]);
  if (worst) process.stdout.write(`worst ratio: ${worst.ratio.toFixed(2)} (${worst.model}, batch ${worst.batch}); ratio = ORT ms / convkit ms, above 1 convkit is faster\n`);
}
