/**
 * Bounded readers for the little-endian integers of LevelDB tables and tensor bundles. Untrusted input: each
 * read checks the end it may not pass and the width the value may not exceed, and reports through `fail`,
 * which names the file and the field, so a caller's error stays one line.
 */
export type Fail = (what: string) => never;

/**
 * A base-128 varint at `pos` (not past `end`) of at most `bits` bits (LevelDB's varint32 / varint64). Values
 * are returned as numbers, so a varint64 above 2^53 - 1 is refused: no offset or size in a file we can read
 * gets near it, and a silently rounded offset would read the wrong bytes.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, bits: 32 | 64, field: string, fail: Fail): [value: number, next: number] {
  const maxBytes = bits === 32 ? 5 : 10;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) fail(`${field}: expected a varint, received ${i === 0 ? 'nothing' : `${i} byte${i > 1 ? 's' : ''} with the continuation bit set`} before the end (byte ${end})`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      const limit = bits === 32 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
      if (value > limit) fail(`${field}: expected a varint${bits} of at most ${limit}, received one of about ${value.toPrecision(4)}`);
      return [value, pos];
    }
    scale *= 128;
  }
  return fail(`${field}: expected a varint${bits} of at most ${maxBytes} bytes, received a longer one (every byte has the continuation bit set)`);
}

/** Unsigned 32-bit little-endian at `pos`; the caller has checked that 4 bytes are there. */
export const u32le = (buf: Uint8Array, pos: number): number => (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
