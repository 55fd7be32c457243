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
