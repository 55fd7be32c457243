import type { Pool2DInfo } from '../geometry.js';
import { FloatArray, allocLike } from '../../tensor/tensor.js';

/**
 * Pooling windows over NHWC. Padded positions are skipped, not zero: a padded position never wins a max,
 * and an average divides by the number of real positions in the window (TensorFlow's rule for `same`).
 */
function forEachWindow(g: Pool2DInfo, visit: (yOff: number, taps: number[]) => void): void {
  const taps: number[] = [];
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        taps.length = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx;
            if (ix < 0 || ix >= g.w) continue;
            taps.push(((b * g.h + iy) * g.w + ix) * g.c);
          }
        }
        visit(((b * g.oh + oy) * g.ow + ox) * g.c, taps);
      }
    }
  }
}

export function maxPool(x: FloatArray, g: Pool2DInfo): FloatArray {
  const y = allocLike(x, g.n * g.oh * g.ow * g.c);
  forEachWindow(g, (yOff, taps) => {
    for (let ci = 0; ci < g.c; ci++) {
      let best = -Infinity;
      for (const t of taps) if (x[t + ci] > best) best = x[t + ci];
      y[yOff + ci] = best;
    }
  });
  return y;
}

/** The gradient goes to the first maximal position of each window, as TensorFlow's MaxPoolGrad does. */
export function maxPoolBackward(x: FloatArray, dy: FloatArray, g: Pool2DInfo): FloatArray {
  const dx = allocLike(x, x.length);
  forEachWindow(g, (yOff, taps) => {
    for (let ci = 0; ci < g.c; ci++) {
      let best = -Infinity;
      let arg = -1;
      for (const t of taps) {
        if (x[t + ci] > best) {
          best = x[t + ci];
          arg = t + ci;
        }
      }
      if (arg >= 0) dx[arg] += dy[yOff + ci];
    }
  });
  return dx;
}

export function avgPool(x: FloatArray, g: Pool2DInfo): FloatArray {
  const y = allocLike(x, g.n * g.oh * g.ow * g.c);
  forEachWindow(g, (yOff, taps) => {
    for (let ci = 0; ci < g.c; ci++) {
      let s = 0;
      for (const t of taps) s += x[t + ci];
      y[yOff + ci] = s / taps.length;
    }
  });
  return y;
}

export function avgPoolBackward(dy: FloatArray, g: Pool2DInfo): FloatArray {
  const dx = allocLike(dy, g.n * g.h * g.w * g.c);
  forEachWindow(g, (yOff, taps) => {
    for (let ci = 0; ci < g.c; ci++) {
      const share = dy[yOff + ci] / taps.length;
      for (const t of taps) dx[t + ci] += share;
    }
  });
  return dx;
}

export function globalAvgPool(x: FloatArray, n: number, hw: number, c: number): FloatArray {
  const y = allocLike(x, n * c);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const off = (b * hw + p) * c;
      for (let ci = 0; ci < c; ci++) y[b * c + ci] += x[off + ci];
    }
    for (let ci = 0; ci < c; ci++) y[b * c + ci] /= hw;
  }
  return y;
}

export function globalAvgPoolBackward(dy: FloatArray, n: number, hw: number, c: number): FloatArray {
  const dx = allocLike(dy, n * hw * c);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const off = (b * hw + p) * c;
      for (let ci = 0; ci < c; ci++) dx[off + ci] = dy[b * c + ci] / hw;
    }
  }
  return dx;
}

export function globalMaxPool(x: FloatArray, n: number, hw: number, c: number): FloatArray {
  const y = allocLike(x, n * c).fill(-Infinity);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const off = (b * hw + p) * c;
      for (let ci = 0; ci < c; ci++) if (x[off + ci] > y[b * c + ci]) y[b * c + ci] = x[off + ci];
    }
  }
  return y;
}

export function globalMaxPoolBackward(x: FloatArray, dy: FloatArray, n: number, hw: number, c: number): FloatArray {
  const dx = allocLike(x, x.length);
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < c; ci++) {
      let best = -Infinity;
      let arg = -1;
      for (let p = 0; p < hw; p++) {
        const v = x[(b * hw + p) * c + ci];
        if (v > best) {
          best = v;
          arg = (b * hw + p) * c + ci;
        }
      }
      if (arg >= 0) dx[arg] += dy[b * c + ci];
    }
  }
  return dx;
}
