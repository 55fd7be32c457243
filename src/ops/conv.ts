import { ExplicitPadding, Padding, conv2dInfo } from '../backend/geometry.js';
import { record } from '../autograd/tape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { anyPlaceholder, assertRank, assertSameDtype, backendFor, tensorOf } from './util.js';

export type Pair = number | readonly [number, number];
export const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface ConvOptions {
  /** conv2d only: a bias [filters] added to the output (in the GEMM's epilogue on the native backend). */
  bias?: Tensor | null;
  strides?: Pair;
  padding?: Padding | ExplicitPadding;
  dilationRate?: Pair;
  /** Who is asking, for error messages, e.g. "Conv2D 'conv2d_3'". */
  who?: string;
}

/** Checks a convolution's input and kernel and resolves its geometry (the same rules for both kinds). */
function convGeometry(x: Tensor, kernel: Tensor, opts: ConvOptions, who: string, depthwise: boolean) {
  assertRank(who, 'input', x, 4, '[batch, height, width, channels]');
  assertRank(who, depthwise ? 'depthwiseKernel' : 'kernel', kernel, 4, depthwise ? '[kh, kw, channels, depthMultiplier]' : '[kh, kw, inChannels, filters]');
  assertSameDtype(who, [x, kernel]);
  if (kernel.shape[2] !== x.shape[3]) {
    throw new Error(`${who}: argument 'input' expected ${kernel.shape[2]} channels (kernel ${formatShape(kernel.shape)}), received shape ${formatShape(x.shape)}`);
  }
  return conv2dInfo({
    inputShape: x.shape,
    kernelSize: [kernel.shape[0], kernel.shape[1]],
    strides: pair(opts.strides ?? 1),
    dilation: pair(opts.dilationRate ?? 1),
    padding: opts.padding ?? 'valid',
    ...(depthwise ? { depthMultiplier: kernel.shape[3] } : { filters: kernel.shape[3] }),
    who,
  });
}

/**
 * 2-D convolution, NHWC input and HWIO kernel:
 *   y[b, i, j, k] = sum_{u, v, c} x[b, i*sh + u*dh - padTop, j*sw + v*dw - padLeft, c] * w[u, v, c, k]
 * Backward: dx is the convolution of dy with the flipped kernel (backprop-input); dw correlates x with dy.
 */
export function conv2d(x: Tensor, kernel: Tensor, opts: ConvOptions = {}): Tensor {
  const who = opts.who ?? 'conv2d';
  const g = convGeometry(x, kernel, opts, who, false);
  const shape = [g.n, g.oh, g.ow, g.outC];
  const bias = opts.bias ?? null;
  if (bias) {
    assertRank(who, 'bias', bias, 1);
    assertSameDtype(who, [x, bias]);
    if (bias.shape[0] !== g.outC) throw new Error(`${who}: argument 'bias' expected shape (${g.outC}), received ${formatShape(bias.shape)}`);
  }
  if (anyPlaceholder(bias ? [x, kernel, bias] : [x, kernel])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.conv2d(x.data, kernel.data, g, bias?.data), shape);
  const inputs = bias ? [x, kernel, bias] : [x, kernel];
  return record(y, 'conv2d', inputs, (dy) => [
    x.requiresGrad ? tensorOf(be.conv2dBackpropInput(dy.data, kernel.data, g), x.shape) : null,
    kernel.requiresGrad ? tensorOf(be.conv2dBackpropFilter(x.data, dy.data, g), kernel.shape) : null,
    ...(bias ? [bias.requiresGrad ? tensorOf(be.sumRows(dy.data, g.outC), bias.shape) : null] : []),
  ]);
}

/**
 * Depthwise convolution, kernel [kh, kw, c, m]: every input channel is convolved with its own m filters,
 *   y[b, i, j, c*m + q] = sum_{u, v} x[b, i*sh + u*dh - padTop, j*sw + v*dw - padLeft, c] * w[u, v, c, q]
 */
export function depthwiseConv2d(x: Tensor, kernel: Tensor, opts: ConvOptions = {}): Tensor {
  const g = convGeometry(x, kernel, opts, opts.who ?? 'depthwiseConv2d', true);
  const shape = [g.n, g.oh, g.ow, g.outC];
  if (anyPlaceholder([x, kernel])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.depthwiseConv2d(x.data, kernel.data, g), shape);
  return record(y, 'depthwiseConv2d', [x, kernel], (dy) => [
    x.requiresGrad ? tensorOf(be.depthwiseConv2dBackpropInput(dy.data, kernel.data, g), x.shape) : null,
    kernel.requiresGrad ? tensorOf(be.depthwiseConv2dBackpropFilter(x.data, dy.data, g), kernel.shape) : null,
  ]);
}
