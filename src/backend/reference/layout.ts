import { FloatArray, allocLike } from '../../tensor/tensor.js';

export function concatLastAxis(parts: FloatArray[], widths: number[], rows: number): FloatArray {
  const total = widths.reduce((a, b) => a + b, 0);
  const y = allocLike(parts[0], rows * total);
  let col = 0;
  parts.forEach((p, k) => {
    const wk = widths[k];
    for (let r = 0; r < rows; r++) y.set(p.subarray(r * wk, (r + 1) * wk), r * total + col);
    col += wk;
  });
  return y;
}

export function splitLastAxis(x: FloatArray, widths: number[], rows: number): FloatArray[] {
  const total = widths.reduce((a, b) => a + b, 0);
  let col = 0;
  return widths.map((wk) => {
    const p = allocLike(x, rows * wk);
    for (let r = 0; r < rows; r++) p.set(x.subarray(r * total + col, r * total + col + wk), r * wk);
    col += wk;
    return p;
  });
}

export function pad2d(x: FloatArray, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): FloatArray {
  const oh = h + top + bottom;
  const ow = w + left + right;
  const y = allocLike(x, n * oh * ow * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const src = ((b * h + i) * w) * c;
      y.set(x.subarray(src, src + w * c), ((b * oh + i + top) * ow + left) * c);
    }
  }
  return y;
}

/** Rows of src by index into dst (Backend.gatherRows); every index is checked before any row is copied. */
export function gatherRows(src: FloatArray, rowLength: number, indices: ArrayLike<number>, dst: FloatArray): void {
  const rows = Math.floor(src.length / rowLength);
  if (dst.length < indices.length * rowLength) throw new Error(`gatherRows: argument 'dst' expected at least ${indices.length * rowLength} values (${indices.length} rows of ${rowLength}), received ${dst.length}`);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!(Number.isInteger(r) && r >= 0 && r < rows)) throw new Error(`gatherRows: argument 'indices' expected row numbers in [0, ${rows}), received ${r} at position ${i}`);
  }
  for (let i = 0; i < indices.length; i++) dst.set(src.subarray(indices[i] * rowLength, (indices[i] + 1) * rowLength), i * rowLength);
}

/** Removes the border that pad2d added; (h, w) are the padded sizes. */
export function crop2d(x: FloatArray, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): FloatArray {
  const oh = h - top - bottom;
  const ow = w - left - right;
  const y = allocLike(x, n * oh * ow * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const src = ((b * h + i + top) * w + left) * c;
      y.set(x.subarray(src, src + ow * c), ((b * oh + i) * ow) * c);
    }
  }
  return y;
}
