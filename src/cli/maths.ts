/**
 * `convkit dims conv|pool`, `convkit compare` and `convkit summary <model> --detail`: the course's formulas with
 * the numbers filled in, from the same geometry code the kernels use.
 */
import { Command } from 'commander';
import type { Padding } from '../backend/geometry.js';
import type { Model } from '../models/model.js';
import { analyzeModel } from '../report/analysis.js';
import { compareAll } from '../report/compare.js';
import { convDims, poolDims } from '../report/dims.js';
import { formatAnalysis, formatComparison } from '../report/format.js';
import { CliError, parseIntArg } from './common.js';

/** '200,200,1' -> [200, 200, 1]. */
export function parseTriple(name: string): (v: string) => [number, number, number] {
  return (v) => {
    const parts = v.split(/[,x]/).map((p) => Number(p.trim()));
    if (parts.length !== 3 || !parts.every((p) => Number.isInteger(p) && p > 0)) {
      throw new CliError(`${name}: expected H,W,C (three positive integers, e.g. 32,32,3), received '${v}'`, 2);
    }
    return [parts[0], parts[1], parts[2]];
  };
}

/** '3' -> [3, 3]; '3,5' or '3x5' -> [3, 5]. */
export function parsePair(name: string): (v: string) => [number, number] {
  return (v) => {
    const parts = v.split(/[,x]/).map((p) => Number(p.trim()));
    const ok = (parts.length === 1 || parts.length === 2) && parts.every((p) => Number.isInteger(p) && p > 0);
    if (!ok) throw new CliError(`${name}: expected a positive integer or a pair like 3,5, received '${v}'`, 2);
    return parts.length === 1 ? [parts[0], parts[0]] : [parts[0], parts[1]];
  };
}

export function parsePadding(v: string): Padding {
  if (v !== 'same' && v !== 'valid') throw new CliError(`--padding: expected 'same' or 'valid', received '${v}'`, 2);
  return v;
}

function parsePositive(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name}: expected a positive integer, received '${v}'`, 2);
    return n;
  };
}

/** Geometry refusals (a window larger than the input) are usage errors here: one line, exit 2. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message, 2);
  }
}

interface ConvOpts {
  input: [number, number, number];
  filters?: number;
  kernel: [number, number];
  strides: [number, number];
  padding: Padding;
  dilation: [number, number];
  bias: boolean;
  depthwise?: boolean;
  depthMultiplier: number;
  json?: boolean;
}

interface PoolOpts {
  input: [number, number, number];
  poolSize?: [number, number];
  kernel?: [number, number];
  strides?: [number, number];
  padding: Padding;
  json?: boolean;
}

function print(d: { outputShape: unknown; params: number; steps: string[] }, json?: boolean): void {
  console.log(json ? JSON.stringify({ outputShape: d.outputShape, params: d.params }) : d.steps.join('\n'));
}

export function dimsConv(o: ConvOpts): void {
  if (!o.depthwise && o.filters === undefined) throw new CliError('--filters: expected the number of filters K (a positive integer), received nothing', 2);
  print(usage(() => convDims({ input: o.input, filters: o.filters, kernel: o.kernel, strides: o.strides, padding: o.padding, dilation: o.dilation, useBias: o.bias, depthwise: o.depthwise, depthMultiplier: o.depthMultiplier })), o.json);
}

export function dimsPool(o: PoolOpts): void {
  const poolSize = o.poolSize ?? o.kernel ?? [2, 2];
  print(usage(() => poolDims({ input: o.input, poolSize, strides: o.strides, padding: o.padding })), o.json);
}

/** `summary <model> --detail`: the per-layer analysis table (or its JSON). */
export function summaryDetail(model: Model, json?: boolean): void {
  const a = analyzeModel(model);
  console.log(json ? JSON.stringify(a, null, 2) : formatAnalysis(a));
}

/** Adds `dims conv`, `dims pool` and `compare` to the program. */
export function registerMathsCommands(program: Command): void {
  const dims = program.command('dims').description('output shape and parameter count of one layer, as a worked example');
  dims
    .command('conv')
    .description('Conv2D (or DepthwiseConv2D): output shape ceil(H/S) or ceil((H - F + 1)/S), params K*F*F*D_in + K')
    .requiredOption('--input <h,w,c>', 'input height, width, channels', parseTriple('--input'))
    .option('--filters <k>', 'number of filters K', parsePositive('--filters'))
    .requiredOption('--kernel <f>', 'kernel size F (or FH,FW)', parsePair('--kernel'))
    .option('--strides <s>', 'stride S (or SH,SW)', parsePair('--strides'), [1, 1])
    .option('--padding <p>', "'valid' (Keras default) or 'same'", parsePadding, 'valid')
    .option('--dilation <d>', 'dilation rate D (or DH,DW)', parsePair('--dilation'), [1, 1])
    .option('--no-bias', 'without the K bias parameters')
    .option('--depthwise', 'DepthwiseConv2D: one filter set per input channel')
    .option('--depth-multiplier <m>', 'depthwise: filters per input channel', parsePositive('--depth-multiplier'), 1)
    .option('--json', 'print {"outputShape", "params"}')
    .action((o: ConvOpts) => dimsConv(o));
  dims
    .command('pool')
    .description('MaxPooling2D / AveragePooling2D: output shape, depth unchanged, no parameters')
    .requiredOption('--input <h,w,c>', 'input height, width, channels', parseTriple('--input'))
    .option('--pool-size <f>', 'window F (or FH,FW); default 2', parsePair('--pool-size'))
    .option('--kernel <f>', 'same as --pool-size', parsePair('--kernel'))
    .option('--strides <s>', 'stride S; default the pool size (Keras)', parsePair('--strides'))
    .option('--padding <p>', "'valid' (Keras default) or 'same'", parsePadding, 'valid')
    .option('--json', 'print {"outputShape", "params"}')
    .action((o: PoolOpts) => dimsPool(o));

  program
    .command('compare')
    .description("the course's cost comparisons: 3x3+3x3 vs 5x5, 1x1 bottleneck, depthwise-separable, classic networks")
    .option('--from <x>', 'smallest input size for 3x3+3x3 vs 5x5 (>= 5)', parseIntArg('--from', 5), 5)
    .option('--to <x>', 'largest input size for 3x3+3x3 vs 5x5', parseIntArg('--to', 5), 16)
    .option('--json', 'print the comparisons as JSON')
    .action((o: { from: number; to: number; json?: boolean }) => {
      if (o.to < o.from) throw new CliError(`--to: expected a size >= --from (${o.from}), received '${o.to}'`, 2);
      const c = compareAll({ from: o.from, to: o.to });
      console.log(o.json ? JSON.stringify(c, null, 2) : formatComparison(c));
    });
}
