/** Test fixtures for the data layer: temporary folders, a minimal tar writer, CIFAR-10 records. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A fresh temporary folder and a function that removes it. */
export function tempDir(prefix = 'convkit-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TarEntrySpec {
  name: string;
  data?: Uint8Array | string;
  /** '0' file (default), '5' directory, '2' symlink, 'L' GNU long name, 'x' pax header. */
  type?: string;
  linkname?: string;
  /** Put the leading part of a long name in the ustar prefix field. */
  prefix?: string;
}

/** Writes a ustar archive (POSIX magic) the way tar(1) does, so the reader is tested against the format. */
export function makeTar(entries: TarEntrySpec[], endBlocks = 2): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data ?? new Uint8Array(0));
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    h.write('14712345670\0', 136, 'latin1');
    h.write('        ', 148, 'latin1');
    h.write(e.type ?? '0', 156, 'latin1');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    if (e.prefix) h.write(e.prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(512 * endBlocks));
  return Buffer.concat(blocks);
}

export function makeTarGz(entries: TarEntrySpec[]): Buffer {
  return gzipSync(makeTar(entries));
}

/** A pax extended header record: "<len> key=value\n", where len counts the whole record. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

export function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** The value our fake CIFAR records hold for image i, channel c (0 R, 1 G, 2 B), pixel p (row-major). */
export function fakePixel(i: number, c: number, p: number): number {
  return (i * 7 + c * 101 + p * 13) & 255;
}

/** CIFAR-10 binary records: label byte, then the R, G and B planes, 1024 bytes each. */
export function cifarRecords(labels: number[]): Buffer {
  const out = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, i) => {
    const o = i * 3073;
    out[o] = label;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[o + 1 + c * 1024 + p] = fakePixel(i, c, p);
  });
  return out;
}

/** A Response like fetch's, served from memory: tests never touch the network. */
export function fakeFetch(body: Uint8Array, status = 200, chunk = 1000): (url: string) => Promise<Response> {
  return async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let o = 0; o < body.length; o += chunk) controller.enqueue(body.slice(o, o + chunk));
        controller.close();
      },
    });
    return new Response(status === 200 ? stream : null, {
      status,
      statusText: status === 200 ? 'OK' : 'Not Found',
      headers: { 'content-length': String(body.length) },
    });
  };
}

/** An IDX file of unsigned bytes: magic 0x0000 08 d, big-endian dims, then the values. */
export function idxBytes(dims: number[], values?: ArrayLike<number>): Buffer {
  const total = dims.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(4 + 4 * dims.length + total);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  for (let i = 0; i < total; i++) out[4 + 4 * dims.length + i] = values ? values[i] : (i * 7 + 3) & 255;
  return out;
}

/** Writes files at these relative paths under `root` (folders made as needed), with `content(path)`. */
export function writeTree(root: string, paths: string[], content: (p: string) => Uint8Array | string = () => ''): void {
  for (const p of paths) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), content(p));
  }
}
