import { Shape, sizeOf } from '../tensor/shape.js';
import { FloatArray } from '../tensor/tensor.js';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
 * { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { string: string } }, then the raw
 * little-endian tensor bytes. Simple, zero-parse for the data, and readable from Python.
 */
export interface NamedArray {
  name: string;
  shape: Shape;
  data: FloatArray;
}

const DTYPES = { F32: 4, F64: 8 } as const;

export function encodeSafetensors(tensors: readonly NamedArray[], metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) throw new Error(`safetensors: duplicate tensor name '${t.name}'`);
    const bytes = t.data.byteLength;
    header[t.name] = { dtype: t.data instanceof Float64Array ? 'F64' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (the format allows trailing spaces).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8);
  return [head, ...tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

/** Parses and validates a safetensors file; `what` names it in errors. Never returns a partial result. */
export function decodeSafetensors(buf: Uint8Array, what: string): { tensors: NamedArray[]; metadata: Record<string, string> } {
  const bad = (why: string): never => {
    throw new Error(`${what}: not a valid safetensors file (${why})`);
  };
  if (buf.length < 8) bad(`${buf.length} bytes, shorter than the 8-byte header length`);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.readBigUInt64LE(0));
  if (headerLen > buf.length - 8) bad(`header of ${headerLen} bytes announced, only ${buf.length - 8} present: the file is truncated`);
  type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(view.toString('utf8', 8, 8 + headerLen));
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors: NamedArray[] = [];
  let end = 0;
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as Entry;
    if (!info || !Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) bad(`tensor '${name}' has no shape or data_offsets`);
    const width = DTYPES[info.dtype as keyof typeof DTYPES];
    if (!width) bad(`tensor '${name}' has dtype ${info.dtype}; convkit reads F32 and F64`);
    const [b, e] = info.data_offsets;
    if (!(b >= 0 && e >= b && e <= dataLen)) bad(`tensor '${name}' spans bytes [${b}, ${e}) beyond the ${dataLen} data bytes: the file is truncated`);
    if (e - b !== sizeOf(info.shape) * width) bad(`tensor '${name}' of shape [${info.shape}] needs ${sizeOf(info.shape) * width} bytes, has ${e - b}`);
    // Copy out, so the arrays are aligned and independent of the file buffer. (Buffer#slice would return a
    // view into Node's shared pool, whose .buffer starts elsewhere.)
    const bytes = new Uint8Array(buf.subarray(dataStart + b, dataStart + e));
    const data = width === 8 ? new Float64Array(bytes.buffer, 0, (e - b) / 8) : new Float32Array(bytes.buffer, 0, (e - b) / 4);
    tensors.push({ name, shape: info.shape, data });
    end = Math.max(end, e);
  }
  if (end !== dataLen) bad(`${dataLen} data bytes present, tensors account for ${end}`);
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}
