import { record } from '../autograd/tape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { reshapeView } from './linalg.js';
import { anyPlaceholder, assertRank, assertSameDtype, backendFor, rowsAndChannels, tensorOf } from './util.js';

export { reshapeView as reshape };

/** [n, ...] -> [n, prod(...)]. */
export function flatten(x: Tensor, who = 'flatten'): Tensor {
  if (x.rank < 1) throw new Error(`${who}: argument 'input' expected rank >= 1, received a scalar`);
  return reshapeView(x, [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)], who);
}

/** Concatenation along the last (channel) axis; every other axis must agree. Backward splits dy. */
export function concat(xs: readonly Tensor[], who = 'concat'): Tensor {
  if (xs.length === 0) throw new Error(`${who}: expected at least one input, received none`);
  assertSameDtype(who, xs);
  const lead = xs[0].shape.slice(0, -1);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.slice(0, -1).some((d, i) => d !== lead[i])) {
      throw new Error(`${who}: expected inputs that agree on every axis but the last, received ${xs.map((s) => formatShape(s.shape)).join(', ')}`);
    }
  }
  const widths = xs.map((t) => t.shape[t.rank - 1]);
  const shape = [...lead, widths.reduce((a, b) => a + b, 0)];
  if (anyPlaceholder(xs)) return Tensor.placeholder(shape, xs[0].dtype);
  const be = backendFor(xs[0]);
  const [rows] = rowsAndChannels(xs[0]);
  const y = tensorOf(be.concatLastAxis(xs.map((t) => t.data), widths, rows), shape);
  return record(y, 'concat', xs, (dy) => be.splitLastAxis(dy.data, widths, rows).map((d, i) => tensorOf(d, xs[i].shape)));
}

/** Zero padding of NHWC images: [[top, bottom], [left, right]]. Backward crops. */
export function zeroPad2d(x: Tensor, padding: readonly [readonly [number, number], readonly [number, number]], who = 'zeroPad2d'): Tensor {
  assertRank(who, 'input', x, 4, '[batch, height, width, channels]');
  const [[top, bottom], [left, right]] = padding;
  for (const p of [top, bottom, left, right]) {
    if (!Number.isInteger(p) || p < 0) throw new Error(`${who}: argument 'padding' expected non-negative integers, received ${JSON.stringify(padding)}`);
  }
  const [n, h, w, c] = x.shape;
  const shape = [n, h + top + bottom, w + left + right, c];
  if (anyPlaceholder([x])) return Tensor.placeholder(shape, x.dtype);
  const be = backendFor(x);
  const y = tensorOf(be.pad2d(x.data, n, h, w, c, top, bottom, left, right), shape);
  return record(y, 'zeroPad2d', [x], (dy) => [tensorOf(be.crop2d(dy.data, n, shape[1], shape[2], c, top, bottom, left, right), x.shape)]);
}
