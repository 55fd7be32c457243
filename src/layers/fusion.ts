import { ConvBase } from './conv.js';
import { CallOptions, Layer } from './layer.js';
import { ZeroPadding2D } from './merge.js';
import { BatchNormalization, fusableClip } from './normalization.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Two consecutive layers run as one op, where the second reads nothing but the first's output (Sequential
 * and functional models ask for every such pair): BatchNormalization then a ReLU / ReLU6 (the clip in the
 * normalising pass), ZeroPadding2D then a 'valid' convolution (the pads as the convolution's own). Keras's
 * layers stay as they are (names, weights, summary); only the execution is shorter, with the same numbers.
 * Null when the pair does not fuse: the caller then applies both layers.
 */
export function applyFusedPair(first: Layer, next: Layer, x: Tensor, opts: CallOptions): Tensor | null {
  if (first instanceof BatchNormalization) {
    const clip = fusableClip(next);
    return clip ? first.applyActivated(x, clip, opts) : null;
  }
  if (first instanceof ZeroPadding2D && next instanceof ConvBase) return next.applyPadded(x, first.padding, opts);
  return null;
}
