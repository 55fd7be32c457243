import type { RgbImage } from './decode.js';

/**
 * Resizing to a model's input size, for any number of interleaved channels ([height, width, channels]).
 *   nearest   PIL's NEAREST, the default of keras.utils.load_img(target_size=...), and tf.image.resize
 *             'nearest' (half-pixel centres): output pixel x takes source pixel floor((x + 0.5) * inWidth /
 *             outWidth); values stay bytes.
 *   bilinear  half-pixel centres, source coordinate (x + 0.5) * scale - 0.5 clamped to the image, the four
 *             neighbours weighted linearly, no antialiasing (tf.image.resize 'bilinear', antialias=False;
 *             OpenCV INTER_LINEAR). The scale and source coordinates are computed in float32 like TensorFlow's
 *             kernel (resize_bilinear_op.cc, compute_interpolation_weights), so the taps are the same.
 *             PIL's BILINEAR widens its filter when shrinking, so it differs on large reductions. Values become
 *             floats (not rounded).
 */
export type Interpolation = 'nearest' | 'bilinear';
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear'];

/** An image as interleaved samples: [height, width, channels] row-major. */
export interface PixelArray {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Float32Array;
}

export function resizeImage(img: RgbImage, height: number, width: number, interpolation: Interpolation = 'nearest'): RgbImage {
  const out = resizePixels({ ...img, channels: 3 }, height, width, interpolation, 'resizeImage');
  return out.height === img.height && out.width === img.width ? img : { width: out.width, height: out.height, data: out.data };
}

/** Resizes an image of any channel count; returns the input itself when the size already matches. */
export function resizePixels(img: PixelArray, height: number, width: number, interpolation: Interpolation = 'nearest', who = 'resizePixels'): PixelArray {
  for (const [arg, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${who}: argument '${arg}' expected a positive integer, received ${v}`);
  }
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new Error(`${who}: argument 'interpolation' expected one of ${INTERPOLATIONS.map((i) => `'${i}'`).join(', ')}, received '${String(interpolation)}'`);
  }
  if (img.height === height && img.width === width) return img;
  return interpolation === 'nearest' ? nearest(img, height, width) : bilinear(img, height, width);
}

function nearest(img: PixelArray, oh: number, ow: number): PixelArray {
  const { width: iw, height: ih, channels: c, data } = img;
  const out = data instanceof Uint8Array ? new Uint8Array(oh * ow * c) : new Float32Array(oh * ow * c);
  const sy = ih / oh;
  const sx = iw / ow;
  for (let y = 0; y < oh; y++) {
    const yi = Math.min(ih - 1, Math.floor((y + 0.5) * sy));
    for (let x = 0; x < ow; x++) {
      const xi = Math.min(iw - 1, Math.floor((x + 0.5) * sx));
      const src = (yi * iw + xi) * c;
      const dst = (y * ow + x) * c;
      for (let k = 0; k < c; k++) out[dst + k] = data[src + k];
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

/** One axis of bilinear sampling: for each output index, the two source indices and the weight of the second. */
function taps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const f = Math.fround;
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = f(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const s = Math.min(inSize - 1, Math.max(0, f(f(f(o + 0.5) * scale) - 0.5)));
    lo[o] = Math.floor(s);
    hi[o] = Math.min(inSize - 1, lo[o] + 1);
    t[o] = s - lo[o];
  }
  return { lo, hi, t };
}

function bilinear(img: PixelArray, oh: number, ow: number): PixelArray {
  const { width: iw, channels: c, data } = img;
  const ys = taps(img.height, oh);
  const xs = taps(iw, ow);
  const out = new Float32Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const r0 = ys.lo[y] * iw;
    const r1 = ys.hi[y] * iw;
    const ty = ys.t[y];
    for (let x = 0; x < ow; x++) {
      const tx = xs.t[x];
      const a = (r0 + xs.lo[x]) * c;
      const b = (r0 + xs.hi[x]) * c;
      const cc = (r1 + xs.lo[x]) * c;
      const d = (r1 + xs.hi[x]) * c;
      const dst = (y * ow + x) * c;
      for (let k = 0; k < c; k++) {
        const top = data[a + k] + (data[b + k] - data[a + k]) * tx;
        const bottom = data[cc + k] + (data[d + k] - data[cc + k]) * tx;
        out[dst + k] = top + (bottom - top) * ty;
      }
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

/** A rectangle of an image, rows [top, top + height), columns [left, left + width). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Keras smart_resize's crop (keras/src/utils/image_utils.py, smart_resize, the tensor-shape branch used inside
 * tf.data): the largest centred window with the target's aspect ratio,
 *   cropH = int(float32(w * th) / tw), cropW = int(float32(h * tw) / th), each clamped to [1, dim],
 *   top = int(float32(h - cropH) / 2), left = int(float32(w - cropW) / 2),
 * int() truncating towards zero as a cast to int32 does.
 */
export function smartResizeBox(height: number, width: number, targetHeight: number, targetWidth: number): CropBox {
  const f = Math.fround;
  const cropH = Math.max(1, Math.min(height, Math.trunc(f(f(width * targetHeight) / targetWidth))));
  const cropW = Math.max(1, Math.min(width, Math.trunc(f(f(height * targetWidth) / targetHeight))));
  return { top: Math.trunc(f(height - cropH) / 2), left: Math.trunc(f(width - cropW) / 2), height: cropH, width: cropW };
}

/** Copies a rectangle out of an image (the same typed-array kind as the input). */
export function cropPixels(img: PixelArray, box: CropBox): PixelArray {
  const { top, left, height, width } = box;
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > img.height || left + width > img.width) {
    throw new Error(`cropPixels: box ${JSON.stringify(box)} must lie inside the ${img.height}x${img.width} image`);
  }
  if (top === 0 && left === 0 && height === img.height && width === img.width) return img;
  const c = img.channels;
  const out = img.data instanceof Uint8Array ? new Uint8Array(height * width * c) : new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * img.width + left) * c;
    out.set(img.data.subarray(src, src + width * c), y * width * c);
  }
  return { width, height, channels: c, data: out };
}
