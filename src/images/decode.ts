import { existsSync, readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';

/**
 * Image files to pixels: JPEG with jpeg-js, PNG with pngjs (both pure JavaScript, no native code). The format
 * is told by the file's signature, not its name. Like keras.utils.load_img (PIL `convert('RGB')`), the result
 * is 8-bit RGB: grey is replicated, a palette expanded, 16-bit samples scaled to 8 bits, alpha dropped (not
 * blended), and EXIF orientation ignored.
 */
export interface RgbImage {
  width: number;
  height: number;
  /** [height, width, 3] row-major RGB in 0..255 (bytes after decoding; floats after bilinear resizing). */
  data: Uint8Array | Float32Array;
}

export type ImageFormat = 'jpeg' | 'png';

/** The format of encoded bytes, from their signature; null when neither JPEG nor PNG. */
export function imageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  return null;
}

/** Decodes JPEG or PNG bytes; `source` names the input in errors (a path, usually). */
export function decodeImage(bytes: Uint8Array, source = 'image'): RgbImage {
  const format = imageFormat(bytes);
  if (!format) throw new Error(`${source}: expected a JPEG or PNG image, received ${bytes.length} bytes starting ${hex(bytes.subarray(0, 8))}`);
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (format === 'jpeg') {
      // Limits well above any photo, below what would exhaust memory on a hostile file.
      rgba = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 200, maxMemoryUsageInMB: 1024 });
    } else {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      rgba = { width: png.width, height: png.height, data: png.data };
    }
  } catch (e) {
    throw new Error(`${source}: cannot decode ${format === 'jpeg' ? 'JPEG' : 'PNG'} (${(e as Error).message})`);
  }
  const { width, height } = rgba;
  if (!(width > 0 && height > 0)) throw new Error(`${source}: image has no pixels (${width}x${height})`);
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba.data[i * 4];
    rgb[i * 3 + 1] = rgba.data[i * 4 + 1];
    rgb[i * 3 + 2] = rgba.data[i * 4 + 2];
  }
  return { width, height, data: rgb };
}

/** Reads and decodes an image file. */
export function readImage(path: string): RgbImage {
  if (!existsSync(path)) throw new Error(`image '${path}': no such file`);
  return decodeImage(readFileSync(path), `image '${path}'`);
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/**
 * Images with 1, 3 or 4 channels, for colour modes 'grayscale', 'rgb' and 'rgba', converted the way
 * tf.image.decode_image(channels=...) converts them (the decoder behind keras image_dataset_from_directory):
 *   grey -> RGB      replicated;                      RGB -> grey  luma (see below);
 *   no alpha -> RGBA alpha 255;                       alpha -> RGB or grey: dropped, not blended;
 *   palette          expanded (its tRNS gives alpha);  1/2/4-bit grey: scaled to 0..255 (v * 255 / (2^d - 1));
 *   16-bit PNG       the high byte (v >> 8, libpng's png_set_strip_16, what TensorFlow's png_io asks for).
 * Luma: JPEG uses libjpeg's Y = (19595 R + 38470 G + 7471 B + 32768) >> 16 (jccolor.c, ITU-R BT.601), what
 * libjpeg hands out for JCS_GRAYSCALE; PNG uses libpng's rgb_to_gray(0.299, 0.587), coefficients 9797, 19234,
 * 3737 (/32768), truncated (pngrtran.c). Known differences from TensorFlow: jpeg-js's IDCT and upsampling may
 * differ from libjpeg's by a level or two; pngjs zeroes the colour of pixels matched by a truecolour/grey tRNS.
 */
export type ChannelCount = 1 | 3 | 4;

export interface Pixels {
  width: number;
  height: number;
  channels: ChannelCount;
  /** [height, width, channels] bytes. */
  data: Uint8Array;
}

/** PIL's Image.MAX_IMAGE_PIXELS, its decompression-bomb guard (a quarter GiB of RGB). */
export const MAX_IMAGE_PIXELS = 89_478_485;

export type SniffedFormat = ImageFormat | 'gif' | 'bmp' | 'webp' | 'tiff';

/** Recognises JPEG and PNG, plus the formats we cannot decode (so errors can say which one a file is). */
export function sniffFormat(b: Uint8Array): SniffedFormat | null {
  const f = imageFormat(b);
  if (f) return f;
  const ascii = (o: number, s: string): boolean => b.length >= o + s.length && [...s].every((ch, i) => b[o + i] === ch.charCodeAt(0));
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'BM') && b.length >= 26) return 'bmp';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'tiff';
  return null;
}

/** Width and height from a JPEG's SOF segment or a PNG's IHDR, without decoding; null when not found. */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | null {
  const format = imageFormat(b);
  const be16 = (o: number): number => (b[o] << 8) | b[o + 1];
  if (format === 'png') {
    if (b.length < 24) return null;
    const be32 = (o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    return { width: be32(16), height: be32(20) };
  }
  if (format !== 'jpeg') return null;
  let i = 2;
  while (i + 9 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): P, Y, X follow the length.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: be16(i + 5), width: be16(i + 7) };
    }
    if (marker === 0xda) return null; // scan data before any frame header
    i += marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) ? 2 : 2 + be16(i + 2);
  }
  return null;
}

/** Decodes JPEG or PNG bytes to `channels` channels (see above); `source` names the input in errors. */
export function decodePixels(bytes: Uint8Array, channels: ChannelCount, source = 'image', maxPixels = MAX_IMAGE_PIXELS): Pixels {
  const format = sniffFormat(bytes);
  if (format !== 'jpeg' && format !== 'png') {
    const what = format ? `a ${format.toUpperCase()} image, which convkit cannot decode (JPEG and PNG only)` : `${bytes.length} bytes starting ${hex(bytes.subarray(0, 8))}`;
    throw new Error(`${source}: expected a JPEG or PNG image, received ${what}`);
  }
  const dims = imageDimensions(bytes);
  if (dims === null) throw new Error(`${source}: ${format.toUpperCase()} header is truncated or corrupt (no image size found)`);
  if (!(dims.width > 0 && dims.height > 0)) throw new Error(`${source}: image has no pixels (${dims.width}x${dims.height})`);
  if (dims.width * dims.height > maxPixels) {
    throw new Error(`${source}: ${dims.width}x${dims.height} = ${dims.width * dims.height} pixels exceeds the limit of ${maxPixels} (maxPixels; a decompression bomb or a corrupt header?)`);
  }
  const least = leastEncodedBytes(format, bytes, dims.width, dims.height);
  if (bytes.length < least) {
    throw new Error(
      `${source}: its header claims ${dims.width}x${dims.height} pixels, which a ${format.toUpperCase()} of ${bytes.length} bytes cannot hold ` +
        `(at least ${least} bytes); the header is corrupt`,
    );
  }
  try {
    return format === 'jpeg' ? jpegPixels(bytes, channels, maxPixels) : pngPixels(bytes, channels);
  } catch (e) {
    throw new Error(`${source}: cannot decode ${format === 'jpeg' ? 'JPEG' : 'PNG'} (${(e as Error).message})`);
  }
}

/**
 * The fewest bytes an image of this size can be encoded in, so a corrupt or hostile header cannot make the
 * decoder allocate for pixels the file cannot contain (jpeg-js allocates its coefficient planes, pngjs its
 * output, from the header before reading any data; a 500-byte JPEG claiming 9000x9000 made jpeg-js take 2.3 GB).
 *   JPEG  Huffman-coded scans spend at least 1 bit on every 8x8 block's DC value. The component with the largest
 *         horizontal sampling factor has w/8 block columns and (vertical factors being 1..4) at least h/32 block
 *         rows, so there are at least w * h / 256 blocks: the file holds at least w * h / 2048 bytes.
 *         (Arithmetic-coded JPEGs could do better, but jpeg-js does not decode them.)
 *   PNG   deflate expands at most 1032:1 (RFC 1951), and the image data is at least h * ceil(w * bits / 8) bytes.
 */
function leastEncodedBytes(format: ImageFormat, bytes: Uint8Array, width: number, height: number): number {
  if (format === 'jpeg') return Math.floor((Math.ceil(width / 16) * Math.ceil(height / 16)) / 8);
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[bytes[25]] ?? 1;
  const bits = samples * (bytes[24] || 1);
  return Math.floor((height * Math.ceil((width * bits) / 8)) / 1032);
}

function jpegPixels(bytes: Uint8Array, channels: ChannelCount, maxPixels: number): Pixels {
  const img = jpeg.decode(bytes, {
    useTArray: true, formatAsRGBA: false, tolerantDecoding: false,
    maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 16) / 2 ** 20)),
  });
  const { width, height } = img;
  const n = width * height;
  const rgb = img.data;
  if (rgb.length !== n * 3) throw new Error(`decoder returned ${rgb.length} bytes for ${width}x${height} RGB`);
  if (channels === 3) return { width, height, channels, data: rgb };
  const out = new Uint8Array(n * channels);
  if (channels === 4) {
    for (let i = 0; i < n; i++) {
      out[i * 4] = rgb[i * 3];
      out[i * 4 + 1] = rgb[i * 3 + 1];
      out[i * 4 + 2] = rgb[i * 3 + 2];
      out[i * 4 + 3] = 255;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = (19595 * rgb[i * 3] + 38470 * rgb[i * 3 + 1] + 7471 * rgb[i * 3 + 2] + 32768) >>> 16;
  }
  return { width, height, channels, data: out };
}

function pngPixels(bytes: Uint8Array, channels: ChannelCount): Pixels {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const depth = bytes[24];
  const colorType = bytes[25];
  // 16-bit samples are read unscaled and their high byte kept; lower depths are scaled by pngjs (exactly as
  // libpng expands 1/2/4-bit grey; palette indices are not scaled).
  const png = pngjs.PNG.sync.read(buf, { skipRescale: depth === 16 });
  const { width, height } = png;
  const n = width * height;
  const src = png.data as unknown as Uint8Array | Uint16Array;
  if (src.length !== n * 4) throw new Error(`decoder returned ${src.length} samples for ${width}x${height} RGBA`);
  const shift = src instanceof Uint16Array ? 8 : 0;
  const out = new Uint8Array(n * channels);
  const grey = colorType === 0 || colorType === 4;
  for (let i = 0; i < n; i++) {
    const r = src[i * 4] >>> shift;
    if (channels === 1) {
      out[i] = grey ? r : (9797 * r + 19234 * (src[i * 4 + 1] >>> shift) + 3737 * (src[i * 4 + 2] >>> shift)) >>> 15;
      continue;
    }
    const o = i * channels;
    out[o] = r;
    out[o + 1] = src[i * 4 + 1] >>> shift;
    out[o + 2] = src[i * 4 + 2] >>> shift;
    if (channels === 4) out[o + 3] = src[i * 4 + 3] >>> shift;
  }
  return { width, height, channels, data: out };
}
