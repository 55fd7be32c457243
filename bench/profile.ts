#!/usr/bin/env node
// Where a training step spends its time (not a test, not the bench): wraps every method of the active
// backend with a timer, runs training steps of one zoo model and prints time per backend method, with the
// rest of the step (JavaScript, autograd, allocation outside kernels) as "(outside the backend)".
//
//   npm run build && node dist/bench/profile.js --model resnet18 [--batch N] [--steps S] [--infer] [--shapes]
//
// --shapes splits the time of each convolution, depthwise and pooling call by its geometry.
import { getBackend } from '../src/backend/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { getLoss } from '../src/train/losses.js';
import { Adam } from '../src/train/optimizers.js';
import { trainStep } from '../src/train/step.js';
import { createModel, zoo } from '../src/zoo/index.js';
import { BENCH_BATCH } from './bench.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const name = arg('--model', 'resnet18');
const batch = Number(arg('--batch', String(BENCH_BATCH[name] ?? 32)));
const steps = Number(arg('--steps', '5'));
const inferOnly = process.argv.includes('--infer');
const byShape = process.argv.includes('--shapes');

const backend = getBackend() as unknown as Record<string, unknown>;
const spent = new Map<string, { ms: number; calls: number }>();
let timing = false;
for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(backend)).concat(Object.keys(backend))) {
  const f = backend[key];
  if (typeof f !== 'function' || key === 'constructor') continue;
  backend[key] = function (this: unknown, ...args: unknown[]) {
    if (!timing) return (f as (...a: unknown[]) => unknown).apply(this, args);
    const t0 = performance.now();
    const r = (f as (...a: unknown[]) => unknown).apply(this, args);
    const g = args.find((a) => a && typeof a === 'object' && 'kh' in (a as object)) as Record<string, number> | undefined;
    // Batch norm: rows x channels (x, then c: the first number among the arguments).
    const c = byShape && !g && key.startsWith('batchNorm') ? (args.find((a) => typeof a === 'number') as number) : 0;
    const bn = c ? ` ${(args[0] as { length: number }).length / c}x${c}` : '';
    const label = g && byShape ? `${key} ${g.n}x${g.h}x${g.w}x${g.c}>${g.outC ?? ''} k${g.kh}s${g.sh}` : key + bn;
    const e = spent.get(label) ?? { ms: 0, calls: 0 };
    e.ms += performance.now() - t0;
    e.calls++;
    spent.set(label, e);
    return r;
  };
}

const entry = zoo[name];
const model = createModel(name);
const x = Tensor.randomUniform([batch, ...entry.inputShape], 0, 1);
const y = new Int32Array(batch).map(() => Math.floor(Math.random() * entry.numClasses));
const loss = getLoss('sparse_categorical_crossentropy');
const optimizer = new Adam();
const vars = model.trainableWeights;
const step = inferOnly ? () => model.predict(x, { batchSize: batch }) : () => trainStep(model, loss, optimizer, vars, x, y, 'profile');
step();
step();
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const total = (performance.now() - t0) / steps;
timing = false;

const rows = [...spent.entries()].map(([k, v]) => ({ k, ms: v.ms / steps, calls: v.calls / steps }));
const inside = rows.reduce((s, r) => s + r.ms, 0);
rows.push({ k: '(outside the backend)', ms: total - inside, calls: 0 });
rows.sort((a, b) => b.ms - a.ms);
console.log(`${name}, batch ${batch}, ${inferOnly ? 'inference' : 'training'} step ${total.toFixed(2)} ms (${((batch * 1000) / total).toFixed(1)} img/s), backend ${getBackend().name}`);
for (const r of rows) console.log(`  ${r.k.padEnd(50)} ${r.ms.toFixed(2).padStart(9)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)}%  ${r.calls ? `${r.calls} calls` : ''}`);
