import { crc32c, hex32, unmaskCrc } from './crc32c.js';
import { Fail, readVarint, u32le } from './varint.js';

/**
 * The LevelDB table ("SSTable") format, read-only, as TensorFlow writes a bundle's `.index` file
 * (tensorflow/core/lib/io/table_builder.cc keeps LevelDB's layout):
 *
 *   [data block 0][trailer] ... [data block n][trailer] [metaindex block][trailer] [index block][trailer] [footer]
 *   trailer  1 byte compression type (0 = none) + 4 bytes masked CRC-32C of the block and that type byte
 *   footer   48 bytes: metaindex handle, index handle (each varint64 offset + varint64 size, size without the
 *            trailer), zero padding to 40 bytes, the magic number 0xdb4775248b80fb57 as fixed64 little-endian
 *   block    entries, then uint32 restart offsets, then uint32 restart count. An entry is varint32 shared,
 *            varint32 non_shared, varint32 value_length, the key's last non_shared bytes (the first `shared`
 *            come from the previous key), the value. At a restart offset `shared` is 0.
 *   index    one entry per data block: key >= every key of that block, value = the block's handle
 *
 * Everything is checked, since the file is untrusted: handles inside the file, trailers' CRCs, varint widths,
 * restart arrays, entries inside their block, and keys strictly increasing (bytewise, LevelDB's comparator).
 * TensorFlow writes bundle indexes uncompressed (tensor_bundle.cc sets kNoCompression), so a Snappy block is
 * refused by name rather than decoded.
 */
export interface TableEntry {
  key: Buffer;
  value: Buffer;
}

const FOOTER = 48;
const TRAILER = 5;
/** kTableMagicNumber as it sits in the file (fixed64, little-endian). */
const MAGIC = Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);

interface Handle {
  offset: number;
  size: number;
}

/** Every key/value of the table in `file`, in key order. `fail` names the file in its one-line message. */
export function readTable(file: Buffer, fail: Fail): TableEntry[] {
  if (file.length < FOOTER) fail(`expected at least ${FOOTER} bytes (the table footer), received ${file.length}`);
  const footerAt = file.length - FOOTER;
  const magic = file.subarray(file.length - 8);
  if (!magic.equals(MAGIC)) fail(`expected the LevelDB table magic number 0xdb4775248b80fb57 in the last 8 bytes, received 0x${Buffer.from(magic).reverse().toString('hex')}`);
  const [metaindex, p] = readHandle(file, footerAt, footerAt + 40, 'footer metaindex handle', fail);
  const [index] = readHandle(file, p, footerAt + 40, 'footer index handle', fail);
  // The metaindex names filter blocks, which bundles do not have; reading it still checks its CRC.
  parseBlock(readBlock(file, metaindex, footerAt, 'metaindex block', fail), 'metaindex block', fail);
  const indexEntries = parseBlock(readBlock(file, index, footerAt, 'index block', fail), 'index block', fail);
  const out: TableEntry[] = [];
  let dataEnd = 0;
  indexEntries.forEach((ie, b) => {
    const label = `data block ${b} (index entry ${b})`;
    const [handle, end] = readHandle(ie.value, 0, ie.value.length, `${label} handle`, fail);
    if (end !== ie.value.length) fail(`${label} handle: expected ${end} bytes, received ${ie.value.length}`);
    // Data blocks lie in file order before the metaindex; one starting inside the previous one is corrupt.
    if (handle.offset < dataEnd) fail(`${label}: expected an offset of at least ${dataEnd} (after the previous block), received ${handle.offset}`);
    dataEnd = handle.offset + handle.size + TRAILER;
    const entries = parseBlock(readBlock(file, handle, Math.min(metaindex.offset, index.offset), label, fail), label, fail);
    for (const e of entries) {
      const prev = out[out.length - 1];
      if (prev && Buffer.compare(prev.key, e.key) >= 0) fail(`${label}: expected keys in increasing order, received ${quoteKey(e.key)} after ${quoteKey(prev.key)}`);
      if (Buffer.compare(e.key, ie.key) > 0) fail(`${label}: expected keys up to the index key ${quoteKey(ie.key)}, received ${quoteKey(e.key)}`);
      out.push(e);
    }
  });
  return out;
}

/** A key for an error message: printable ASCII kept, the rest escaped, long keys cut. */
export function quoteKey(key: Uint8Array): string {
  let s = '';
  for (const b of key.subarray(0, 120)) s += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `'${s}${key.length > 120 ? '...' : ''}'`;
}

function readHandle(buf: Uint8Array, pos: number, end: number, field: string, fail: Fail): [Handle, number] {
  const [offset, p] = readVarint(buf, pos, end, 64, `${field} offset`, fail);
  const [size, q] = readVarint(buf, p, end, 64, `${field} size`, fail);
  return [{ offset, size }, q];
}

/** The contents of the block at `h`, after checking that it and its trailer end by `limit`, and its CRC. */
function readBlock(file: Buffer, h: Handle, limit: number, label: string, fail: Fail): Buffer {
  if (h.offset + h.size + TRAILER > limit) {
    fail(`${label}: expected a block ending by byte ${limit}, received offset ${h.offset} + size ${h.size} + ${TRAILER}-byte trailer = ${h.offset + h.size + TRAILER}`);
  }
  const contents = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size];
  const stored = unmaskCrc(u32le(file, h.offset + h.size + 1));
  const actual = crc32c(file.subarray(h.offset + h.size, h.offset + h.size + 1), crc32c(contents));
  if (stored !== actual) fail(`${label} at byte ${h.offset}: CRC-32C mismatch, the file is corrupt (expected ${hex32(stored)}, computed ${hex32(actual)})`);
  if (type !== 0) fail(`${label}: expected compression type 0 (none, as TensorFlow writes bundle indexes), received ${type}${type === 1 ? ' (Snappy)' : ''}`);
  return contents;
}

/** A block's entries, keys rebuilt from their shared prefixes; the restart array is checked against them. */
function parseBlock(block: Buffer, label: string, fail: Fail): TableEntry[] {
  if (block.length < 4) fail(`${label}: expected at least 4 bytes (the restart count), received ${block.length}`);
  const numRestarts = u32le(block, block.length - 4);
  const maxRestarts = Math.floor((block.length - 4) / 4);
  if (numRestarts < 1 || numRestarts > maxRestarts) fail(`${label}: expected 1 to ${maxRestarts} restart points in ${block.length} bytes, received ${numRestarts}`);
  const entriesEnd = block.length - 4 - 4 * numRestarts;
  const restarts: number[] = [];
  for (let r = 0; r < numRestarts; r++) {
    const at = u32le(block, entriesEnd + 4 * r);
    const prev = restarts[r - 1] ?? -1;
    // An empty block still has one restart, at 0; otherwise restarts point at entries, in order.
    const inRange = at < entriesEnd || (at === 0 && entriesEnd === 0);
    if (!inRange || at <= prev) fail(`${label}: restart point ${r}: expected an offset after ${prev} and before ${entriesEnd}, received ${at}`);
    restarts.push(at);
  }
  const out: TableEntry[] = [];
  let key: Buffer = Buffer.alloc(0);
  let pos = 0;
  let nextRestart = 0;
  while (pos < entriesEnd) {
    const at = pos;
    const where = `${label} entry ${out.length} (byte ${at})`;
    let shared: number, nonShared: number, valueLength: number;
    [shared, pos] = readVarint(block, pos, entriesEnd, 32, `${where} shared length`, fail);
    [nonShared, pos] = readVarint(block, pos, entriesEnd, 32, `${where} key length`, fail);
    [valueLength, pos] = readVarint(block, pos, entriesEnd, 32, `${where} value length`, fail);
    if (shared > key.length) fail(`${where}: expected a shared key prefix of at most ${key.length} bytes (the previous key), received ${shared}`);
    if (pos + nonShared + valueLength > entriesEnd) {
      fail(`${where}: expected key and value to end by byte ${entriesEnd} (the restart array), received ${nonShared} + ${valueLength} bytes from byte ${pos}`);
    }
    const isRestart = restarts[nextRestart] === at;
    if (restarts[nextRestart] !== undefined && restarts[nextRestart] < at) fail(`${label}: restart point ${nextRestart} at byte ${restarts[nextRestart]} is not the start of an entry`);
    if (isRestart) nextRestart++;
    if ((isRestart || at === 0) && shared !== 0) fail(`${where}: expected a full key (shared length 0) at a restart point, received shared length ${shared}`);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(pos, pos + nonShared)]);
    pos += nonShared;
    out.push({ key, value: block.subarray(pos, pos + valueLength) });
    pos += valueLength;
  }
  if (out.length > 0 && restarts[0] !== 0) fail(`${label}: expected the first restart point at byte 0, received ${restarts[0]}`);
  if (nextRestart < restarts.length && out.length > 0) fail(`${label}: restart point ${nextRestart} at byte ${restarts[nextRestart]} is not the start of an entry`);
  return out;
}
