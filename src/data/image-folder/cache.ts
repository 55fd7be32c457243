/**
 * Where prepared images live after the first pass, so later epochs never decode again:
 *   memory  one Uint8Array of n * h * w * c bytes, when that fits the memory budget;
 *   disk    a cache file of the same bytes, `<cacheDir>/<key>.u8`, read back one batch at a time with
 *           positioned reads (readSync), so a data source over it holds at most one batch of bytes.
 * The disk file is named by a key: the SHA-256 of the file list (path, size, mtime of every image, in a fixed
 * order) and of the preparation settings, so a later run over the same unchanged files with the same options
 * reuses it, and any change (a file added, touched or removed; another size or colour mode) makes a new one.
 * Old files are not deleted; remove the folder to reclaim the space.
 *
 * Writing is atomic like the dataset downloads: bytes go to a temporary file (created at full size first, so
 * a full disk fails at once), then fsync, rename, and last the `<key>.json` description, whose presence marks a
 * complete entry. It also records the files that could not be decoded, so a reuse skips them without retrying.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PrepareSpec, preparedBytes } from './prepare.js';

/** Bumped whenever the prepared bytes for the same inputs could change (decoder or resize behaviour). */
const CACHE_VERSION = 1;

export interface PixelStore {
  readonly kind: 'memory' | 'disk';
  readonly imageBytes: number;
  /** Copies image slots[k] to dst at k * imageBytes, for every k. */
  readSlots(slots: ArrayLike<number>, dst: Uint8Array): void;
}

export class MemoryStore implements PixelStore {
  readonly kind = 'memory';
  constructor(readonly images: Uint8Array, readonly imageBytes: number) {}

  readSlots(slots: ArrayLike<number>, dst: Uint8Array): void {
    const b = this.imageBytes;
    for (let k = 0; k < slots.length; k++) dst.set(this.images.subarray(slots[k] * b, (slots[k] + 1) * b), k * b);
  }
}

export class DiskStore implements PixelStore {
  readonly kind = 'disk';
  constructor(readonly path: string, readonly imageBytes: number, readonly slotCount: number) {}

  /** Opens the file per call: no descriptor outlives a batch, so nothing needs closing by the user. */
  readSlots(slots: ArrayLike<number>, dst: Uint8Array): void {
    const b = this.imageBytes;
    const fd = openSync(this.path, 'r');
    try {
      for (let k = 0; k < slots.length; k++) {
        let got = 0;
        while (got < b) {
          const r = readSync(fd, dst, k * b + got, b - got, slots[k] * b + got);
          if (r === 0) throw new Error(`image cache ${this.path}: ended inside image ${slots[k]} (was it truncated or deleted?)`);
          got += r;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}

export interface CacheFileInfo {
  path: string;
  size: number;
  mtimeMs: number;
}

/** SHA-256 (hex) of the settings and of every file's path, size and mtime, in the given order. */
export function cacheKey(files: readonly CacheFileInfo[], spec: PrepareSpec): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ version: CACHE_VERSION, spec }));
  for (const f of files) h.update(`\n${f.path}\0${f.size}\0${f.mtimeMs}`);
  return h.digest('hex');
}

interface CacheMeta {
  version: number;
  key: string;
  slots: number;
  imageBytes: number;
  spec: PrepareSpec;
  /** [slot, reason] of the files that could not be decoded. */
  failed: [number, string][];
}

export interface CacheEntry {
  store: DiskStore;
  failed: Map<number, string>;
}

/** The complete cache entry for `key`, or null when there is none (or it does not match). */
export function openCached(dir: string, key: string, spec: PrepareSpec, slots: number): CacheEntry | null {
  const metaPath = join(dir, `${key}.json`);
  const dataPath = join(dir, `${key}.u8`);
  if (!existsSync(metaPath) || !existsSync(dataPath)) return null;
  let meta: CacheMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
  const imageBytes = preparedBytes(spec);
  if (meta.version !== CACHE_VERSION || meta.key !== key || meta.slots !== slots || meta.imageBytes !== imageBytes) return null;
  if (statSync(dataPath).size !== slots * imageBytes) return null;
  return { store: new DiskStore(dataPath, imageBytes, slots), failed: new Map(meta.failed) };
}

/** Bytes free to this user on the file system holding `dir`, or null when unknown. */
function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Builds one cache entry: write() each slot as it is decoded, fail() the ones that cannot be, then commit(). */
export class DiskCacheWriter {
  private readonly temp: string;
  private fd: number;
  private readonly failed = new Map<number, string>();
  readonly imageBytes: number;

  constructor(private readonly dir: string, private readonly key: string, private readonly spec: PrepareSpec, private readonly slots: number) {
    this.imageBytes = preparedBytes(spec);
    mkdirSync(dir, { recursive: true });
    const need = slots * this.imageBytes;
    const free = freeBytes(dir);
    if (free !== null && need > free) {
      throw new Error(
        `image cache: ${slots} images of ${this.imageBytes} bytes need ${need} bytes in ${dir}, but only ${free} are free; ` +
          'choose another cacheDir, a smaller imageSize, or a memoryBudget that holds them in memory',
      );
    }
    this.temp = join(dir, `.${key}.u8.part-${process.pid}-${Date.now().toString(36)}`);
    this.fd = openSync(this.temp, 'w+', 0o644); // read back too: a process sends its share to the others (first-pass.ts)
    try {
      ftruncateSync(this.fd, need);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  write(slot: number, data: Uint8Array): void {
    if (data.length !== this.imageBytes) throw new Error(`image cache: slot ${slot} expected ${this.imageBytes} bytes, received ${data.length}`);
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, slot * this.imageBytes + done);
  }

  /** Slot's bytes as written so far (zeros where nothing was). */
  read(slot: number, dst: Uint8Array): void {
    if (dst.length !== this.imageBytes) throw new Error(`image cache: slot ${slot} expected a ${this.imageBytes}-byte buffer, received ${dst.length}`);
    let done = 0;
    while (done < dst.length) {
      const r = readSync(this.fd, dst, done, dst.length - done, slot * this.imageBytes + done);
      if (r === 0) throw new Error(`image cache ${this.temp}: ended inside slot ${slot}`);
      done += r;
    }
  }

  fail(slot: number, reason: string): void {
    this.failed.set(slot, reason);
  }

  commit(): CacheEntry {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    const dataPath = join(this.dir, `${this.key}.u8`);
    renameSync(this.temp, dataPath);
    const meta: CacheMeta = { version: CACHE_VERSION, key: this.key, slots: this.slots, imageBytes: this.imageBytes, spec: this.spec, failed: [...this.failed] };
    const metaTemp = join(this.dir, `.${this.key}.json.part-${process.pid}`);
    writeFileSync(metaTemp, JSON.stringify(meta));
    renameSync(metaTemp, join(this.dir, `${this.key}.json`));
    return { store: new DiskStore(dataPath, this.imageBytes, this.slots), failed: new Map(this.failed) };
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.temp, { force: true });
  }
}
