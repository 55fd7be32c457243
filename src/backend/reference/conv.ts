import type { Conv2DInfo } from '../geometry.js';
import { FloatArray, allocLike } from '../../tensor/tensor.js';

/**
 * Convolution in plain loops, the specification for every fast kernel.
 *
 *   y[b, oy, ox, co] = sum_{ky, kx, ci} x[b, oy*sh - padTop + ky*dh, ox*sw - padLeft + kx*dw, ci] * w[ky, kx, ci, co]
 *
 * The forward pass and both backward passes visit the same (output pixel, tap) pairs; `forEachTap` is that
 * visit, and each pass says what it does with one pair. The innermost loop runs over output channels, which
 * are contiguous in y and in w.
 */
function forEachTap(g: Conv2DInfo, visit: (xOff: number, wOff: number, yOff: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const yOff = ((b * g.oh + oy) * g.ow + ox) * g.outC;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue; // zero padding contributes nothing
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            visit(((b * g.h + iy) * g.w + ix) * g.c, (ky * g.kw + kx) * g.c * g.outC, yOff);
          }
        }
      }
    }
  }
}

export function conv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const y = allocLike(x, g.n * g.oh * g.ow * g.outC);
  const { c, outC } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      const wRow = wOff + ci * outC;
      for (let co = 0; co < outC; co++) y[yOff + co] += xv * w[wRow + co];
    }
  });
  return y;
}

/** dx[b, iy, ix, ci] = sum over the taps that read it of dy[b, oy, ox, co] * w[ky, kx, ci, co]. */
export function conv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const dx = allocLike(dy, g.n * g.h * g.w * g.c);
  const { c, outC } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      const wRow = wOff + ci * outC;
      let s = 0;
      for (let co = 0; co < outC; co++) s += dy[yOff + co] * w[wRow + co];
      dx[xOff + ci] += s;
    }
  });
  return dx;
}

/** dw[ky, kx, ci, co] = sum over batch and output pixels of x[b, iy, ix, ci] * dy[b, oy, ox, co]. */
export function conv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray {
  const dw = allocLike(x, g.kh * g.kw * g.c * g.outC);
  const { c, outC } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      const wRow = wOff + ci * outC;
      for (let co = 0; co < outC; co++) dw[wRow + co] += xv * dy[yOff + co];
    }
  });
  return dw;
}

/**
 * Depthwise convolution: each input channel ci has its own m = depthMultiplier filters, and output channel
 * ci * m + q is
 *   y[b, oy, ox, ci*m + q] = sum_{ky, kx} x[b, iy, ix, ci] * w[ky, kx, ci, q]
 * With outC = c * m, the kernel's flat index (ky*kw + kx) * outC + ci*m + q lines up with the output channel.
 */
export function depthwiseConv2d(x: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const y = allocLike(x, g.n * g.oh * g.ow * g.outC);
  const { c, depthMultiplier: m } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      for (let q = 0; q < m; q++) y[yOff + ci * m + q] += xv * w[wOff + ci * m + q];
    }
  });
  return y;
}

export function depthwiseConv2dBackpropInput(dy: FloatArray, w: FloatArray, g: Conv2DInfo): FloatArray {
  const dx = allocLike(dy, g.n * g.h * g.w * g.c);
  const { c, depthMultiplier: m } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      let s = 0;
      for (let q = 0; q < m; q++) s += dy[yOff + ci * m + q] * w[wOff + ci * m + q];
      dx[xOff + ci] += s;
    }
  });
  return dx;
}

export function depthwiseConv2dBackpropFilter(x: FloatArray, dy: FloatArray, g: Conv2DInfo): FloatArray {
  const dw = allocLike(x, g.kh * g.kw * g.outC);
  const { c, depthMultiplier: m } = g;
  forEachTap(g, (xOff, wOff, yOff) => {
    for (let ci = 0; ci < c; ci++) {
      const xv = x[xOff + ci];
      for (let q = 0; q < m; q++) dw[wOff + ci * m + q] += xv * dy[yOff + ci * m + q];
    }
  });
  return dw;
}
