/**
 * IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"):
 *
 *   magic   4 bytes: 0x00 0x00, a type code (0x08 = unsigned byte), the number of dimensions d
 *   dims    d big-endian uint32 sizes, outermost first (images: count, rows, columns; labels: count)
 *   data    prod(dims) values of the type, row-major, nothing after them
 *
 * so an image file's magic number is 0x00000803 and a label file's 0x00000801. Only unsigned bytes are read
 * (every MNIST-family file); other type codes are refused by name. Files may be gzip-compressed (as distributed)
 * or plain; which one is told by content (the gzip signature 1f 8b), not by name.
 *
 * Memory is bounded by what the header implies: the header is checked before anything is allocated, the data
 * array is allocated once at exactly prod(dims) bytes, and a file (or a gzip stream) that would deliver more is
 * stopped at the first extra byte. A header claiming more than a file could hold is refused at once: a plain file
 * must be exactly header + data bytes long, and deflate cannot expand more than 1032:1 (RFC 1951: at most 258
 * bytes per 2-bit code), so a gzip file of s bytes holds at most 1032 * s bytes.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip, gunzipSync } from 'node:zlib';

export interface IdxArray {
  /** Sizes, outermost first, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

export interface ReadIdxOptions {
  /** Dimensions the file must have (3 for images, 1 for labels); any number (1..255) when omitted. */
  ndims?: number;
  /** Refuse headers implying more data bytes than this (default 2 GiB). */
  maxBytes?: number;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};
/** RFC 1951's ceiling on deflate expansion, plus room for gzip headers of tiny files. */
const DEFLATE_MAX_RATIO = 1032;
const DEFAULT_MAX_BYTES = 2 ** 31;

/** Marks errors that already name the file, so the stream error handler does not wrap them twice. */
class IdxFormatError extends Error {}

const hex32 = (b: Uint8Array): string => '0x' + Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Takes an IDX byte stream in chunks of any size: parses and checks the header as soon as it is complete,
 * allocates the data array once, copies into it, and refuses the first byte past the end.
 */
class IdxAssembler {
  private head = new Uint8Array(4 + 4 * 255);
  private headFill = 0;
  private headerLength = -1;
  private dims: number[] = [];
  private data: Uint8Array | null = null;
  private dataFill = 0;
  /** Decompressed bytes seen so far, header included. */
  received = 0;

  constructor(
    private readonly source: string,
    private readonly options: ReadIdxOptions,
    /** Exact total length for a plain file; an upper bound on the decompressed length for gzip. */
    private readonly bound: { kind: 'plain' | 'gzip'; fileBytes: number },
  ) {}

  private fail(message: string): never {
    throw new IdxFormatError(`IDX file ${this.source}: ${message}`);
  }

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    let offset = 0;
    if (this.headerLength < 0) {
      offset = this.fillHeader(chunk);
      if (this.headerLength < 0) return;
    }
    const rest = chunk.length - offset;
    if (rest === 0) return;
    const data = this.data as Uint8Array;
    if (this.dataFill + rest > data.length) {
      this.fail(
        `holds more than the ${this.headerLength + data.length} bytes its header implies ` +
          `(${this.headerLength} header + ${this.describeDims()} data); it is corrupt or not an IDX file`,
      );
    }
    data.set(chunk.subarray(offset), this.dataFill);
    this.dataFill += rest;
  }

  /** Copies header bytes from `chunk`; returns how many it used. Parses the header once complete. */
  private fillHeader(chunk: Uint8Array): number {
    let used = 0;
    const need = (): number => (this.headFill < 4 ? 4 : 4 + 4 * this.head[3]);
    while (used < chunk.length && this.headFill < need()) {
      this.head[this.headFill++] = chunk[used++];
      if (this.headFill === 4) this.checkMagic();
    }
    if (this.headFill >= 4 && this.headFill === need()) this.parseDims();
    return used;
  }

  private checkMagic(): void {
    const h = this.head;
    const want = this.options.ndims;
    const expected = want !== undefined ? `0x000008${want.toString(16).padStart(2, '0')} (unsigned bytes, ${want} dimension${want === 1 ? '' : 's'})` : '0x000008NN (unsigned bytes, NN dimensions)';
    if (h[0] !== 0 || h[1] !== 0 || (want !== undefined && h[3] !== want) || h[3] === 0) {
      const kind = want === 1 ? ' label' : want === 3 ? ' image' : '';
      this.fail(`magic number must be ${expected}, received ${hex32(h)}; the file is not an IDX${kind} file`);
    }
    if (h[2] !== UBYTE) {
      const name = TYPE_NAMES[h[2]] ?? 'an unknown type';
      this.fail(`magic number must be ${expected}, received ${hex32(h)}: type 0x${h[2].toString(16).padStart(2, '0')} (${name}) is not supported, only 0x08 (unsigned byte)`);
    }
  }

  private parseDims(): void {
    const h = this.head;
    const d = h[3];
    const view = new DataView(h.buffer, h.byteOffset, 4 + 4 * d);
    this.dims = Array.from({ length: d }, (_, i) => view.getUint32(4 + 4 * i, false));
    this.headerLength = 4 + 4 * d;
    const total = this.dims.reduce((a, b) => a * b, 1); // exact while < 2^53; compared against far smaller bounds
    const maxBytes = this.options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (total > maxBytes) this.fail(`header claims ${this.describeDims()} bytes, more than the limit of ${maxBytes} (maxBytes)`);
    if (this.bound.kind === 'plain') {
      const expected = this.headerLength + total;
      if (expected !== this.bound.fileBytes) {
        this.fail(
          `size must be ${expected} bytes (${this.headerLength} header + ${this.describeDims()} data), received ` +
            `${this.bound.fileBytes}: the file is ${this.bound.fileBytes < expected ? 'truncated' : 'longer than its header says'}`,
        );
      }
    } else if (this.headerLength + total > DEFLATE_MAX_RATIO * this.bound.fileBytes + 1024) {
      this.fail(
        `header claims ${this.describeDims()} bytes, more than a gzip file of ${this.bound.fileBytes} bytes can hold ` +
          `(deflate expands at most ${DEFLATE_MAX_RATIO}:1); the header is corrupt`,
      );
    }
    this.data = new Uint8Array(total);
  }

  /** " of the N its header implies" once the header is known, else "". */
  expectedText(): string {
    return this.data ? ` of the ${this.headerLength + this.data.length} its header implies` : '';
  }

  private describeDims(): string {
    const total = this.dims.reduce((a, b) => a * b, 1);
    return this.dims.length === 1 ? `${total}` : `${this.dims.join('*')} = ${total}`;
  }

  finish(): IdxArray {
    if (this.headerLength < 0) {
      this.fail(`ends after ${this.received} bytes, inside its header (expected at least ${this.headFill < 4 ? 4 : 4 + 4 * this.head[3]} header bytes); the file is truncated or empty`);
    }
    const data = this.data as Uint8Array;
    if (this.dataFill !== data.length) {
      this.fail(
        `expected ${this.headerLength + data.length} bytes (${this.headerLength} header + ${this.describeDims()} data)` +
          `${this.bound.kind === 'gzip' ? ' after decompression' : ''}, received ${this.headerLength + this.dataFill}: the file is truncated`,
      );
    }
    return { dims: this.dims, data };
  }
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Reads an IDX file, plain or gzip-compressed, checking the header, the exact size and the type. */
export async function readIdx(path: string, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const fileBytes = (await stat(path)).size;
  const first = new Uint8Array(2);
  const fh = await open(path, 'r');
  try {
    await fh.read(first, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gzip = fileBytes >= 2 && isGzip(first);
  const asm = new IdxAssembler(path, options, { kind: gzip ? 'gzip' : 'plain', fileBytes });
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const gunzip = gzip ? createGunzip() : null;
  if (gunzip) {
    input.on('error', (e) => gunzip.destroy(e));
    input.pipe(gunzip);
  }
  try {
    for await (const chunk of gunzip ?? input) asm.push(chunk as Buffer);
  } catch (err) {
    if (err instanceof IdxFormatError) throw err;
    const what = gzip ? 'gzip data is corrupt or truncated' : 'read failed';
    const where = `after ${asm.received} ${gzip ? 'decompressed ' : ''}bytes${asm.expectedText()}`;
    throw new Error(`IDX file ${path}: ${what} ${where} (${(err as Error).message})`);
  } finally {
    input.destroy();
    gunzip?.destroy();
  }
  return asm.finish();
}

/**
 * Parses IDX bytes already in memory (plain or gzip); `source` names them in errors. Gzip output is capped at
 * the deflate ceiling and `maxBytes`, so hostile input cannot make it allocate without bound.
 */
export function parseIdx(bytes: Uint8Array, source: string, options: ReadIdxOptions = {}): IdxArray {
  if (!isGzip(bytes)) {
    const asm = new IdxAssembler(source, options, { kind: 'plain', fileBytes: bytes.length });
    asm.push(bytes);
    return asm.finish();
  }
  const cap = Math.min(DEFLATE_MAX_RATIO * bytes.length + 1024, (options.maxBytes ?? DEFAULT_MAX_BYTES) + 4 + 4 * 255);
  let plain: Uint8Array;
  try {
    plain = gunzipSync(bytes, { maxOutputLength: cap });
  } catch (err) {
    const asm = new IdxAssembler(source, options, { kind: 'gzip', fileBytes: bytes.length });
    // Report what a header check would say first (more useful than zlib's message), if the header decoded.
    try {
      asm.push(gunzipSync(bytes.subarray(0, Math.min(bytes.length, 4096)), { finishFlush: 2 /* Z_SYNC_FLUSH */ }));
    } catch (inner) {
      if (inner instanceof IdxFormatError) throw inner;
    }
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`IDX file ${source}: decompresses to more than ${cap} bytes, more than its size or maxBytes allows`);
    }
    throw new Error(`IDX file ${source}: gzip data is corrupt or truncated (${(err as Error).message})`);
  }
  const asm = new IdxAssembler(source, options, { kind: 'gzip', fileBytes: bytes.length });
  asm.push(plain);
  return asm.finish();
}
