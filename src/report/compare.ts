/**
 * The course's cost comparisons, each computed from the library itself: output sizes from geometry.ts,
 * parameter counts from real layers' countParams(), the classic networks from the zoo.
 */
import { windowAxis } from '../backend/geometry.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import type { Layer } from '../layers/layer.js';
import { createModel } from '../zoo/index.js';
import { analyzeModel } from './analysis.js';
import { thousands as n } from './format.js';

export interface StackedRow {
  /** Input width and height x. */
  x: number;
  twoConv3: { weights: number; mults: number };
  oneConv5: { weights: number; mults: number };
  /** Which is cheaper in multiplications at this x. */
  cheaper: 'two 3x3' | 'one 5x5' | 'equal';
}

export interface Comparison {
  /** Two 3x3 convolutions against one 5x5 (same 5x5 receptive field), per input/output channel pair, valid padding. */
  stacked: { formula: string[]; rows: StackedRow[]; crossover: string };
  bottleneck: { formula: string[]; bottleneckParams: number; plainParams: number; ratio: number };
  separable: { formula: string[]; separableParams: number; standardParams: number; ratio: number };
  classic: ClassicRow[];
}

export interface ClassicRow {
  /** Name in the course. */
  network: string;
  /** convkit zoo name. */
  zoo: string;
  inputShape: number[];
  params: number;
  weightedLayers: number;
  macs: number;
  flops: number;
  receptiveField: number | null;
}


/** Parameters of a layer once built for `channels` input channels. */
function paramsOf(layer: Layer, channels: number): number {
  layer.build([null, 8, 8, channels]);
  return layer.countParams();
}

const conv = (filters: number, k: number, cin: number): number => paramsOf(new Conv2D({ filters, kernelSize: k, useBias: false, name: `compare_${k}x${k}_${cin}_${filters}` }), cin);

/** Rows for x in [from, to]: two 3x3 (18 weights, 9(x-2)^2 + 9(x-4)^2 mults) vs one 5x5 (25, 25(x-4)^2). */
export function stackedVsLarge(from = 5, to = 16): Comparison['stacked'] {
  const rows: StackedRow[] = [];
  for (let x = Math.max(5, from); x <= to; x++) {
    const a = windowAxis(x, 3, 1, 1, 'valid').out; // x - 2
    const b = windowAxis(a, 3, 1, 1, 'valid').out; // x - 4
    const c = windowAxis(x, 5, 1, 1, 'valid').out; // x - 4
    const two = { weights: 2 * 9, mults: 9 * a * a + 9 * b * b };
    const one = { weights: 25, mults: 25 * c * c };
    rows.push({ x, twoConv3: two, oneConv5: one, cheaper: two.mults < one.mults ? 'two 3x3' : two.mults > one.mults ? 'one 5x5' : 'equal' });
  }
  return {
    formula: [
      'Per input/output channel pair, input x by x, valid padding, stride 1; both see a 5x5 window.',
      'two 3x3: weights 3*3 + 3*3 = 18;  multiplications 9(x-2)^2 + 9(x-4)^2  (a 3x3 output is x-2 wide, then x-4)',
      'one 5x5: weights 5*5 = 25;        multiplications 25(x-4)^2',
      'two 3x3 cheaper  <=>  9(x-2)^2 < 16(x-4)^2  <=>  3(x-2) < 4(x-4)  <=>  x > 10   (x = 10: 900 = 900)',
    ],
    rows,
    crossover: 'x > 10',
  };
}

/**
 * 1x1 bottleneck against two 3x3 layers on 256 channels, no biases. The course's numbers come from ResNet's
 * bottleneck (1x1 256->64, 3x3 64->64, 1x1 64->256) against the basic block's two 3x3 256->256 convolutions.
 */
export function bottleneck(): Comparison['bottleneck'] {
  const reduce = conv(64, 1, 256);
  const middle = conv(64, 3, 64);
  const expand = conv(256, 1, 64);
  const plain = conv(256, 3, 256) + conv(256, 3, 256);
  const b = reduce + middle + expand;
  return {
    formula: [
      'Bottleneck (ResNet-50 style): 1x1 256->64, 3x3 64->64, 1x1 64->256, no biases:',
      `  1*1*256*64 + 3*3*64*64 + 1*1*64*256 = ${n(reduce)} + ${n(middle)} + ${n(expand)} = ${n(b)}`,
      'Two 3x3 layers 256->256, no biases:',
      `  2 * 3*3*256*256 = ${n(plain)}`,
      `The bottleneck has ${(plain / b).toFixed(1)}x fewer parameters (and multiplications per pixel).`,
    ],
    bottleneckParams: b,
    plainParams: plain,
    ratio: plain / b,
  };
}

/** Depthwise-separable against standard 3x3 convolution, 16 -> 32 channels, no biases. */
export function separable(): Comparison['separable'] {
  const dw = paramsOf(new DepthwiseConv2D({ kernelSize: 3, useBias: false, name: 'compare_dw_3x3_16' }), 16);
  const pw = conv(32, 1, 16);
  const std = conv(32, 3, 16);
  return {
    formula: [
      'Standard 3x3, 16 -> 32, no biases:   3*3*16*32 = ' + n(std),
      `Depthwise-separable: depthwise 3*3*16 = ${n(dw)}, pointwise 1*1*16*32 = ${n(pw)};  ${n(dw)} + ${n(pw)} = ${n(dw + pw)}`,
      `The separable convolution has ${(std / (dw + pw)).toFixed(1)}x fewer parameters (and multiplications per pixel).`,
    ],
    separableParams: dw + pw,
    standardParams: std,
    ratio: std / (dw + pw),
  };
}

/** The classic networks of the course, as the zoo builds them. */
export const CLASSIC_NETWORKS: readonly [string, string][] = [
  ['LeNet-5', 'lenet5'],
  ['AlexNet', 'alexnet8'],
  ['VGG16', 'vgg16'],
  ['VGG16 (ImageNet 224)', 'vgg16-slim'],
  ['InceptionNet', 'inception10'],
  ['ResNet18', 'resnet18'],
  ['MobileNet v1 (224)', 'mobilenet'],
];

export function classicTable(networks: readonly [string, string][] = CLASSIC_NETWORKS): ClassicRow[] {
  return networks.map(([network, zoo]) => {
    const model = createModel(zoo);
    const a = analyzeModel(model);
    const rf = a.totals.maxReceptiveField;
    return {
      network,
      zoo,
      inputShape: a.inputShapes[0].slice(1) as number[],
      params: a.totals.params,
      weightedLayers: a.totals.weightedLayers,
      macs: a.totals.macs,
      flops: a.totals.flops,
      receptiveField: rf ? rf.size[0] : null,
    };
  });
}

export function compareAll(opts: { from?: number; to?: number } = {}): Comparison {
  return { stacked: stackedVsLarge(opts.from, opts.to), bottleneck: bottleneck(), separable: separable(), classic: classicTable() };
}
