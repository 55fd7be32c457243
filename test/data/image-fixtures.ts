/**
 * Encoders for image fixtures written by the tests themselves: a PNG writer for every colour type and bit
 * depth (pngjs cannot write palette or low-bit images), and a progressive JPEG writer (jpeg-js only writes
 * baseline). Both are minimal but follow the specifications (PNG: ISO/IEC 15948; JPEG: ITU T.81 Annex G).
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples row-major, samplesPerPixel per pixel (palette: one index), each < 2^bitDepth. */
  samples: ArrayLike<number>;
  /** RGB triples for colour type 3. */
  palette?: number[][];
  /** tRNS chunk bytes (palette alphas). */
  trns?: number[];
}

const SAMPLES_PER_PIXEL = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** A non-interlaced PNG with filter type 0 on every row. */
export function encodePng(spec: PngSpec): Buffer {
  const { width, height, colorType, bitDepth, samples } = spec;
  const spp = SAMPLES_PER_PIXEL[colorType];
  const rowBytes = Math.ceil((width * spp * bitDepth) / 8);
  const raw = Buffer.alloc((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (rowBytes + 1) + 1;
    for (let i = 0; i < width * spp; i++) {
      const v = samples[y * width * spp + i];
      if (bitDepth === 16) raw.writeUInt16BE(v, row + i * 2);
      else if (bitDepth === 8) raw[row + i] = v;
      else {
        const bit = i * bitDepth;
        raw[row + (bit >> 3)] |= v << (8 - bitDepth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, colorType, 0, 0, 0], 8);
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (spec.palette) parts.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.trns) parts.push(chunk('tRNS', Uint8Array.from(spec.trns)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }
  finish(): number[] {
    while (this.n !== 0) this.put(1, 1); // pad with ones
    return this.bytes;
  }
}

/** Magnitude category and the extra bits of a DC difference or AC coefficient (T.81 F.1.2.1). */
function category(v: number): { size: number; bits: number } {
  const a = Math.abs(v);
  const size = a === 0 ? 0 : Math.floor(Math.log2(a)) + 1;
  return { size, bits: v >= 0 ? v : v + (1 << size) - 1 };
}

/** A Huffman table where every used symbol gets a code of the same length (never the all-ones code). */
function flatTable(symbols: Set<number>): { dht: number[]; code: Map<number, [number, number]> } {
  const list = [...symbols].sort((a, b) => a - b);
  const len = Math.max(1, Math.ceil(Math.log2(list.length + 1)));
  const counts = new Array(16).fill(0);
  counts[len - 1] = list.length;
  const code = new Map<number, [number, number]>(list.map((s, i) => [s, [i, len]]));
  return { dht: [...counts, ...list], code };
}

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
}

/**
 * A progressive JPEG (SOF2, spectral selection only): one interleaved DC scan, then one AC scan (1..63) per
 * component. `pixels` is grey (channels 1) or RGB (channels 3, stored as YCbCr 4:4:4); quantiser 1 everywhere,
 * so the decoded image is within a few levels of the input.
 */
export function encodeProgressiveJpeg(width: number, height: number, channels: 1 | 3, pixels: ArrayLike<number>): Buffer {
  const bw = Math.ceil(width / 8);
  const bh = Math.ceil(height / 8);
  // Component planes (edge-replicated to whole blocks), then quantised DCT coefficients per block.
  const planes: number[][] = Array.from({ length: channels }, () => new Array(bw * 8 * bh * 8).fill(0));
  for (let y = 0; y < bh * 8; y++) {
    for (let x = 0; x < bw * 8; x++) {
      const p = (Math.min(y, height - 1) * width + Math.min(x, width - 1)) * channels;
      if (channels === 1) planes[0][y * bw * 8 + x] = pixels[p];
      else {
        const [r, g, b] = [pixels[p], pixels[p + 1], pixels[p + 2]];
        planes[0][y * bw * 8 + x] = 0.299 * r + 0.587 * g + 0.114 * b;
        planes[1][y * bw * 8 + x] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
        planes[2][y * bw * 8 + x] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
      }
    }
  }
  const coef = planes.map((plane) => {
    const blocks: number[][] = [];
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        const out = new Array(64).fill(0);
        for (let v = 0; v < 8; v++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let y = 0; y < 8; y++) {
              for (let x = 0; x < 8; x++) {
                s += (plane[(by * 8 + y) * bw * 8 + bx * 8 + x] - 128) * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
              }
            }
            const cu = u === 0 ? Math.SQRT1_2 : 1;
            const cv = v === 0 ? Math.SQRT1_2 : 1;
            out[v * 8 + u] = Math.round(0.25 * cu * cv * s);
          }
        }
        blocks.push(out);
      }
    }
    return blocks;
  });
  const bytes: number[] = [0xff, 0xd8];
  bytes.push(...segment(0xdb, [0, ...new Array(64).fill(1)]));
  const comps = Array.from({ length: channels }, (_, i) => [i + 1, 0x11, 0]).flat();
  bytes.push(...segment(0xc2, [8, height >> 8, height & 255, width >> 8, width & 255, channels, ...comps]));
  // DC scan, all components interleaved (4:4:4: one block of each per MCU).
  const dcSymbols = new Set<number>();
  const dcDiffs: number[] = [];
  const pred = new Array(channels).fill(0);
  for (let b = 0; b < bw * bh; b++) {
    for (let c = 0; c < channels; c++) {
      const d = coef[c][b][0] - pred[c];
      pred[c] = coef[c][b][0];
      dcDiffs.push(d);
      dcSymbols.add(category(d).size);
    }
  }
  let table = flatTable(dcSymbols);
  bytes.push(...segment(0xc4, [0x00, ...table.dht]));
  bytes.push(...segment(0xda, [channels, ...Array.from({ length: channels }, (_, i) => [i + 1, 0x00]).flat(), 0, 0, 0]));
  let w = new BitWriter();
  for (const d of dcDiffs) {
    const { size, bits } = category(d);
    const [code, len] = table.code.get(size) as [number, number];
    w.put(code, len);
    if (size > 0) w.put(bits, size);
  }
  bytes.push(...w.finish());
  // One AC scan (Ss=1, Se=63, no successive approximation) per component, blocks in raster order.
  for (let c = 0; c < channels; c++) {
    const runs: [number, number][][] = coef[c].map((block) => {
      const out: [number, number][] = [];
      let run = 0;
      let last = 0;
      for (let k = 1; k < 64; k++) if (block[ZIGZAG[k]] !== 0) last = k;
      for (let k = 1; k <= last; k++) {
        const v = block[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          out.push([0xf0, 0]); // ZRL
          run -= 16;
        }
        out.push([(run << 4) | category(v).size, v]);
        run = 0;
      }
      if (last < 63) out.push([0x00, 0]); // EOB0: end of band for this block
      return out;
    });
    table = flatTable(new Set(runs.flat().map(([s]) => s)));
    bytes.push(...segment(0xc4, [0x10, ...table.dht]));
    bytes.push(...segment(0xda, [1, c + 1, 0x00, 1, 63, 0]));
    w = new BitWriter();
    for (const block of runs) {
      for (const [symbol, v] of block) {
        const [code, len] = table.code.get(symbol) as [number, number];
        w.put(code, len);
        const size = symbol & 15;
        if (size > 0) w.put(category(v).bits, size);
      }
    }
    bytes.push(...w.finish());
  }
  bytes.push(0xff, 0xd9);
  return Buffer.from(bytes);
}
