import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { crc32c, hex32, unmaskCrc } from './crc32c.js';
import { BundleEntry, decodeProto } from './protos.js';
import { quoteKey, readTable } from './sstable.js';
import { Fail, readVarint, u32le } from './varint.js';

/**
 * A TensorFlow 2 checkpoint (a "tensor bundle", tensorflow/core/util/tensor_bundle/) as plain data:
 *   `<prefix>.index`                  an SSTable (sstable.ts): key "" -> BundleHeaderProto, every other key ->
 *                                     BundleEntryProto {dtype, shape, shard_id, offset, size, crc32c (masked)}
 *   `<prefix>.data-0000k-of-0000n`    the shards: raw little-endian tensors at the entries' offsets
 * Entries are validated against the shard sizes when the index is read (so no read can run past a file or
 * allocate more than the shard holds); tensor bytes are read, and their CRC-32C checked, on `read()`.
 */
export type TfValues = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array[];

export interface TfTensorEntry {
  key: string;
  /** TensorFlow's DataType number (1 float, 2 double, 3 int32, 7 string, 9 int64, 14 bfloat16, 19 half). */
  dtype: number;
  /** 'float32', 'float64', 'int32', 'int64', 'string', 'bfloat16', 'float16', or 'DataType <n>'. */
  dtypeName: string;
  shape: number[];
  shard: string;
  offset: number;
  size: number;
  /** Reads the tensor (strings as byte arrays) after checking its CRC-32C; throws naming the shard. */
  read(): TfValues;
  /** Reads the tensor's bytes and checks their CRC-32C only (any dtype but DT_VARIANT, whose layout differs). */
  verify(): void;
}

export interface TfCheckpoint {
  prefix: string;
  indexPath: string;
  numShards: number;
  version: { producer: number; minConsumer: number };
  /** Tensors in key order (the header entry excluded). */
  entries: TfTensorEntry[];
  get(key: string): TfTensorEntry | undefined;
}

interface Dtype {
  name: string;
  /** Bytes per element; 0 for strings (variable length). */
  bytes: number;
}
const DTYPES = new Map<number, Dtype>([
  [1, { name: 'float32', bytes: 4 }],
  [2, { name: 'float64', bytes: 8 }],
  [3, { name: 'int32', bytes: 4 }],
  [7, { name: 'string', bytes: 0 }],
  [9, { name: 'int64', bytes: 8 }],
  [14, { name: 'bfloat16', bytes: 2 }],
  [19, { name: 'float16', bytes: 2 }],
]);
const DT_STRING = 7;
const DT_VARIANT = 21;
/** TensorShape's own limit on rank (tensor_shape.h kMaxDims). */
const MAX_RANK = 254;

export const indexPathOf = (prefix: string): string => `${prefix}.index`;
/** DataFilename in tensor_bundle.cc: `<prefix>.data-%05d-of-%05d`. */
export const shardPathOf = (prefix: string, id: number, n: number): string => `${prefix}.data-${String(id).padStart(5, '0')}-of-${String(n).padStart(5, '0')}`;

/** Reads and validates the index of the checkpoint at `prefix` (tensor data is read lazily, per entry). */
export function readTfCheckpoint(prefix: string): TfCheckpoint {
  const indexPath = indexPathOf(prefix);
  const fail: Fail = (what) => {
    throw new Error(`TF checkpoint index '${indexPath}': ${what}`);
  };
  if (!existsSync(indexPath)) throw new Error(`TF checkpoint '${prefix}': no index file '${indexPath}'`);
  if (!statSync(indexPath).isFile()) fail('expected a file, received a folder or device');
  let bytes: Buffer;
  try {
    bytes = readFileSync(indexPath);
  } catch (err) {
    return fail(`cannot be read (${(err as Error).message})`);
  }
  const table = readTable(bytes, fail);
  if (table.length === 0 || table[0].key.length !== 0) fail(`expected the header entry (key "") first, received ${table.length === 0 ? 'no entries' : `key ${quoteKey(table[0].key)}`}`);
  const header = decodeProto('header', table[0].value, 'header entry', fail);
  const { numShards } = header;
  if (!(numShards >= 1 && numShards <= 99999)) fail(`header: expected 1 to 99999 shards, received ${numShards}`);
  if (header.endianness !== 0) fail(`header: expected little-endian tensors (endianness 0), received endianness ${header.endianness}${header.endianness === 1 ? ' (big-endian; convkit reads little-endian bundles only)' : ''}`);
  const version = { producer: header.version?.producer ?? 0, minConsumer: header.version?.minConsumer ?? 0 };
  // We read bundle format version 1 (kTensorBundleVersion), as TensorFlow's CheckVersions would.
  if (version.minConsumer > 1 || header.version?.badConsumers.includes(1)) fail(`header: expected a bundle readable by format version 1, received producer ${version.producer}, min_consumer ${version.minConsumer}`);

  const shardSizes = new Map<number, number>();
  const shardSize = (id: number, key: string): number => {
    let size = shardSizes.get(id);
    if (size === undefined) {
      const path = shardPathOf(prefix, id, numShards);
      if (!existsSync(path)) throw new Error(`TF checkpoint data '${path}': missing (shard ${id} of ${numShards}, which holds tensor '${key}')`);
      const stat = statSync(path);
      if (!stat.isFile()) throw new Error(`TF checkpoint data '${path}': expected a file, received a folder or device`);
      size = stat.size;
      shardSizes.set(id, size);
    }
    return size;
  };

  const entries: TfTensorEntry[] = [];
  for (const { key: rawKey, value } of table.slice(1)) {
    const key = rawKey.toString('utf8');
    const e = decodeProto('entry', value, `entry ${quoteKey(rawKey)}`, fail);
    entries.push(makeEntry(prefix, numShards, key, e, shardSize, fail));
  }
  const byKey = new Map(entries.map((e) => [e.key, e]));
  return { prefix, indexPath, numShards, version, entries, get: (key) => byKey.get(key) };
}

function makeEntry(prefix: string, numShards: number, key: string, e: BundleEntry, shardSize: (id: number, key: string) => number, fail: Fail): TfTensorEntry {
  const where = `entry '${key}'`;
  const int = (s: string, field: string): number => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) fail(`${where}: expected ${field} to be a non-negative integer below 2^53, received ${s}`);
    return n;
  };
  if (e.slices.length > 0) fail(`${where}: expected a whole tensor, received a partitioned one (${e.slices.length} slices); convkit does not read partitioned variables`);
  if (!(e.shardId >= 0 && e.shardId < numShards)) fail(`${where}: expected a shard id below ${numShards}, received ${e.shardId}`);
  const shape = e.shape ?? { dim: [], unknownRank: false };
  if (shape.unknownRank) fail(`${where}: expected a known shape, received unknown rank`);
  if (shape.dim.length > MAX_RANK) fail(`${where}: expected a shape of at most ${MAX_RANK} dimensions, received ${shape.dim.length}`);
  const dims = shape.dim.map((d, i) => int(d.size, `dimension ${i}`));
  const offset = int(e.offset, 'offset');
  const size = int(e.size, 'size');
  const shard = shardPathOf(prefix, e.shardId, numShards);
  const available = shardSize(e.shardId, key);
  if (offset + size > available) fail(`${where}: expected its ${size} bytes at offset ${offset} to lie inside '${shard}' (${available} bytes), received an end at ${offset + size}`);
  // Every dtype stores at least one byte per element (a string at least its varint length), so an element
  // count above the bytes on record is corrupt; refusing it here bounds every allocation by the shard's size.
  let count = dims.includes(0) ? 0 : 1;
  for (const d of dims) {
    if (count === 0) break;
    count *= d;
    if (count > size) fail(`${where}: expected a shape whose elements fit in its ${size} bytes, received (${dims.join(', ')})`);
  }
  const dtype = DTYPES.get(e.dtype);
  if (dtype && dtype.bytes > 0 && count * dtype.bytes !== size) fail(`${where}: expected ${count} x ${dtype.bytes} = ${count * dtype.bytes} bytes for ${dtype.name} (${dims.join(', ')}), received size ${size}`);
  const crc = unmaskCrc(e.crc32c);
  const failData: Fail = (what) => {
    throw new Error(`TF checkpoint data '${shard}': tensor '${key}': ${what}`);
  };
  // Non-string tensors: the CRC of their raw bytes (BundleWriter::Add).
  const checkCrc = (bytes: Buffer): void => {
    const actual = crc32c(bytes);
    if (actual !== crc) failData(`CRC-32C mismatch, the file is corrupt (the index records ${hex32(crc)}, the ${size} bytes at offset ${offset} give ${hex32(actual)})`);
  };
  return {
    key,
    dtype: e.dtype,
    dtypeName: dtype?.name ?? `DataType ${e.dtype}`,
    shape: dims,
    shard,
    offset,
    size,
    read(): TfValues {
      if (!dtype) failData(`expected dtype float32, float64, float16, bfloat16, int32, int64 or string, received TensorFlow DataType ${e.dtype}`);
      const bytes = readRange(shard, offset, size, failData);
      if (dtype.bytes === 0) return decodeStrings(bytes, count, crc, failData);
      checkCrc(bytes);
      return decodeNumbers(bytes, dtype.name, count);
    },
    verify(): void {
      if (e.dtype === DT_VARIANT) return;
      const bytes = readRange(shard, offset, size, failData);
      if (e.dtype === DT_STRING) decodeStrings(bytes, count, crc, failData);
      else checkCrc(bytes);
    },
  };
}

function readRange(path: string, offset: number, size: number, fail: Fail): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return fail(`cannot be opened (${(err as Error).message})`);
  }
  try {
    // Checked again here: the file may have changed since the index was read.
    const available = fstatSync(fd).size;
    if (offset + size > available) fail(`expected ${size} bytes at offset ${offset}, the file has ${available} bytes`);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      let n: number;
      try {
        n = readSync(fd, buf, got, size - got, offset + got);
      } catch (err) {
        return fail(`cannot be read (${(err as Error).message})`);
      }
      if (n === 0) fail(`expected ${size} bytes at offset ${offset}, received ${got} before the end of the file`);
      got += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian element bytes to a typed array (a copy: aligned, and it owns its memory). */
function decodeNumbers(bytes: Buffer, dtype: string, count: number): TfValues {
  const copy = new Uint8Array(bytes).buffer;
  const view = new DataView(copy);
  switch (dtype) {
    case 'float32':
      return LITTLE_ENDIAN_HOST ? new Float32Array(copy) : Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
    case 'float64':
      return LITTLE_ENDIAN_HOST ? new Float64Array(copy) : Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
    case 'int32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
    case 'int64':
      return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(8 * i, true));
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      return Float32Array.from({ length: count }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
  }
}

/** IEEE 754 binary16 to a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * A DT_STRING tensor as tensor_bundle.cc writes it: `count` varint64 lengths, a 4-byte masked CRC-32C of
 * those lengths (each taken as a little-endian uint32, or uint64 when above 2^32 - 1), then the bytes of every
 * string back to back. The entry's CRC covers the lengths (same widths), the 4 stored bytes, and the strings.
 */
function decodeStrings(bytes: Buffer, count: number, entryCrc: number, fail: Fail): Uint8Array[] {
  if (bytes.length === 0 && count === 0) return [];
  const lengths: number[] = [];
  let crc = 0;
  let pos = 0;
  const word = Buffer.alloc(8);
  for (let i = 0; i < count; i++) {
    let n: number;
    [n, pos] = readVarint(bytes, pos, bytes.length, 64, `string ${i} length`, fail);
    lengths.push(n);
    const wide = n > 0xffffffff;
    if (wide) word.writeBigUInt64LE(BigInt(n));
    else word.writeUInt32LE(n);
    crc = crc32c(word.subarray(0, wide ? 8 : 4), crc);
  }
  if (pos + 4 > bytes.length) fail(`expected a 4-byte length checksum after the ${count} string lengths, received ${bytes.length - pos} bytes`);
  const stored = unmaskCrc(u32le(bytes, pos));
  if (stored !== crc) fail(`CRC-32C mismatch on the string lengths, the file is corrupt (stored ${hex32(stored)}, computed ${hex32(crc)})`);
  crc = crc32c(bytes.subarray(pos, pos + 4), crc);
  pos += 4;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (pos + total !== bytes.length) fail(`expected ${pos} + ${total} bytes (lengths, checksum, strings), the entry's size is ${bytes.length}`);
  const out: Uint8Array[] = [];
  for (const n of lengths) {
    out.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  crc = crc32c(bytes.subarray(pos - total, pos), crc);
  if (crc !== entryCrc) fail(`CRC-32C mismatch, the file is corrupt (the index records ${hex32(entryCrc)}, the data gives ${hex32(crc)})`);
  return out;
}

/** A tensor's values as float32 (what convkit's variables hold); int64 values must be exact in float64. */
export function toFloat32(values: TfValues, what: string): Float32Array {
  if (values instanceof Float32Array) return values;
  if (values instanceof Float64Array || values instanceof Int32Array) return Float32Array.from(values);
  throw new Error(`${what}: expected floating-point values, received ${Array.isArray(values) ? 'strings' : 'int64'}`);
}
