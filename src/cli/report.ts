/**
 * `convkit report <model or checkpoint> --out report.html`: one self-contained HTML page about a zoo model, a
 * Keras model file, or a trained one (a checkpoint file, or a training folder with its log.csv).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { readCheckpoint } from '../io/checkpoint.js';
import type { CurvesInput } from '../report/curves.js';
import { writeFileAtomic } from '../io/atomic.js';
import { buildReport, historyFromCsv } from '../report/report.js';
import { createModel, zoo } from '../zoo/index.js';
import { OUT_FILES } from './common.js';
import { openModelFile, parseModelArg } from './model-arg.js';

/** The run's history: log.csv beside the checkpoint, else the full checkpoint's saved history. */
function historyOf(path: string): CurvesInput | undefined {
  const folder = statSync(path).isDirectory() ? path : dirname(path);
  const log = join(folder, OUT_FILES.log);
  if (existsSync(log)) {
    const h = historyFromCsv(readFileSync(log, 'utf8'));
    if (h.epochs.length > 0) return h;
  }
  for (const file of [path, join(folder, OUT_FILES.checkpoint)]) {
    if (!existsSync(file) || statSync(file).isDirectory()) continue;
    const saved = readCheckpoint(file).state.history;
    if (saved && saved.epoch.length > 0) return { epochs: saved.epoch.map((e) => e + 1), history: saved.history };
  }
  return undefined;
}

export async function reportCmd(target: string, o: { out: string }): Promise<void> {
  let html: string;
  const ref = parseModelArg(target, 'report');
  if (ref.kind === 'zoo') {
    html = buildReport(createModel(ref.name), { source: `zoo model '${ref.name}' (untrained): ${zoo[ref.name].description}` });
  } else {
    const { model, ckpt, file } = await openModelFile(ref.path, 'report');
    if (ckpt) {
      const epoch = ckpt.state.epoch !== undefined ? `, epoch ${ckpt.state.epoch}` : '';
      const kind = ckpt.state.model?.zoo ? `zoo model '${ckpt.state.model.zoo}'` : `model '${model.name}'`;
      html = buildReport(model, { source: `checkpoint ${file} (${kind}${epoch})`, history: historyOf(target), pictures: true });
    } else {
      html = buildReport(model, { source: `Keras model file ${file} (model '${model.name}')`, pictures: true });
    }
  }
  writeFileAtomic(o.out, [Buffer.from(html)]);
  console.log(`Wrote ${o.out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB, self-contained)`);
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('a self-contained HTML report: architecture diagram, per-layer table, and for a training run its curves, filters and feature maps')
    .argument('<model>', 'zoo model name, model file (.keras, .h5, .safetensors), or training folder')
    .option('-o, --out <file>', 'output HTML file', 'report.html')
    .action((target: string, o: { out: string }) => reportCmd(target, o));
}
