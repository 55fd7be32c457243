/**
 * Writes small TensorFlow checkpoints for tests, byte by byte from the format descriptions (LevelDB table,
 * tensor bundle, TrackableObjectGraph), with protobuf encoded by hand so the reader's protobufjs decoding is
 * checked against something independent of it. Knobs let a test break one rule at a time.
 */
import { writeFileSync } from 'node:fs';
import { crc32c, maskCrc } from '../../src/io/tf-checkpoint/crc32c.js';

export function varint(v: number | bigint): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
}

/** Protobuf fields: varint (wire 0), length-delimited (wire 2), fixed32 (wire 5). */
export const pb = {
  int: (id: number, v: number | bigint): number[] => [...varint(id << 3), ...varint(v)],
  bytes: (id: number, b: Uint8Array | number[] | string): number[] => {
    const bytes = typeof b === 'string' ? [...Buffer.from(b)] : [...b];
    return [...varint((id << 3) | 2), ...varint(bytes.length), ...bytes];
  },
  fixed32: (id: number, v: number): number[] => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return [...varint((id << 3) | 5), ...b];
  },
};

export interface EntrySpec {
  dtype: number;
  shape: (number | bigint)[];
  shardId?: number;
  offset: number | bigint;
  size: number | bigint;
  crc: number;
}

export function encodeEntry(e: EntrySpec): Buffer {
  const shape = e.shape.flatMap((d) => pb.bytes(2, pb.int(1, d)));
  return Buffer.from([...pb.int(1, e.dtype), ...pb.bytes(2, shape), ...(e.shardId ? pb.int(3, e.shardId) : []), ...pb.int(4, e.offset), ...pb.int(5, e.size), ...pb.fixed32(6, e.crc)]);
}

export const encodeHeader = (numShards: number, endianness = 0): Buffer =>
  Buffer.from([...pb.int(1, numShards), ...(endianness ? pb.int(2, endianness) : []), ...pb.bytes(3, pb.int(1, 1))]);

export interface TableOptions {
  /** Entries between full keys (LevelDB's default is 16). */
  restartInterval?: number;
  /** Replaces the computed restart offsets of the data block. */
  restarts?: number[];
  /** Compression type byte of every block trailer. */
  compression?: number;
}

function block(entries: [Buffer, Buffer][], opts: TableOptions): Buffer {
  const out: number[] = [];
  const restarts: number[] = [];
  let prev: Buffer = Buffer.alloc(0);
  entries.forEach(([k, v], i) => {
    let shared = 0;
    if (i % (opts.restartInterval ?? 16) === 0) restarts.push(out.length);
    else while (shared < prev.length && shared < k.length && prev[shared] === k[shared]) shared++;
    out.push(...varint(shared), ...varint(k.length - shared), ...varint(v.length), ...k.subarray(shared), ...v);
    prev = k;
  });
  if (restarts.length === 0) restarts.push(0);
  const tail = Buffer.alloc(4 * (opts.restarts ?? restarts).length + 4);
  (opts.restarts ?? restarts).forEach((r, i) => tail.writeUInt32LE(r, 4 * i));
  tail.writeUInt32LE((opts.restarts ?? restarts).length, tail.length - 4);
  return Buffer.concat([Buffer.from(out), tail]);
}

/** A LevelDB table with one data block holding `entries` in the order given (sort them for a valid table). */
export function buildTable(entries: [Buffer, Buffer][], opts: TableOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const put = (contents: Buffer): number[] => {
    const trailer = Buffer.alloc(5);
    trailer[0] = opts.compression ?? 0;
    trailer.writeUInt32LE(maskCrc(crc32c(trailer.subarray(0, 1), crc32c(contents))), 1);
    const handle = [...varint(size), ...varint(contents.length)];
    parts.push(contents, trailer);
    size += contents.length + 5;
    return handle;
  };
  const data = put(block(entries, opts));
  const meta = put(block([], {}));
  // The index key must be >= every key of the block, also when a test writes them out of order.
  const lastKey = entries.reduce<Buffer>((m, [k]) => (Buffer.compare(k, m) > 0 ? k : m), Buffer.alloc(0));
  const index = put(block([[lastKey, Buffer.from(data)]], {}));
  const footer = Buffer.alloc(48);
  Buffer.from([...meta, ...index]).copy(footer);
  Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]).copy(footer, 40);
  return Buffer.concat([...parts, footer]);
}

export interface TensorSpec {
  key: string;
  dtype: number;
  shape: number[];
  /** The stored bytes (for DT_STRING: stringTensor's output). */
  data: Buffer;
  /** Overrides of the entry written to the index. */
  entry?: Partial<EntrySpec>;
}

/** tensor_bundle.cc's DT_STRING layout: varint64 lengths, masked CRC of the lengths (as uint32), the bytes. */
export function stringTensor(strings: Buffer[]): { data: Buffer; crc: number } {
  const lengths = Buffer.from(strings.flatMap((s) => varint(s.length)));
  let crc = 0;
  for (const s of strings) {
    const w = Buffer.alloc(4);
    w.writeUInt32LE(s.length);
    crc = crc32c(w, crc);
  }
  const check = Buffer.alloc(4);
  check.writeUInt32LE(maskCrc(crc));
  crc = crc32c(check, crc);
  for (const s of strings) crc = crc32c(s, crc);
  return { data: Buffer.concat([lengths, check, ...strings]), crc };
}

export interface BundleOptions extends TableOptions {
  numShards?: number;
  endianness?: number;
  /** Write the entries in this order instead of sorted. */
  unsorted?: boolean;
}

/** `<prefix>.index` and `<prefix>.data-00000-of-0000n` (one shard written; others named by numShards are absent). */
export function writeBundle(prefix: string, tensors: TensorSpec[], opts: BundleOptions = {}): void {
  const n = opts.numShards ?? 1;
  const chunks: Buffer[] = [];
  let offset = 0;
  const entries: [Buffer, Buffer][] = tensors.map((t) => {
    const spec: EntrySpec = { dtype: t.dtype, shape: t.shape, offset, size: t.data.length, crc: maskCrc(crc32c(t.data)), ...t.entry };
    chunks.push(t.data);
    offset += t.data.length;
    return [Buffer.from(t.key), encodeEntry(spec)];
  });
  if (!opts.unsorted) entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  writeFileSync(`${prefix}.index`, buildTable([[Buffer.alloc(0), encodeHeader(n, opts.endianness)], ...entries], opts));
  writeFileSync(`${prefix}.data-00000-of-${String(n).padStart(5, '0')}`, Buffer.concat(chunks));
}

/** A DT_STRING tensor (one element per string) with its entry CRC. */
export function stringSpec(key: string, strings: Buffer[], shape: number[] = strings.length === 1 ? [] : [strings.length]): TensorSpec {
  const { data, crc } = stringTensor(strings);
  return { key, dtype: 7, shape, data, entry: { crc: maskCrc(crc) } };
}

export interface GraphNode {
  children?: [string, number][];
  key?: string;
  slots?: [number, string, number][];
}

/** A TrackableObjectGraph: node i's children by (local name, node id), a variable's checkpoint key, slots. */
export function objectGraph(nodes: GraphNode[]): Buffer {
  return Buffer.from(
    nodes.flatMap((n) =>
      pb.bytes(1, [
        ...(n.children ?? []).flatMap(([name, id]) => pb.bytes(1, [...pb.int(1, id), ...pb.bytes(2, name)])),
        ...(n.key ? pb.bytes(2, [...pb.bytes(1, 'VARIABLE_VALUE'), ...pb.bytes(3, n.key)]) : []),
        ...(n.slots ?? []).flatMap(([orig, name, slot]) => pb.bytes(3, [...pb.int(1, orig), ...pb.bytes(2, name), ...pb.int(3, slot)])),
      ]),
    ),
  );
}

export const f32 = (values: number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);
