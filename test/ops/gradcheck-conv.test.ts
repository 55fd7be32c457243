/**
 * Gradient checks of conv2d and depthwiseConv2d with respect to input and kernel, over the geometries that
 * go wrong: stride 2 `same` with asymmetric padding, dilation, explicit padding, batch 1, 1x1 kernels.
 */
import { test } from 'node:test';
import { conv2dInfo } from '../../src/backend/geometry.js';
import { ConvOptions, conv2d, depthwiseConv2d } from '../../src/ops/conv.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { normal } from '../helpers/tensors.js';
import assert from 'node:assert/strict';

const rng = new Random(202);

interface Case {
  name: string;
  x: number[];
  k: number[];
  opts: ConvOptions;
  /** Expected [padTop, padBottom, padLeft, padRight], so each case provably exercises its geometry. */
  pads?: [number, number, number, number];
}

const convCases: Case[] = [
  { name: 'stride 1 same, batch 2', x: [2, 4, 4, 2], k: [3, 3, 2, 3], opts: { padding: 'same' }, pads: [1, 1, 1, 1] },
  { name: 'stride 2 same, odd 5x5, symmetric', x: [1, 5, 5, 2], k: [3, 3, 2, 2], opts: { strides: 2, padding: 'same' }, pads: [1, 1, 1, 1] },
  { name: 'stride 2 same, 6x5, asymmetric rows', x: [1, 6, 5, 2], k: [3, 3, 2, 2], opts: { strides: 2, padding: 'same' }, pads: [0, 1, 1, 1] },
  { name: 'stride 2 same, kernel 2 on 5x5: pad 0/1', x: [1, 5, 5, 3], k: [2, 2, 3, 2], opts: { strides: 2, padding: 'same' }, pads: [0, 1, 0, 1] },
  { name: 'stride 2 valid, odd sizes', x: [2, 5, 5, 1], k: [3, 3, 1, 2], opts: { strides: 2, padding: 'valid' }, pads: [0, 0, 0, 0] },
  { name: 'dilation 2 valid', x: [1, 6, 6, 2], k: [3, 3, 2, 2], opts: { dilationRate: 2, padding: 'valid' } },
  { name: 'dilation 2 same', x: [1, 5, 5, 2], k: [3, 3, 2, 2], opts: { dilationRate: 2, padding: 'same' }, pads: [2, 2, 2, 2] },
  { name: 'explicit padding, strides [2, 1]', x: [1, 5, 4, 2], k: [3, 2, 2, 2], opts: { strides: [2, 1], padding: [[1, 0], [2, 1]] }, pads: [1, 0, 2, 1] },
  { name: '1x1 kernel, non-square strides', x: [1, 5, 3, 3], k: [1, 1, 3, 5], opts: { strides: [2, 3] } },
  { name: 'rectangular kernel 1x3 same', x: [1, 3, 5, 2], k: [1, 3, 2, 3], opts: { padding: 'same' }, pads: [0, 0, 1, 1] },
];

function checkPads(c: Case, depthwise: boolean): void {
  if (!c.pads) return;
  const g = conv2dInfo({
    inputShape: c.x,
    kernelSize: [c.k[0], c.k[1]],
    strides: typeof c.opts.strides === 'number' ? [c.opts.strides, c.opts.strides] : ((c.opts.strides ?? [1, 1]) as [number, number]),
    dilation: typeof c.opts.dilationRate === 'number' ? [c.opts.dilationRate, c.opts.dilationRate] : ((c.opts.dilationRate ?? [1, 1]) as [number, number]),
    padding: c.opts.padding ?? 'valid',
    ...(depthwise ? { depthMultiplier: c.k[3] } : { filters: c.k[3] }),
  });
  assert.deepEqual([g.padTop, g.padBottom, g.padLeft, g.padRight], c.pads, `${c.name}: padding`);
}

for (const c of convCases) {
  test(`conv2d gradient: ${c.name}`, () => {
    checkPads(c, false);
    gradcheck((x, k) => conv2d(x, k, c.opts), [normal(c.x, rng), normal(c.k, rng)], { names: ['x', 'kernel'] });
  });
}

const depthwiseCases: Case[] = [
  { name: 'multiplier 1, same', x: [2, 4, 4, 3], k: [3, 3, 3, 1], opts: { padding: 'same' }, pads: [1, 1, 1, 1] },
  { name: 'multiplier 2, valid', x: [1, 5, 5, 2], k: [3, 3, 2, 2], opts: { padding: 'valid' } },
  { name: 'multiplier 2, stride 2 same, 6x6 (pad 0/1)', x: [1, 6, 6, 2], k: [3, 3, 2, 2], opts: { strides: 2, padding: 'same' }, pads: [0, 1, 0, 1] },
  { name: 'multiplier 1, stride 2 same, 5x5', x: [1, 5, 5, 3], k: [3, 3, 3, 1], opts: { strides: 2, padding: 'same' }, pads: [1, 1, 1, 1] },
  { name: 'multiplier 3, dilation 2 same', x: [1, 5, 5, 2], k: [2, 2, 2, 3], opts: { dilationRate: 2, padding: 'same' }, pads: [1, 1, 1, 1] },
  { name: 'MobileNet stride: explicit ((0, 1), (0, 1)) stride 2', x: [1, 5, 5, 2], k: [3, 3, 2, 1], opts: { strides: 2, padding: [[0, 1], [0, 1]] }, pads: [0, 1, 0, 1] },
];

for (const c of depthwiseCases) {
  test(`depthwiseConv2d gradient: ${c.name}`, () => {
    checkPads(c, true);
    gradcheck((x, k) => depthwiseConv2d(x, k, c.opts), [normal(c.x, rng), normal(c.k, rng)], { names: ['x', 'depthwiseKernel'] });
  });
}

test('conv2d gradient with only the kernel requiring grad (input is data)', () => {
  const x = normal([1, 4, 4, 2], rng);
  const k = normal([3, 3, 2, 2], rng);
  gradcheck((kk) => conv2d(x, kk, { padding: 'same' }), [k]);
  assert.equal(x.requiresGrad, false);
  const out = conv2d(Tensor.zeros([1, 3, 3, 1], 'float64'), Tensor.zeros([3, 3, 1, 1], 'float64'));
  assert.equal(out.node, null, 'no tape entry when nothing requires grad');
});
