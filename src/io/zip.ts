import { unzipSync, zipSync } from 'fflate';
import { crc32 } from 'node:zlib';

/**
 * Zip archives (what a .keras file is) through fflate, with the checks a hostile file needs before anything
 * is inflated: every member listed in the central directory, within the file, of a declared size under a
 * bound, and, after extraction, of the size and CRC-32 the directory declares (fflate does not check CRCs;
 * Python's zipfile, which Keras uses, does).
 */
export interface ZipLimits {
  /** Largest member after decompression; default 2 GiB. */
  maxMemberBytes?: number;
  /** Largest expansion ratio of a deflated member; default 1100 (deflate's own limit is about 1032). */
  maxRatio?: number;
}

interface DirEntry {
  name: string;
  crc: number;
  compressedSize: number;
  size: number;
  method: number;
}

function fail(what: string, why: string): never {
  throw new Error(`${what}: not a valid zip archive (${why})`);
}

/** The central directory, read with bounds checks (no ZIP64: a .keras member over 4 GiB is refused). */
function centralDirectory(buf: Uint8Array, what: string): DirEntry[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 22) fail(what, `${buf.length} bytes, shorter than the 22-byte end record`);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(what, 'no end-of-central-directory record: the file is truncated or not a zip');
  const count = view.getUint16(eocd + 10, true);
  const size = view.getUint32(eocd + 12, true);
  const offset = view.getUint32(eocd + 16, true);
  if (offset + size > eocd) fail(what, `central directory at ${offset} (+${size} bytes) runs past its end record at ${eocd}`);
  const out: DirEntry[] = [];
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== 0x02014b50) fail(what, `central directory entry ${k + 1} of ${count} is missing or damaged`);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > eocd) fail(what, `central directory entry ${k + 1} runs past the directory`);
    const local = view.getUint32(p + 42, true);
    const entry: DirEntry = {
      name: new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen)),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
    };
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff) fail(what, `member '${entry.name}' uses ZIP64 sizes (over 4 GiB)`);
    if (local + 30 + entry.compressedSize > offset) fail(what, `member '${entry.name}' claims ${entry.compressedSize} bytes at ${local}, past the member data`);
    out.push(entry);
    p = end;
  }
  return out;
}

/**
 * Reads the members named by `want` (all when omitted). `what` names the file in errors. Refuses, before
 * inflating anything: a damaged directory, a member larger than the limits, an unknown compression method.
 */
export function readZip(buf: Uint8Array, what: string, want?: (name: string) => boolean, limits: ZipLimits = {}): Map<string, Uint8Array> {
  const maxBytes = limits.maxMemberBytes ?? 2 ** 31;
  const maxRatio = limits.maxRatio ?? 1100;
  const dir = centralDirectory(buf, what);
  const byName = new Map<string, DirEntry>();
  for (const e of dir) {
    if (byName.has(e.name)) fail(what, `member '${e.name}' appears twice`);
    byName.set(e.name, e);
    if (want && !want(e.name)) continue;
    if (e.method !== 0 && e.method !== 8) fail(what, `member '${e.name}' uses compression method ${e.method}; stored (0) and deflate (8) are read`);
    if (e.size > maxBytes) fail(what, `member '${e.name}' claims ${e.size} bytes, more than the ${maxBytes}-byte limit`);
    if (e.method === 0 ? e.size !== e.compressedSize : e.size > Math.max(1024, e.compressedSize * maxRatio)) {
      fail(what, `member '${e.name}' claims ${e.size} bytes from ${e.compressedSize} stored`);
    }
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(buf, { filter: (f) => (!want || want(f.name)) && byName.get(f.name)?.size === f.originalSize });
  } catch (e) {
    fail(what, (e as Error).message);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(files)) {
    const e = byName.get(name);
    if (!e) fail(what, `member '${name}' is not in the central directory`);
    if (data.length !== e.size) fail(what, `member '${name}' inflated to ${data.length} bytes, the directory says ${e.size}`);
    if ((crc32(data) >>> 0) !== e.crc) fail(what, `member '${name}' fails its CRC-32 check: the file is corrupt`);
    out.set(name, data);
  }
  for (const e of dir) if ((!want || want(e.name)) && !out.has(e.name)) fail(what, `member '${e.name}' could not be read (its local header disagrees with the directory)`);
  return out;
}

/** A zip of stored (uncompressed) members, in the given order, as Keras writes .keras files. */
export function writeZip(members: [string, Uint8Array][], mtime = new Date()): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0; mtime: Date }]> = {};
  for (const [name, data] of members) files[name] = [data, { level: 0, mtime }];
  return zipSync(files);
}
