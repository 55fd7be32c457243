/**
 * A small streaming tar reader, enough for dataset archives (ustar, GNU long names, pax paths), so the
 * project needs no tar dependency. Entries are written to disk as their bytes arrive: memory stays at one
 * decompressed chunk however large the archive.
 *
 * Format (POSIX.1-1988 ustar, 512-byte blocks): a header block per entry, then its data padded to a block
 * boundary; two zero blocks end the archive. Header fields used: name[0,100), size[124,12),
 * chksum[148,8), typeflag[156], magic[257,6), prefix[345,155) (POSIX magic only: GNU reuses those bytes).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;
// Long names and pax headers are read into memory; nothing legitimate comes close to this.
const MAX_META_BYTES = 1 << 20;

export interface TarExtractOptions {
  /** Extract only entries whose normalised path passes; others are skipped. */
  filter?: (path: string) => boolean;
}

interface Header {
  name: string;
  size: number;
  type: string;
}

type Current =
  | { kind: 'file'; path: string; handle: FileHandle }
  | { kind: 'meta'; type: string; parts: Buffer[] }
  | { kind: 'skip' };

/** Extracts a .tar.gz file into destDir; returns the relative paths of the regular files written. */
export async function extractTarGz(archivePath: string, destDir: string, options: TarExtractOptions = {}): Promise<string[]> {
  // Plain pipe rather than stream.pipeline: pipeline would replace an error thrown by the consumer (a corrupt
  // entry) with its own AbortError, losing the message that says what is wrong.
  const input = createReadStream(archivePath);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    return await extractTar(gunzip, destDir, options, archivePath);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/** Extracts a tar byte stream into destDir; returns the relative paths of the regular files written. */
export async function extractTar(
  source: AsyncIterable<Uint8Array>,
  destDir: string,
  options: TarExtractOptions = {},
  archiveName = 'tar stream',
): Promise<string[]> {
  const written: string[] = [];
  let leftover: Buffer = Buffer.alloc(0);
  let state: 'header' | 'body' | 'padding' | 'end' = 'header';
  let remaining = 0;
  let paddingLeft = 0;
  let entryName = '';
  let current = { kind: 'skip' } as Current; // 'as' keeps the union: narrowing cannot see the closures below reassign it
  // GNU 'L' and pax 'x' entries rename the entry that follows them.
  let nextName: string | null = null;
  let nextSize: number | null = null;

  const fail = (what: string): Error => new Error(`tar: ${archiveName}: ${what}`);

  const startEntry = async (h: Header): Promise<void> => {
    entryName = nextName ?? h.name;
    const size = nextSize ?? h.size;
    nextName = null;
    nextSize = null;
    remaining = size;
    paddingLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    if (h.type === 'L' || h.type === 'x') {
      if (size > MAX_META_BYTES) throw fail(`metadata entry of ${size} bytes exceeds ${MAX_META_BYTES}`);
      current = { kind: 'meta', type: h.type, parts: [] };
      return;
    }
    current = { kind: 'skip' };
    const isFile = h.type === '0' || h.type === '\0' || h.type === '7';
    if (!isFile && h.type !== '5') return; // links, devices, global pax headers: never materialised
    const path = safeRelativePath(entryName, fail);
    if (path === '' || (options.filter && !options.filter(path))) return;
    const target = join(destDir, path);
    if (h.type === '5') {
      await mkdir(target, { recursive: true });
      return;
    }
    await mkdir(join(target, '..'), { recursive: true });
    current = { kind: 'file', path, handle: await open(target, 'w', 0o644) };
    written.push(path);
  };

  const finishEntry = async (): Promise<void> => {
    const done = current;
    current = { kind: 'skip' };
    if (done.kind === 'file') {
      await done.handle.close();
    } else if (done.kind === 'meta') {
      const text = Buffer.concat(done.parts).toString('utf8');
      if (done.type === 'L') {
        nextName = text.replace(/\0.*$/s, '');
      } else {
        const pax = parsePax(text);
        if (pax.path !== undefined) nextName = pax.path;
        if (pax.size !== undefined) nextSize = pax.size;
      }
    }
  };

  try {
    for await (const raw of source) {
      const incoming = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      const chunk = leftover.length > 0 ? Buffer.concat([leftover, incoming]) : incoming;
      leftover = Buffer.alloc(0);
      let off = 0;
      while (off < chunk.length && state !== 'end') {
        if (state === 'header') {
          if (chunk.length - off < BLOCK) {
            leftover = Buffer.from(chunk.subarray(off)); // copied: the source may reuse its buffer
            off = chunk.length;
            break;
          }
          const block = chunk.subarray(off, off + BLOCK);
          off += BLOCK;
          if (isZeroBlock(block)) {
            state = 'end';
            break;
          }
          await startEntry(parseHeader(block, fail));
          if (remaining === 0) await finishEntry();
          state = remaining > 0 ? 'body' : 'header';
        } else if (state === 'body') {
          const take = Math.min(remaining, chunk.length - off);
          const piece = chunk.subarray(off, off + take);
          off += take;
          remaining -= take;
          if (current.kind === 'file') await writeAll(current.handle, piece);
          else if (current.kind === 'meta') current.parts.push(Buffer.from(piece));
          if (remaining === 0) {
            await finishEntry();
            state = paddingLeft > 0 ? 'padding' : 'header';
          }
        } else {
          const take = Math.min(paddingLeft, chunk.length - off);
          off += take;
          paddingLeft -= take;
          if (paddingLeft === 0) state = 'header';
        }
      }
    }
  } finally {
    if (current.kind === 'file') await current.handle.close();
  }
  if (state === 'body' || state === 'padding') {
    throw fail(`truncated inside entry '${entryName}' (${remaining + paddingLeft} bytes missing)`);
  }
  if (leftover.length > 0) throw fail(`truncated: ${leftover.length} bytes of a ${BLOCK}-byte header at the end`);
  return written;
}

function parseHeader(block: Buffer, fail: (what: string) => Error): Header {
  const stored = parseOctal(block.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]; // the checksum field counts as spaces
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some old writers summed signed chars; accept either, as GNU tar does.
  if (stored !== unsigned && stored !== signed) {
    throw fail(`header checksum mismatch (stored ${stored}, computed ${unsigned}); not a tar archive or corrupt`);
  }
  const magic = block.toString('latin1', 257, 263);
  let name = cString(block, 0, 100);
  if (magic === 'ustar\0') {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const type = String.fromCharCode(block[156]);
  return { name, size: parseSize(block.subarray(124, 136)), type };
}

/** Size field: octal text, or GNU base-256 (high bit of the first byte set) for files of 8 GiB and more. */
function parseSize(field: Buffer): number {
  if (field[0] & 0x80) {
    let v = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
    return v;
  }
  return parseOctal(field);
}

function parseOctal(field: Buffer): number {
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/g, '');
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** Pax records are "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(text: string): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    const space = bytes.indexOf(0x20, off);
    if (space === -1) break;
    const len = parseInt(bytes.toString('latin1', off, space), 10);
    if (!(len > 0)) break;
    const record = bytes.toString('utf8', space + 1, off + len - 1);
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    if (key === 'size') out.size = parseInt(value, 10);
    off += len;
  }
  return out;
}

/** Normalises an entry name and refuses anything that would land outside the destination. */
function safeRelativePath(name: string, fail: (what: string) => Error): string {
  const normal = posix.normalize(name.replace(/\\/g, '/')).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw fail(`entry '${name}' would be written outside the destination folder`);
  }
  return normal === '.' ? '' : normal;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    done += bytesWritten;
  }
}
