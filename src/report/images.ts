/**
 * Small PNG pictures for the report, as data: URIs (the page must load nothing): a convolution's filters,
 * a feature map's channels, an input image. The PNGs are tiny (one pixel per value); the page enlarges them
 * with `image-rendering: pixelated`, so every pixel is a value.
 */
import { PNG } from 'pngjs';
import type { Tensor } from '../tensor/tensor.js';

/** RGBA bytes (w * h * 4) as a data: URI holding a PNG. */
export function pngDataUri(w: number, h: number, rgba: Uint8Array): string {
  const png = new PNG({ width: w, height: h });
  png.data.set(rgba);
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

const byte = (v: number): number => Math.max(0, Math.min(255, Math.round(v * 255)));

export interface Picture {
  uri: string;
  w: number;
  h: number;
  caption: string;
}

/**
 * Filters of a kernel [kh, kw, cin, cout] (Conv2D, HWIO) or [kh, kw, c, m] (depthwise). With 3 input channels
 * each filter is an RGB picture, else the mean over input channels in grey; each is scaled so that its
 * largest |weight| reaches black or white and 0 is mid grey, so the sign of a weight shows.
 */
export function filterPictures(kernel: Tensor, max = 64): Picture[] {
  const [kh, kw, cin, cout] = kernel.shape;
  const d = kernel.data;
  const at = (u: number, v: number, c: number, k: number): number => d[((u * kw + v) * cin + c) * cout + k];
  const out: Picture[] = [];
  for (let k = 0; k < Math.min(cout, max); k++) {
    let peak = 1e-12;
    for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) for (let c = 0; c < cin; c++) peak = Math.max(peak, Math.abs(at(u, v, c, k)));
    const rgba = new Uint8Array(kh * kw * 4);
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const p = (u * kw + v) * 4;
        if (cin === 3) {
          for (let c = 0; c < 3; c++) rgba[p + c] = byte(0.5 + (0.5 * at(u, v, c, k)) / peak);
        } else {
          let s = 0;
          for (let c = 0; c < cin; c++) s += at(u, v, c, k);
          rgba[p] = rgba[p + 1] = rgba[p + 2] = byte(0.5 + (0.5 * s) / cin / peak);
        }
        rgba[p + 3] = 255;
      }
    }
    out.push({ uri: pngDataUri(kw, kh, rgba), w: kw, h: kh, caption: `filter ${k}` });
  }
  return out;
}

/** Channels of the first image of a [n, h, w, c] tensor, each stretched from its own min (black) to max (white). */
export function featureMapPictures(t: Tensor, max = 32): Picture[] {
  const [, h, w, c] = t.shape;
  const out: Picture[] = [];
  for (let k = 0; k < Math.min(c, max); k++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < h * w; i++) {
      const v = t.data[i * c + k];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const span = hi - lo > 1e-12 ? hi - lo : 1;
    const rgba = new Uint8Array(h * w * 4);
    for (let i = 0; i < h * w; i++) {
      const g = byte((t.data[i * c + k] - lo) / span);
      rgba.set([g, g, g, 255], i * 4);
    }
    out.push({ uri: pngDataUri(w, h, rgba), w, h, caption: `channel ${k}${hi === lo ? ' (constant)' : ''}` });
  }
  return out;
}

/** An image [h, w, c] of bytes (a dataset sample) as a picture; one channel is grey. */
export function imagePicture(bytes: Uint8Array, h: number, w: number, c: number, caption: string): Picture {
  const rgba = new Uint8Array(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let j = 0; j < 3; j++) rgba[i * 4 + j] = bytes[i * c + (c === 3 ? j : 0)];
    rgba[i * 4 + 3] = 255;
  }
  return { uri: pngDataUri(w, h, rgba), w, h, caption };
}
