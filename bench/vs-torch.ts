// --vs-torch: training (and inference) images/s of convkit's bench step against PyTorch's on the same model,
// batch and thread count, measured by ../shared/peers/torch_bench.py (a Python script outside this repository,
// run as a child: `--torch-script PATH` elsewhere). On a shared VM whose speed drifts by 1.5x over minutes, two
// full runs one after the other compare nothing; so each model alternates the two, `rounds` times, each in a
// fresh child process, convkit first in odd rounds and PyTorch first in even ones, and the ratio is taken per
// round (the two measurements seconds apart) before the median.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './timing.js';

/** The models the PyTorch peer knows (all of the zoo's CNNs; no mlp). */
export const TORCH_MODELS = ['baseline', 'lenet5', 'alexnet8', 'vgg16', 'inception10', 'resnet18', 'mobilenet'];

export interface VsTorchRow {
  model: string;
  batch: number;
  threads: number;
  /** Medians over the rounds. */
  convkitTrain: number;
  torchTrain: number;
  convkitInfer: number;
  torchInfer: number;
  /** Median of the per-round ratios convkit / PyTorch (above 1: convkit faster). */
  trainRatio: number;
  inferRatio: number;
  /** Each round's training ratio, in order. */
  trainRatios: number[];
}

/** Images/s of one measurement, or why there is none. */
export type Measure = (model: string, batch: number, seconds: number) => { train: number; infer: number } | string;

export interface TorchPeer {
  python: string;
  script: string;
}

/**
 * The Python that has torch and the peer script, or an error message that says how to get them. `python` and
 * `script` as given on the command line (null: look in the usual places).
 */
export function findTorchPeer(python: string | null, script: string | null): TorchPeer | string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = script ?? resolve(root, '..', 'shared', 'peers', 'torch_bench.py');
  if (!existsSync(file)) return `the PyTorch peer script ${file} does not exist (--torch-script PATH names another)`;
  // A Python named on the command line is taken as it is (the script says so if it lacks torch). Otherwise the
  // first that imports torch: Debian's python3-torch lives under the system Python, which a pyenv or venv
  // python3 on the PATH hides.
  if (python) return { python, script: file };
  for (const p of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return { python: p, script: file };
  }
  return 'no python3 that can import torch (Debian: apt-get install python3-torch libopenblas0-pthread; or --python PATH)';
}

/** One PyTorch measurement through the peer script (its --json line). */
export function torchMeasure(peer: TorchPeer, threads: number): Measure {
  return (model, batch, seconds) => {
    const args = [peer.script, '--model', model, '--batch', String(batch), '--threads', String(threads), '--seconds', String(seconds), '--json'];
    const r = spawnSync(peer.python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) return `PyTorch exit ${r.status ?? r.signal}: ${((r.stderr ?? '') || (r.stdout ?? '')).trim().split('\n').pop() ?? ''}`;
    const j = JSON.parse(line) as { trainImagesPerSec?: unknown; inferImagesPerSec?: unknown };
    if (typeof j.trainImagesPerSec !== 'number' || typeof j.inferImagesPerSec !== 'number') return `PyTorch printed no images/s: ${line}`;
    return { train: j.trainImagesPerSec, infer: j.inferImagesPerSec };
  };
}

/** Alternates convkit and PyTorch `rounds` times on each model. A failed measurement ends the model with its reason. */
export function benchVsTorch(models: string[], batchOf: (m: string) => number, rounds: number, seconds: number, threads: number, convkit: Measure, torch: Measure): (VsTorchRow | { model: string; batch: number; error: string })[] {
  const rows: (VsTorchRow | { model: string; batch: number; error: string })[] = [];
  for (const model of models) {
    const batch = batchOf(model);
    const ck: { train: number; infer: number }[] = [];
    const pt: { train: number; infer: number }[] = [];
    let error: string | null = null;
    for (let r = 0; r < rounds && !error; r++) {
      const order: [Measure, typeof ck][] = r % 2 === 0 ? [[convkit, ck], [torch, pt]] : [[torch, pt], [convkit, ck]];
      for (const [measure, into] of order) {
        const m = measure(model, batch, seconds);
        if (typeof m === 'string') {
          error = m;
          break;
        }
        into.push(m);
      }
    }
    if (error) {
      rows.push({ model, batch, error });
      continue;
    }
    const trainRatios = ck.map((c, i) => c.train / pt[i].train);
    rows.push({
      model,
      batch,
      threads,
      convkitTrain: median(ck.map((c) => c.train)),
      torchTrain: median(pt.map((p) => p.train)),
      convkitInfer: median(ck.map((c) => c.infer)),
      torchInfer: median(pt.map((p) => p.infer)),
      trainRatio: median(trainRatios),
      inferRatio: median(ck.map((c, i) => c.infer / pt[i].infer)),
      trainRatios,
    });
  }
  return rows;
}

export function printVsTorch(rows: ReturnType<typeof benchVsTorch>): void {
  const fmt = (v: number, d: number) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const head = ['model', 'batch', 'convkit train', 'PyTorch train', 'ratio', 'convkit infer', 'PyTorch infer', 'ratio', 'training ratio by round'];
  const cells = rows.map((r) =>
    'error' in r
      ? [r.model, String(r.batch), `failed: ${r.error}`]
      : [r.model, String(r.batch), fmt(r.convkitTrain, 1), fmt(r.torchTrain, 1), fmt(r.trainRatio, 2), fmt(r.convkitInfer, 1), fmt(r.torchInfer, 1), fmt(r.inferRatio, 2), r.trainRatios.map((x) => x.toFixed(2)).join(' / ')],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.filter((c) => c.length === head.length).map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 0 || i === c.length - 1 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const c of cells) process.stdout.write(`${c.length === head.length ? line(c) : c.join('  ')}\n`);
  const ok = rows.filter((r): r is VsTorchRow => !('error' in r));
  if (ok.length > 0) {
    const worst = ok.reduce((a, b) => (b.trainRatio < a.trainRatio ? b : a));
    process.stdout.write(`\nworst training ratio: ${worst.trainRatio.toFixed(2)} (${worst.model}); images/s, medians of the rounds; ratio = convkit / PyTorch per round, then the median\n`);
  }
}
