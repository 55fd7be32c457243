/**
 * Second formulations of the engine's kernels, written for clarity and independence, in float64:
 * convolution by explicit zero padding and a direct sum, depthwise convolution as one ordinary convolution per
 * channel, pooling over explicitly padded windows, batch norm with a two-pass mean and variance.
 * Everything is NHWC; kernels HWIO.
 */

export interface Image {
  data: Float64Array;
  n: number;
  h: number;
  w: number;
  c: number;
}

export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export function image(data: ArrayLike<number>, shape: readonly number[]): Image {
  const [n, h, w, c] = shape;
  return { data: Float64Array.from(data), n, h, w, c };
}

const at = (img: Image, b: number, y: number, x: number, ch: number): number => img.data[((b * img.h + y) * img.w + x) * img.c + ch];

/**
 * TensorFlow's `same` rule, restated: out = ceil(in / s); the padding that makes the last window fit is split
 * with the odd pixel after (bottom/right).
 */
export function samePads1d(size: number, k: number, s: number, d = 1): [number, number] {
  const out = Math.ceil(size / s);
  const need = (out - 1) * s + (k - 1) * d + 1;
  const total = need > size ? need - size : 0;
  return [Math.floor(total / 2), Math.ceil(total / 2)];
}

export function resolvePads(h: number, w: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, padding: 'valid' | 'same' | Pads): Pads {
  if (padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (padding === 'same') {
    const [top, bottom] = samePads1d(h, kh, sh, dh);
    const [left, right] = samePads1d(w, kw, sw, dw);
    return { top, bottom, left, right };
  }
  return padding;
}

/** A new image with `fill` around it. */
export function padImage(img: Image, p: Pads, fill = 0): Image {
  const h = img.h + p.top + p.bottom;
  const w = img.w + p.left + p.right;
  const out: Image = { data: new Float64Array(img.n * h * w * img.c).fill(fill), n: img.n, h, w, c: img.c };
  for (let b = 0; b < img.n; b++)
    for (let y = 0; y < img.h; y++)
      for (let x = 0; x < img.w; x++)
        for (let ch = 0; ch < img.c; ch++) out.data[((b * h + y + p.top) * w + x + p.left) * img.c + ch] = at(img, b, y, x, ch);
  return out;
}

export interface ConvArgs {
  kernel: ArrayLike<number>;
  /** [kh, kw, cin, cout] */
  kernelShape: readonly number[];
  strides?: [number, number];
  dilation?: [number, number];
  padding: 'valid' | 'same' | Pads;
}

/** Ordinary convolution: pad with zeros, then sum over every window position. Returns the image and its shape. */
export function naiveConv2d(x: Image, a: ConvArgs): Image {
  const [kh, kw, cin, cout] = a.kernelShape;
  const [sh, sw] = a.strides ?? [1, 1];
  const [dh, dw] = a.dilation ?? [1, 1];
  if (cin !== x.c) throw new Error('naiveConv2d: channel mismatch');
  const p = padImage(x, resolvePads(x.h, x.w, kh, kw, sh, sw, dh, dw, a.padding));
  const spanH = (kh - 1) * dh + 1;
  const spanW = (kw - 1) * dw + 1;
  const oh = Math.floor((p.h - spanH) / sh) + 1;
  const ow = Math.floor((p.w - spanW) / sw) + 1;
  const out: Image = { data: new Float64Array(x.n * oh * ow * cout), n: x.n, h: oh, w: ow, c: cout };
  for (let b = 0; b < x.n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++)
              for (let ci = 0; ci < cin; ci++) s += at(p, b, i * sh + u * dh, j * sw + v * dw, ci) * a.kernel[((u * kw + v) * cin + ci) * cout + o];
          out.data[((b * oh + i) * ow + j) * cout + o] = s;
        }
  return out;
}

/** Depthwise convolution as c separate one-channel convolutions; output channel ci * m + q. */
export function naiveDepthwise(x: Image, a: ConvArgs): Image {
  const [kh, kw, c, m] = a.kernelShape;
  let out: Image | null = null;
  for (let ci = 0; ci < c; ci++) {
    const channel: Image = { data: new Float64Array(x.n * x.h * x.w), n: x.n, h: x.h, w: x.w, c: 1 };
    for (let i = 0; i < channel.data.length; i++) channel.data[i] = x.data[i * c + ci];
    const k = new Float64Array(kh * kw * m);
    for (let t = 0; t < kh * kw; t++) for (let q = 0; q < m; q++) k[t * m + q] = a.kernel[(t * c + ci) * m + q];
    const y = naiveConv2d(channel, { ...a, kernel: k, kernelShape: [kh, kw, 1, m] });
    out ??= { data: new Float64Array(y.n * y.h * y.w * c * m), n: y.n, h: y.h, w: y.w, c: c * m };
    for (let pix = 0; pix < y.n * y.h * y.w; pix++) for (let q = 0; q < m; q++) out.data[pix * c * m + ci * m + q] = y.data[pix * m + q];
  }
  return out as Image;
}

/**
 * Pooling over explicitly padded windows. Padding cells hold NaN and are skipped: they never win a max, and an
 * average divides by the number of real cells (TensorFlow).
 */
export function naivePool(x: Image, kind: 'max' | 'avg', k: [number, number], s: [number, number], padding: 'valid' | 'same'): Image {
  const p = padImage(x, resolvePads(x.h, x.w, k[0], k[1], s[0], s[1], 1, 1, padding), NaN);
  const oh = Math.floor((p.h - k[0]) / s[0]) + 1;
  const ow = Math.floor((p.w - k[1]) / s[1]) + 1;
  const out: Image = { data: new Float64Array(x.n * oh * ow * x.c), n: x.n, h: oh, w: ow, c: x.c };
  for (let b = 0; b < x.n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < x.c; ch++) {
          const vals: number[] = [];
          for (let u = 0; u < k[0]; u++)
            for (let v = 0; v < k[1]; v++) {
              const val = at(p, b, i * s[0] + u, j * s[1] + v, ch);
              if (!Number.isNaN(val)) vals.push(val);
            }
          out.data[((b * oh + i) * ow + j) * x.c + ch] = kind === 'max' ? Math.max(...vals) : vals.reduce((q, r) => q + r, 0) / vals.length;
        }
  return out;
}

/** Two-pass batch statistics per channel over rows [rows, c]: mean, then the biased variance around it. */
export function naiveMoments(x: ArrayLike<number>, c: number): { mean: Float64Array; variance: Float64Array } {
  const rows = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * c + ch];
    mean[ch] = s / rows;
    let v = 0;
    for (let r = 0; r < rows; r++) v += (x[r * c + ch] - mean[ch]) ** 2;
    variance[ch] = v / rows;
  }
  return { mean, variance };
}

/** gamma * (x - mean) / sqrt(variance + eps) + beta per channel. */
export function naiveNormalize(x: ArrayLike<number>, c: number, mean: ArrayLike<number>, variance: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    y[i] = (gamma[ch] * (x[i] - mean[ch])) / Math.sqrt(variance[ch] + eps) + beta[ch];
  }
  return y;
}
