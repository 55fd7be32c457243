import type { RgbImage } from './decode.js';

/**
 * Resizing to a model's input size.
 *   nearest   PIL's NEAREST, the default of keras.utils.load_img(target_size=...): output pixel x takes
 *             source pixel floor((x + 0.5) * inWidth / outWidth); values stay bytes.
 *   bilinear  half-pixel centres, source coordinate (x + 0.5) * scale - 0.5 clamped to the image, the four
 *             neighbours weighted linearly, no antialiasing (tf.image.resize 'bilinear', antialias=False;
 *             OpenCV INTER_LINEAR). PIL's BILINEAR widens its filter when shrinking, so it differs on
 *             large reductions. Values become floats (not rounded).
 */
export type Interpolation = 'nearest' | 'bilinear';
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear'];

export function resizeImage(img: RgbImage, height: number, width: number, interpolation: Interpolation = 'nearest'): RgbImage {
  for (const [arg, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`resizeImage: argument '${arg}' expected a positive integer, received ${v}`);
  }
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new Error(`resizeImage: argument 'interpolation' expected one of ${INTERPOLATIONS.map((i) => `'${i}'`).join(', ')}, received '${String(interpolation)}'`);
  }
  if (img.height === height && img.width === width) return img;
  return interpolation === 'nearest' ? nearest(img, height, width) : bilinear(img, height, width);
}

function nearest(img: RgbImage, oh: number, ow: number): RgbImage {
  const { width: iw, height: ih, data } = img;
  const out = data instanceof Uint8Array ? new Uint8Array(oh * ow * 3) : new Float32Array(oh * ow * 3);
  const sy = ih / oh;
  const sx = iw / ow;
  for (let y = 0; y < oh; y++) {
    const yi = Math.min(ih - 1, Math.floor((y + 0.5) * sy));
    for (let x = 0; x < ow; x++) {
      const xi = Math.min(iw - 1, Math.floor((x + 0.5) * sx));
      const src = (yi * iw + xi) * 3;
      const dst = (y * ow + x) * 3;
      out[dst] = data[src];
      out[dst + 1] = data[src + 1];
      out[dst + 2] = data[src + 2];
    }
  }
  return { width: ow, height: oh, data: out };
}

/** One axis of bilinear sampling: for each output index, the two source indices and the weight of the second. */
function taps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const s = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
    lo[o] = Math.floor(s);
    hi[o] = Math.min(inSize - 1, lo[o] + 1);
    t[o] = s - lo[o];
  }
  return { lo, hi, t };
}

function bilinear(img: RgbImage, oh: number, ow: number): RgbImage {
  const { width: iw, data } = img;
  const ys = taps(img.height, oh);
  const xs = taps(iw, ow);
  const out = new Float32Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    const r0 = ys.lo[y] * iw;
    const r1 = ys.hi[y] * iw;
    const ty = ys.t[y];
    for (let x = 0; x < ow; x++) {
      const tx = xs.t[x];
      const a = (r0 + xs.lo[x]) * 3;
      const b = (r0 + xs.hi[x]) * 3;
      const c = (r1 + xs.lo[x]) * 3;
      const d = (r1 + xs.hi[x]) * 3;
      const dst = (y * ow + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = data[a + k] + (data[b + k] - data[a + k]) * tx;
        const bottom = data[c + k] + (data[d + k] - data[c + k]) * tx;
        out[dst + k] = top + (bottom - top) * ty;
      }
    }
  }
  return { width: ow, height: oh, data: out };
}
