#!/usr/bin/env node
// The benchmark (npm run bench): per zoo model, training and inference images/s on random data, achieved
// GFLOP/s against the machine's measured FP32 peak, and peak memory. Not a test: numbers depend on the
// machine and on whatever else runs on it (the table prints the load average before and after).
//
//   npm run build && npm run bench -- [--model NAME[,NAME]]... [--json] [--seconds S] [--batch N]
//   npm run bench -- --fit [--steps N] [--rounds R]   model.fit against the training step (bench/fit.ts)
//   npm run bench -- --vs-ort [--rounds R] [--alternate]  predict against onnxruntime-node (bench/vs-ort.ts)
//   npm run bench -- --vs-torch [--rounds R] [--torch-script PATH] [--python PATH]  against PyTorch (bench/vs-torch.ts)
//
// Training = forward in training mode + sparse categorical cross-entropy + backward + Adam step (trainStep,
// the step model.fit runs). Inference = model.predict(x) of one batch (training off, no tape, buffers
// reused). Each is warmed up for 3 steps, then timed step by step for about --seconds (at least 3 steps), and
// the median step time is reported, as the PyTorch peer (../shared/peers/torch_bench.py) does. FLOPs per
// image come from modelFlops (src/report/analysis.ts): 2 * MACs of conv, depthwise and dense layers;
// training counts forward and both backward passes. The peak is measured at startup and again before each
// model (the best reading is kept) by the addon's fmaPeak (native/peak.cc): FMA chains in registers on every
// pool thread, with the ISA the kernels use.
//
// Each model runs in its own child process, so peakRssMb (process.resourceUsage().maxRSS) is that model's own.
// CONVKIT_THREADS / CONVKIT_ISA / CONVKIT_BACKEND apply as usual and are passed on to the children.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backendName } from '../src/backend/index.js';
import { nativeFmaPeak, nativeInfo } from '../src/backend/native/index.js';
import { modelFlops } from '../src/report/analysis.js';
import { Tensor } from '../src/tensor/tensor.js';
import { getLoss } from '../src/train/losses.js';
import { Adam } from '../src/train/optimizers.js';
import { trainStep } from '../src/train/step.js';
import { benchFit, printFit, runFitChild } from './fit.js';
import { runJsonChild, timeSteps } from './timing.js';
import { benchVsOrt, printVsOrt } from './vs-ort.js';
import { TORCH_MODELS, benchVsTorch, findTorchPeer, printVsTorch, torchMeasure } from './vs-torch.js';
import { createModel, zoo } from '../src/zoo/index.js';

/** The models and batch sizes of issue 6's table (mlp added), in the order they run. */
export const BENCH_BATCH: Record<string, number> = {
  mlp: 32,
  baseline: 32,
  lenet5: 32,
  alexnet8: 128,
  vgg16: 128,
  inception10: 128,
  resnet18: 32,
  mobilenet: 8,
};

export interface BenchResult {
  model: string;
  batch: number;
  inputShape: number[];
  backend: string;
  isa: string | null;
  threads: number;
  trainImagesPerSec: number;
  inferImagesPerSec: number;
  trainStepMs: number;
  inferStepMs: number;
  trainSteps: number;
  inferSteps: number;
  trainFlopsPerImage: number;
  inferFlopsPerImage: number;
  trainGflops: number;
  inferGflops: number;
  peakGflops: number | null;
  /** trainGflops as a percentage of peakGflops. */
  trainPeakPercent: number | null;
  peakRssMb: number;
  loadAvg1: number;
}

interface Options {
  models: string[];
  json: boolean;
  seconds: number;
  batch: number | null;
  child: boolean;
  peak: number | null;
  vsOrt: boolean;
  /** --vs-ort by single calls alternating instead of bursts (bench/vs-ort.ts). */
  alternate: boolean;
  fit: boolean;
  rounds: number;
  steps: number | null;
  vsTorch: boolean;
  torchScript: string | null;
  python: string | null;
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench -- [--model NAME[,NAME]]... [--json] [--seconds S] [--batch N] [--vs-ort [--alternate]] [--vs-torch [--torch-script PATH] [--python PATH]] [--fit [--steps N]] [--rounds R]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { models: [], json: false, seconds: 5, batch: null, child: false, peak: null, vsOrt: false, alternate: false, fit: false, rounds: 5, steps: null, vsTorch: false, torchScript: null, python: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(`${flag} expects a value`);
      return v;
    };
    const positive = (v: string, integer: boolean): number => {
      const n = Number(v);
      if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) usage(`${flag}: expected a positive ${integer ? 'integer' : 'number'}, received '${v}'`);
      return n;
    };
    switch (flag) {
      case '--model':
      case '--models':
        o.models.push(...value().split(',').map((s) => s.trim()).filter((s) => s));
        break;
      case '--json':
        o.json = true;
        break;
      case '--seconds':
        o.seconds = positive(value(), false);
        break;
      case '--batch':
        o.batch = positive(value(), true);
        break;
      case '--child':
        o.child = true;
        break;
      case '--vs-ort':
        o.vsOrt = true;
        break;
      case '--alternate':
        o.alternate = true;
        break;
      case '--vs-torch':
        o.vsTorch = true;
        break;
      case '--torch-script':
        o.torchScript = value();
        break;
      case '--python':
        o.python = value();
        break;
      case '--fit':
        o.fit = true;
        break;
      case '--rounds':
        o.rounds = positive(value(), true);
        break;
      case '--steps':
        o.steps = positive(value(), true);
        break;
      case '--peak':
        o.peak = positive(value(), false);
        break;
      case '-h':
      case '--help':
        process.stdout.write('usage: npm run bench -- [--model NAME[,NAME]]... [--json] [--seconds S] [--batch N] [--vs-ort [--alternate]] [--vs-torch [--torch-script PATH] [--python PATH]] [--fit [--steps N]] [--rounds R]\n');
        process.exit(0);
      default:
        usage(`unknown argument '${arg}'`);
    }
  }
  for (const m of o.models) if (!(m in zoo)) usage(`--model: expected one of ${Object.keys(BENCH_BATCH).join(', ')} (or another zoo model), received '${m}'`);
  if (o.models.length === 0) o.models = Object.keys(BENCH_BATCH);
  return o;
}

/** Measures one model in this process. */
function benchModel(name: string, batch: number, seconds: number, peak: number | null): BenchResult {
  const entry = zoo[name];
  const model = createModel(name);
  const inputShape = [...entry.inputShape];
  const x = Tensor.randomUniform([batch, ...inputShape], 0, 1);
  const y = new Int32Array(batch);
  for (let i = 0; i < batch; i++) y[i] = Math.floor(Math.random() * entry.numClasses);
  const loss = getLoss('sparse_categorical_crossentropy');
  const optimizer = new Adam();
  const vars = model.trainableWeights;

  const train = timeSteps(seconds, () => {
    trainStep(model, loss, optimizer, vars, x, y, `bench ${name}`);
  });
  const infer = timeSteps(seconds, () => {
    model.predict(x, { batchSize: batch });
  });

  const trainFlopsPerImage = modelFlops(model, { training: true });
  const inferFlopsPerImage = modelFlops(model);
  const trainImagesPerSec = batch / train.median;
  const inferImagesPerSec = batch / infer.median;
  const trainGflops = (trainImagesPerSec * trainFlopsPerImage) / 1e9;
  const info = nativeInfo();
  const backend = backendName();
  return {
    model: name,
    batch,
    inputShape,
    backend,
    isa: backend === 'native' && info ? info.isa : null,
    threads: backend === 'native' && info ? info.threads : 1,
    trainImagesPerSec,
    inferImagesPerSec,
    trainStepMs: train.median * 1e3,
    inferStepMs: infer.median * 1e3,
    trainSteps: train.steps,
    inferSteps: infer.steps,
    trainFlopsPerImage,
    inferFlopsPerImage,
    trainGflops,
    inferGflops: (inferImagesPerSec * inferFlopsPerImage) / 1e9,
    peakGflops: peak,
    trainPeakPercent: peak ? (100 * trainGflops) / peak : null,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    loadAvg1: loadavg()[0],
  };
}

/** Runs one model in a child process and returns its result line (or an error message). */
function runChild(name: string, batch: number, seconds: number, peak: number | null): BenchResult | string {
  const args = [fileURLToPath(import.meta.url), '--child', '--model', name, '--batch', String(batch), '--seconds', String(seconds)];
  if (peak) args.push('--peak', String(peak));
  return runJsonChild<BenchResult>(args);
}

const fmt = (v: number | null, digits: number): string => (v === null ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

/** A model whose child process failed: its row says why. */
type FailedRow = { model: string; batch: number; error: string };

/**
 * Adds a child's result to `rows` (and prints it as a JSON line with --json), or, when the child failed (a
 * string), reports it on stderr, sets a failing exit code and adds a row that says why.
 */
function keepRow<R>(rows: (R | FailedRow)[], model: string, batch: number, r: R | string, json: boolean): void {
  if (typeof r === 'string') {
    process.exitCode = 1;
    process.stderr.write(`bench: ${model} failed (${r})\n`);
    rows.push({ model, batch, error: r });
    return;
  }
  rows.push(r);
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

function printTable(rows: (BenchResult | FailedRow)[]): void {
  const head = ['model', 'batch', 'train img/s', 'infer img/s', 'train GFLOP/s', 'infer GFLOP/s', '% peak', 'step ms', 'RSS MB'];
  const cells = rows.map((r) =>
    'error' in r
      ? [r.model, String(r.batch), `failed: ${r.error}`, '', '', '', '', '', '']
      : [r.model, String(r.batch), fmt(r.trainImagesPerSec, 1), fmt(r.inferImagesPerSec, 1), fmt(r.trainGflops, 1), fmt(r.inferGflops, 1), fmt(r.trainPeakPercent, 1), fmt(r.trainStepMs, 1), fmt(r.peakRssMb, 0)],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[2].startsWith('failed') && i > 2 ? 0 : c[i].length))));
  const line = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const c of cells) process.stdout.write(`${c[2].startsWith('failed') ? `${c[0].padEnd(widths[0])}  ${c[1].padStart(widths[1])}  ${c[2]}` : line(c)}\n`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.vsOrt) {
    // Inference only, batch 1 and the bench batch (32 unless --batch), seconds per burst default 0.4.
    const seconds = process.argv.some((a) => a.startsWith('--seconds')) ? o.seconds : 0.4;
    const rows = await benchVsOrt(o.models.filter((m) => m !== 'mlp' || o.models.length === 1), () => [1, o.batch ?? 32], o.rounds, seconds, o.alternate);
    if (o.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    else printVsOrt(rows, o.alternate);
    return;
  }
  const batchOf = (m: string) => o.batch ?? BENCH_BATCH[m] ?? 32;
  if (o.fit) return fitMain(o, batchOf);
  if (o.vsTorch) return vsTorchMain(o, batchOf);
  if (o.child) {
    for (const m of o.models) process.stdout.write(`${JSON.stringify(benchModel(m, batchOf(m), o.seconds, o.peak))}\n`);
    return;
  }
  const load0 = loadavg();
  const info = nativeInfo();
  // Measured with every pool thread (what training uses) and with one, for the record; best of 3 short runs,
  // since a run that shares a core with another process reads low.
  const best = (f: () => number | null): number | null => Math.max(f() ?? 0, f() ?? 0, f() ?? 0) || null;
  const peak = best(() => nativeFmaPeak(250));
  const peak1 = best(() => nativeFmaPeak(150, 1));
  if (!o.json) {
    const where = info ? `native backend, ${info.isa} kernels, ${info.threads} threads` : `${backendName()} backend (native addon not loaded)`;
    process.stdout.write(`convkit bench: ${where}; ${o.seconds} s per measurement; each model in its own process (RSS per model)\n`);
    process.stdout.write(`FP32 FMA peak: ${peak === null ? 'n/a (needs the native addon)' : `${fmt(peak, 1)} GFLOP/s on ${info?.threads} threads, ${fmt(peak1, 1)} on one`}\n`);
    process.stdout.write(`load average before: ${load0.map((v) => v.toFixed(2)).join(' ')}\n\n`);
  }
  const rows: (BenchResult | FailedRow)[] = [];
  // The peak is measured again before each model and the best reading so far is used: on a shared (virtual)
  // machine a slow spell during one short measurement otherwise shows up as a share above 100%.
  let bestPeak = peak;
  for (const m of o.models) {
    if (bestPeak !== null) bestPeak = Math.max(bestPeak, best(() => nativeFmaPeak(250)) ?? 0);
    keepRow(rows, m, batchOf(m), runChild(m, batchOf(m), o.seconds, bestPeak), o.json);
  }
  if (!o.json) {
    printTable(rows);
    if (bestPeak !== null && peak !== null && bestPeak > peak)
      process.stdout.write(`\nFP32 FMA peak re-measured before each model: best ${fmt(bestPeak, 1)} GFLOP/s (% peak uses the best reading so far)`);
    process.stdout.write(`\nload average after: ${loadavg().map((v) => v.toFixed(2)).join(' ')}\n`);
    process.stdout.write('GFLOP/s from modelFlops (conv/depthwise/dense 2*MACs; training = forward + both backward passes); % peak = train GFLOP/s / FMA peak.\n');
  }
}

/** --vs-torch (bench/vs-torch.ts): each model alternating with PyTorch; 3 s and 3 rounds unless told. */
function vsTorchMain(o: Options, batchOf: (m: string) => number): void {
  const seconds = process.argv.some((a) => a.startsWith('--seconds')) ? o.seconds : 3;
  const rounds = process.argv.some((a) => a.startsWith('--rounds')) ? o.rounds : 3;
  const asked = process.argv.some((a) => a.startsWith('--model'));
  const models = asked ? o.models : o.models.filter((m) => TORCH_MODELS.includes(m));
  for (const m of models) if (!TORCH_MODELS.includes(m)) usage(`--vs-torch: the PyTorch peer has no '${m}' (it has ${TORCH_MODELS.join(', ')})`);
  const peer = findTorchPeer(o.python, o.torchScript);
  if (typeof peer === 'string') {
    process.stderr.write(`bench --vs-torch: ${peer}\n`);
    process.exit(1);
  }
  const info = nativeInfo();
  const threads = info?.threads ?? 1;
  if (!o.json) {
    const where = info ? `native backend, ${info.isa} kernels` : `${backendName()} backend (native addon not loaded)`;
    process.stdout.write(`convkit bench --vs-torch: ${where}, ${threads} threads each; PyTorch by ${peer.python} ${peer.script}; ${rounds} rounds of ${seconds} s alternating per model, each measurement in a fresh process\n\n`);
  }
  const convkit = (m: string, b: number, s: number) => {
    const r = runChild(m, b, s, null);
    return typeof r === 'string' ? r : { train: r.trainImagesPerSec, infer: r.inferImagesPerSec };
  };
  const rows = benchVsTorch(models, batchOf, rounds, seconds, threads, convkit, torchMeasure(peer, threads));
  for (const r of rows) if ('error' in r) process.exitCode = 1;
  if (o.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else printVsTorch(rows);
}

/** --fit (bench/fit.ts): model.fit against trainStep, each model in a child; 2 s and 5 rounds unless told. */
async function fitMain(o: Options, batchOf: (m: string) => number): Promise<void> {
  const seconds = process.argv.some((a) => a.startsWith('--seconds')) ? o.seconds : 2;
  const rounds = process.argv.some((a) => a.startsWith('--rounds')) ? o.rounds : 5;
  if (o.child) {
    for (const m of o.models) process.stdout.write(`${JSON.stringify(await benchFit(m, batchOf(m), seconds, rounds, o.steps))}\n`);
    return;
  }
  const load0 = loadavg();
  if (!o.json) {
    const info = nativeInfo();
    const where = info ? `native backend, ${info.isa} kernels, ${info.threads} threads` : `${backendName()} backend (native addon not loaded)`;
    process.stdout.write(`convkit bench --fit: ${where}; model.fit (1 epoch, in-memory data) vs trainStep median, and vs the same round's steps (paired), ${rounds} alternating rounds, median\n`);
    process.stdout.write(`load average before: ${load0.map((v) => v.toFixed(2)).join(' ')}\n\n`);
  }
  const rows: Parameters<typeof printFit>[0] = [];
  for (const m of o.models) {
    keepRow(rows, m, batchOf(m), runFitChild(fileURLToPath(import.meta.url), m, batchOf(m), seconds, rounds, o.steps), o.json);
  }
  if (!o.json) {
    printFit(rows);
    process.stdout.write(`\nload average after: ${loadavg().map((v) => v.toFixed(2)).join(' ')}\n`);
  }
}

// Runs only as a script, so that bench/profile.ts can import BENCH_BATCH.
if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
