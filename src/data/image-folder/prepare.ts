/**
 * One image file to the bytes a dataset stores: decode (by content) to the colour mode's channel count, crop to
 * the target aspect ratio when asked (Keras smart_resize), resize, round to uint8. Runs in the decode workers
 * and, with `workers: 0`, on the main thread.
 *
 * Keras keeps the resized image as float32 (bilinear values are fractions); storing bytes rounds them half up,
 * at most 0.5/255 away. Nearest-neighbour values are bytes already.
 */
import { readFileSync } from 'node:fs';
import { ChannelCount, decodePixels } from '../../images/decode.js';
import { Interpolation, cropPixels, resizePixels, smartResizeBox } from '../../images/resize.js';

export interface PrepareSpec {
  height: number;
  width: number;
  channels: ChannelCount;
  interpolation: Interpolation;
  cropToAspectRatio: boolean;
  /** Larger images are refused before decoding (decompression bombs, corrupt headers). */
  maxPixels: number;
}

/** Bytes of one prepared image. */
export const preparedBytes = (spec: PrepareSpec): number => spec.height * spec.width * spec.channels;

export function prepareImage(bytes: Uint8Array, spec: PrepareSpec, source: string): Uint8Array {
  let img = decodePixels(bytes, spec.channels, source, spec.maxPixels) as { width: number; height: number; channels: number; data: Uint8Array | Float32Array };
  if (spec.cropToAspectRatio) img = cropPixels(img, smartResizeBox(img.height, img.width, spec.height, spec.width));
  img = resizePixels(img, spec.height, spec.width, spec.interpolation, source);
  if (img.data instanceof Uint8Array) return img.data.byteOffset === 0 && img.data.buffer.byteLength === img.data.length ? img.data : img.data.slice();
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Math.floor(src[i] + 0.5);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

export function readAndPrepare(path: string, spec: PrepareSpec): Uint8Array {
  return prepareImage(readFileSync(path), spec, `image '${path}'`);
}
