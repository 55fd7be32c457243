/** Text forms of the analysis and comparisons, for the command line (the HTML report has its own). */
import { formatShape } from '../tensor/shape.js';
import type { LayerAnalysis, ModelAnalysis, ReceptiveField } from './analysis.js';
import type { Comparison } from './compare.js';

export const thousands = (v: number): string => v.toLocaleString('en-US');

/** 1234567 -> '1.23M': three significant digits, SI-style suffixes (K, M, G, T). */
export function compact(v: number): string {
  if (v === 0) return '0';
  const units = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 999.5 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? String(Math.round(x)) : x.toPrecision(3)}${units[i]}`;
}

/** Bytes in binary units: '256 KiB'. */
export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : x.toPrecision(3)} ${units[i]}`;
}


/** '5' for a square field, '5x7' otherwise; '?' when unknown. */
export function rfText(rf: ReceptiveField | null, which: 'size' | 'jump'): string {
  if (!rf) return '?';
  const [h, w] = rf[which];
  return h === w ? String(h) : `${h}x${w}`;
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((f, i) => (rightAligned.has(i) ? f.padStart(widths[i]) : f.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [line(header), rule, ...rows.map(line), rule];
}

function rowCells(r: LayerAnalysis): string[] {
  const name = `${'  '.repeat(r.depth)}${r.kind === 'block' ? '+ ' : ''}${r.name} (${r.type === 'op' ? 'op' : r.type})`;
  return [name, formatShape(r.outputShape), thousands(r.params), compact(r.macs), compact(r.flops), compact(r.elementwiseOps), bytes(r.activationBytes), rfText(r.receptiveField, 'size'), rfText(r.receptiveField, 'jump')];
}

/** `convkit summary <model> --detail`: one line per layer (blocks expanded, their rows indented), then totals. */
export function formatAnalysis(a: ModelAnalysis): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #', 'MACs', 'FLOPs', 'Elem. ops', 'Act. mem', 'RF', 'Jump'];
  const lines = [`Model: "${a.name}"  (per image; '+' marks a composite block, whose inner rows follow, indented)`];
  lines.push(...table(header, a.rows.map(rowCells), new Set([2, 3, 4, 5, 6, 7, 8])));
  const t = a.totals;
  lines.push(
    `Total params: ${thousands(t.params)} (${bytes(t.paramBytes)})   Trainable: ${thousands(t.trainableParams)}   Non-trainable: ${thousands(t.nonTrainableParams)}`,
    `MACs: ${thousands(t.macs)}   FLOPs (2 x MACs, conv/dense): ${thousands(t.flops)} forward, ${thousands(t.trainingFlops)} per training image`,
    `Elementwise ops (bias, activations, BN, pooling, add): ${thousands(t.elementwiseOps)}   Activation memory: ${bytes(t.activationBytes)}`,
    `Largest receptive field: ${rfText(t.maxReceptiveField, 'size')} pixels (jump ${rfText(t.maxReceptiveField, 'jump')})`,
  );
  return lines.join('\n');
}

/** `convkit compare`: the four comparisons with their formulas. */
export function formatComparison(c: Comparison): string {
  const out: string[] = ['1. Two stacked 3x3 convolutions against one 5x5', ''];
  out.push(...c.stacked.formula.map((l) => `   ${l}`), '');
  const rows = c.stacked.rows.map((r) => [String(r.x), String(r.twoConv3.weights), thousands(r.twoConv3.mults), String(r.oneConv5.weights), thousands(r.oneConv5.mults), r.cheaper]);
  out.push(...table(['x', '3x3+3x3 weights', 'mults', '5x5 weights', 'mults', 'cheaper'], rows, new Set([0, 1, 2, 3, 4])).map((l) => `   ${l}`));
  out.push(`   Crossover: two 3x3 layers need fewer multiplications once ${c.stacked.crossover}.`, '');
  out.push('2. 1x1 bottleneck against two 3x3 layers on 256 channels', '', ...c.bottleneck.formula.map((l) => `   ${l}`), '');
  out.push('3. Depthwise-separable against standard 3x3 convolution, 16 -> 32 channels', '', ...c.separable.formula.map((l) => `   ${l}`), '');
  out.push('4. Classic networks, as convkit\'s zoo builds them (per image)', '');
  const classic = c.classic.map((r) => [r.network, r.zoo, r.inputShape.join('x'), thousands(r.params), String(r.weightedLayers), compact(r.macs), compact(r.flops), r.receptiveField === null ? '?' : String(r.receptiveField)]);
  out.push(...table(['Network', 'zoo', 'Input', 'Params', 'Conv/dense', 'MACs', 'FLOPs', 'Max RF'], classic, new Set([3, 4, 5, 6, 7])).map((l) => `   ${l}`));
  return out.join('\n');
}
