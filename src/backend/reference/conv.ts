import type { Conv2DInfo } from '../geometry.js';
import { FloatArray, allocLike } from '../../tensor/tensor.js';
import { biasAdd } from './elementwise.js';
import { matmul } from './linalg.js';

/**
 * Convolution in plain TypeScript, the specification for every fast kernel.
 *
 *   y[b, oy, ox, co] = sum_{ky, kx, ci} x[b, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, ci] * w[ky, kx, ci, co]
 *
 * Every pass below visits the same (input pixel, kernel tap, output pixel) triples: the ones where the window
 * lies on real input (padding contributes nothing). `taps` lists them once; each pass is then one plain loop
 * over the list saying what it does with a triple. Ordinary convolution is lowered to a matrix product
 * (im2col), the textbook formulation; depthwise convolution is written directly.
 */
function taps(g: Conv2DInfo): Int32Array {
  const out: number[] = [];
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const yPixel = (b * g.oh + oy) * g.ow + ox;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            out.push((b * g.h + iy) * g.w + ix, ky * g.kw + kx, yPixel);
          }
        }
      }
    }
  }
  return Int32Array.from(out);
}

/**
 * im2col: the patch under every output pixel as one row, cols [n * oh * ow, kh * kw * c], zero where the patch
 * covers padding. Convolution is then a matrix product with the kernel viewed as [kh * kw * c, outC].
 */
export function im2col(x: FloatArray, g: Conv2DInfo): FloatArray {
  const { c } = g;
  const k = g.kh * g.kw * c;
  const cols = allocLike(x, g.n * g.oh * g.ow * k);
  const t = taps(g);
  for (let i = 0; i < t.length; i += 3) {
    const src = t[i] * c;
    const dst = t[i + 2] * k + t[i + 1] * c;
    for (let ci = 0; ci < c; ci++) cols[dst + ci] = x[src + ci];
  }
  return cols;
}

/** col2im, the adjoint of im2col: every patch row is added back onto the pixels it was read from. */
export function col2im(cols: FloatArray, g: Conv2DInfo): FloatArray {
  const { c } = g;
  const k = g.kh * g.kw * c;
  const x = allocLike(cols, g.n * g.h * g.w * c);
  const t = taps(g);
  for (let i = 0; i < t.length; i += 3) {
    const dst = t[i] * c;
    const src = t[i + 2] * k + t[i + 1] * c;
    for (let ci = 0; ci < c; ci++) x[dst + ci] += cols[src + ci];
  }
  return x;
}

/** y = im2col(x) W, with W the kernel as [kh * kw * c, outC]. */
export function conv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo, bias?: FloatArray | null): FloatArray {
  const rows = g.n * g.oh * g.ow;
  const y = matmul(im2col(x, g), w, rows, g.kh * g.kw * g.c, g.outC, false, false);
  return bias ? biasAdd(y, bias, g.outC) : y;
}

/** dx = col2im(dy W^T): each output gradient flows back through the kernel onto the patch it came from. */
export function conv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const rows = g.n * g.oh * g.ow;
  return col2im(matmul(dy, w, rows, g.outC, g.kh * g.kw * g.c, false, true), g);
}

/** dW = im2col(x)^T dy: each kernel tap correlates the input patches with the output gradient. */
export function conv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray {
  const rows = g.n * g.oh * g.ow;
  return matmul(im2col(x, g), dy, g.kh * g.kw * g.c, rows, g.outC, true, false);
}

/**
 * Depthwise convolution: each input channel ci has its own m = depthMultiplier filters, and output channel
 * ci * m + q is
 *   y[b, oy, ox, ci*m + q] = sum_{ky, kx} x[b, iy, ix, ci] * w[ky, kx, ci, q]
 * The kernel [kh, kw, c, m] read at tap * c * m + ci * m + q lines up with output channel ci * m + q.
 */
export function depthwiseConv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const { c, depthMultiplier: m, outC } = g;
  const y = allocLike(x, g.n * g.oh * g.ow * outC);
  const t = taps(g);
  for (let i = 0; i < t.length; i += 3) {
    const xOff = t[i] * c;
    const wOff = t[i + 1] * outC;
    const yOff = t[i + 2] * outC;
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      for (let q = 0; q < m; q++) y[yOff + ci * m + q] += xv * w[wOff + ci * m + q];
    }
  }
  return y;
}

/** dx[b, iy, ix, ci] = sum over taps and q of dy[b, oy, ox, ci*m + q] * w[ky, kx, ci, q]. */
export function depthwiseConv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const { c, depthMultiplier: m, outC } = g;
  const dx = allocLike(dy, g.n * g.h * g.w * c);
  const t = taps(g);
  for (let i = 0; i < t.length; i += 3) {
    const xOff = t[i] * c;
    const wOff = t[i + 1] * outC;
    const yOff = t[i + 2] * outC;
    for (let ci = 0; ci < c; ci++) {
      let s = 0;
      for (let q = 0; q < m; q++) s += dy[yOff + ci * m + q] * w[wOff + ci * m + q];
      dx[xOff + ci] += s;
    }
  }
  return dx;
}

/** dw[ky, kx, ci, q] = sum over batch and output pixels of x[b, iy, ix, ci] * dy[b, oy, ox, ci*m + q]. */
export function depthwiseConv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray {
  const { c, depthMultiplier: m, outC } = g;
  const dw = allocLike(x, g.kh * g.kw * outC);
  const t = taps(g);
  for (let i = 0; i < t.length; i += 3) {
    const xOff = t[i] * c;
    const wOff = t[i + 1] * outC;
    const yOff = t[i + 2] * outC;
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      for (let q = 0; q < m; q++) dw[wOff + ci * m + q] += xv * dy[yOff + ci * m + q];
    }
  }
  return dw;
}
