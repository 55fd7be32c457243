// npm run bench -- --fit: what model.fit on in-memory data achieves against the bench's training step.
//
// Per model, in its own child process: `bench` is trainStep on one fixed batch, timed step by step, median
// (exactly how the main bench reports training); `fit` is the wall time of model.fit(x, y, { epochs: 1 }) on
// random in-memory data of `steps` batches (shuffled, accuracy metric, verbose 1: with stdout not a terminal
// that is one line per epoch), so it carries everything fit adds: gathering batches, metrics, progress,
// callbacks, yielding to the event loop, its own setup. `fit+val` is the same with validationSplit 0.1 (the
// training part still `steps` batches; the held-out tenth is evaluated each epoch and its time counts).
// Rounds alternate bench steps, fit and fit+val on the same model and optimizer, so that load from other
// processes falls on all three alike; each column is the median over rounds. `fit/steps` pairs each round's fit
// with the same round's bench steps, as wall time against wall time (the steps' sum, not their median): fit's
// time is a sum of steps, so its stalls (other tenants, the collector, a slow spell of the VM) count there and
// not in a median; the ratio per round, then its median, near 100% says fit itself adds nothing.
//
//   node dist/bench/bench.js --fit [--model NAME]... [--steps N] [--rounds R] [--seconds S] [--json]
//
// Without --steps, steps per epoch = seconds / (median step time), clamped to [3, 40]: few for the slow models.
import { loadavg } from 'node:os';
import { Tensor } from '../src/tensor/tensor.js';
import { compile, fit, getCompiled } from '../src/train/fit.js';
import { trainStep } from '../src/train/step.js';
import { createModel, zoo } from '../src/zoo/index.js';
import { median, runJsonChild, timeSteps } from './timing.js';

export interface FitBenchResult {
  model: string;
  batch: number;
  /** Training steps per fit epoch (also the bench steps timed per round). */
  steps: number;
  rounds: number;
  benchImagesPerSec: number;
  /** The bench steps' mean rather than median: what fit's wall time, a sum of steps, compares with on a busy machine. */
  benchMeanImagesPerSec: number;
  /** Median over rounds of (that round's bench steps, summed) / (that round's fit), in percent. */
  fitPairedPercent: number;
  fitImagesPerSec: number;
  /** fitImagesPerSec as a percentage of benchImagesPerSec. */
  fitPercent: number;
  fitValImagesPerSec: number;
  fitValPercent: number;
  benchStepMs: number;
  fitStepMs: number;
  loadAvg1: number;
}

const VALIDATION_SPLIT = 0.1;

function randomData(n: number, inputShape: readonly number[], classes: number): { x: Tensor; y: Int32Array } {
  const x = Tensor.randomUniform([n, ...inputShape], 0, 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(Math.random() * classes);
  return { x, y };
}

const wall = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

/** Measures one model in this process. */
export async function benchFit(name: string, batch: number, seconds: number, rounds: number, stepsAsked: number | null): Promise<FitBenchResult> {
  const entry = zoo[name];
  const model = createModel(name);
  compile(model, { optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const { optimizer, loss } = getCompiled(model);
  const vars = model.trainableWeights;
  const one = randomData(batch, entry.inputShape, entry.numClasses);
  const step = (): void => void trainStep(model, loss, optimizer, vars, one.x, one.y, `bench ${name}`);
  // Warm-up (3 steps, then at least 3 timed) also sizes the epoch.
  const probe = timeSteps(Math.min(seconds, 1), step, 3);
  const steps = stepsAsked ?? Math.max(3, Math.min(40, Math.round(seconds / probe.median)));
  const n = steps * batch;
  const train = randomData(n, entry.inputShape, entry.numClasses);
  // validationSplit keeps the first floor(m * 0.9) samples for training: the smallest m that keeps n.
  let m = n + 1;
  while (Math.floor(m * (1 - VALIDATION_SPLIT)) < n) m++;
  const withVal = randomData(m, entry.inputShape, entry.numClasses);
  await fit(model, train.x, train.y, { batchSize: batch, epochs: 1, verbose: 0 }); // warm-up of fit's own paths

  const stepTimes: number[] = [];
  const fitTimes: number[] = [];
  const fitValTimes: number[] = [];
  const paired: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (let s = 0; s < steps; s++) {
      const t0 = process.hrtime.bigint();
      step();
      const t = Number(process.hrtime.bigint() - t0) / 1e9;
      stepTimes.push(t);
      sum += t;
    }
    fitTimes.push(await wall(() => fit(model, train.x, train.y, { batchSize: batch, epochs: 1, verbose: 1 })));
    paired.push((100 * sum) / fitTimes[fitTimes.length - 1]);
    fitValTimes.push(await wall(() => fit(model, withVal.x, withVal.y, { batchSize: batch, epochs: 1, verbose: 1, validationSplit: VALIDATION_SPLIT })));
  }
  const benchImagesPerSec = batch / median(stepTimes);
  const fitImagesPerSec = n / median(fitTimes);
  const fitValImagesPerSec = n / median(fitValTimes);
  return {
    model: name,
    batch,
    steps,
    rounds,
    benchImagesPerSec,
    benchMeanImagesPerSec: (batch * stepTimes.length) / stepTimes.reduce((a, b) => a + b, 0),
    fitPairedPercent: median(paired),
    fitImagesPerSec,
    fitPercent: (100 * fitImagesPerSec) / benchImagesPerSec,
    fitValImagesPerSec,
    fitValPercent: (100 * fitValImagesPerSec) / benchImagesPerSec,
    benchStepMs: median(stepTimes) * 1e3,
    fitStepMs: (median(fitTimes) / steps) * 1e3,
    loadAvg1: loadavg()[0],
  };
}

/** Runs benchFit for one model in a child process (bench.js --child --fit) and returns its result or an error. */
export function runFitChild(script: string, name: string, batch: number, seconds: number, rounds: number, steps: number | null): FitBenchResult | string {
  const args = [script, '--child', '--fit', '--model', name, '--batch', String(batch), '--seconds', String(seconds), '--rounds', String(rounds)];
  if (steps) args.push('--steps', String(steps));
  return runJsonChild<FitBenchResult>(args);
}

const fmt = (v: number, digits: number): string => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function printFit(rows: (FitBenchResult | { model: string; batch: number; error: string })[]): void {
  const head = ['model', 'batch', 'steps', 'bench img/s', 'fit img/s', 'fit/bench %', 'fit+val img/s', 'fit+val/bench %', 'bench mean img/s', 'fit/steps % (paired)', 'bench ms', 'fit ms/step'];
  const cells = rows.map((r) =>
    'error' in r
      ? [r.model, String(r.batch), `failed: ${r.error}`]
      : [r.model, String(r.batch), String(r.steps), fmt(r.benchImagesPerSec, 1), fmt(r.fitImagesPerSec, 1), fmt(r.fitPercent, 1), fmt(r.fitValImagesPerSec, 1), fmt(r.fitValPercent, 1), fmt(r.benchMeanImagesPerSec, 1), fmt(r.fitPairedPercent, 1), fmt(r.benchStepMs, 2), fmt(r.fitStepMs, 2)],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.filter((c) => c.length === head.length).map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const c of cells) process.stdout.write(`${c.length === head.length ? line(c) : `${c[0].padEnd(widths[0])}  ${c[1].padStart(widths[1])}  ${c[2]}`}\n`);
}
