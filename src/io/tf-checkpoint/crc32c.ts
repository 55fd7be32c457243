/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum LevelDB tables and TensorFlow's tensor
 * bundles use, plus LevelDB's "mask". Node's zlib offers CRC-32 (a different polynomial), hence our own.
 *
 * Slicing-by-8 (eight 256-entry tables, eight bytes per step) because a data shard is checked in full on every
 * load: a byte-at-a-time loop costs ~4 ms per MB here, this ~1 ms.
 */
const POLY = 0x82f63b78;

const TABLES = ((): Uint32Array[] => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0][i] = c >>> 0;
  }
  // t[k][i]: the CRC of byte i followed by k zero bytes, so eight bytes combine with one lookup each.
  for (let k = 1; k < 8; k++) for (let i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >>> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
})();

/** Extends a CRC-32C `crc` (0 to start) with `bytes`; returns the unsigned 32-bit value. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  for (; i + 8 <= n; i += 8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t7[c & 0xff] ^ t6[(c >>> 8) & 0xff] ^ t5[(c >>> 16) & 0xff] ^ t4[c >>> 24] ^ t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// LevelDB stores checksums "masked" (rotated and offset) because a CRC computed over data that itself holds
// CRCs is weak; TensorFlow kept the convention for block trailers and BundleEntryProto.crc32c.
const MASK_DELTA = 0xa282ead8;

export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** 0x-prefixed, 8 hex digits: how checksums appear in error messages. */
export const hex32 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
