import { openSync, readSync, closeSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dataset, File as H5File, Group } from 'h5wasm';

/**
 * A thin, read-only view of an HDF5 file through h5wasm (the HDF5 C library compiled to WebAssembly, shipped
 * inside the npm package; no native binary). h5wasm loads asynchronously and takes about half a second, so
 * it is imported on first use only: importing convkit does not pay for it.
 */
interface H5Lib {
  api: typeof import('h5wasm').default;
  module: Awaited<typeof import('h5wasm').default.ready>;
}
let lib: Promise<H5Lib> | null = null;

/** The h5wasm module, ready to open files (loaded once per process). */
export function h5wasmReady(): Promise<H5Lib> {
  lib ??= import('h5wasm/node').then(async (m) => ({ api: m.default, module: await m.default.ready }));
  return lib;
}

/** HDF5's signature; the superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when the file at `path` starts (at 0 or a user-block offset up to 8 KiB) with the HDF5 signature. */
export function isHdf5File(path: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let offset = 0; offset <= 8192; offset = offset === 0 ? 512 : offset * 2) {
      if (readSync(fd, buf, 0, 8, offset) < 8) return false;
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The first n bytes of a file (fewer when it is shorter, the rest zero). */
export function readFileHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** One float dataset: where it is, its shape, and a reader that converts it to float32. */
export interface H5Array {
  /** Full HDF5 path, e.g. `/conv_dw_1/conv_dw_1/depthwise_kernel:0`. */
  path: string;
  shape: number[];
  read(): Float32Array;
}

/** The reading helpers the Keras layouts need, bound to one open file. */
export class H5Reader {
  private constructor(
    readonly path: string,
    private readonly h5: H5Lib,
    private readonly file: H5File,
  ) {}

  /** Opens `path` read-only, runs `use`, and closes the file whatever happens. */
  static async with<T>(path: string, use: (r: H5Reader) => T | Promise<T>): Promise<T> {
    if (!existsSync(path)) throw new Error(`HDF5 file '${path}': no such file`);
    if (!isHdf5File(path)) {
      const head = readFileHead(path, 4);
      const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
      throw new Error(`HDF5 file '${path}': not an HDF5 file (no HDF5 signature)${zip ? '; it is a zip archive (a .keras file?): extract its model.weights.h5 and load that' : ''}`);
    }
    const h5 = await h5wasmReady();
    let file: H5File;
    try {
      file = new h5.api.File(resolve(path), 'r');
    } catch (e) {
      throw new Error(`HDF5 file '${path}': cannot be opened (${(e as Error).message})`);
    }
    try {
      return await use(new H5Reader(path, h5, file));
    } catch (e) {
      // The HDF5 library's own failures on a damaged file ('name not defined!', RuntimeError) say nothing of
      // which file or why: say it. Errors of ours already name the file.
      const message = (e as Error).message ?? String(e);
      if (message.includes(path)) throw e;
      throw new Error(`HDF5 file '${path}': cannot be read (${message}); the file is truncated or corrupt`);
    } finally {
      try {
        file.close();
      } catch {
        // A file whose header the library could not parse may fail to close as well; it holds nothing.
      }
    }
  }

  /** The group at an absolute path, or null when there is none (or it is not a group). */
  group(path: string): Group | null {
    const e = path === '/' ? this.file : this.file.get(path);
    return e instanceof this.h5.api.Group ? e : null;
  }

  /** The dataset at an absolute path, or null. */
  dataset(path: string): Dataset | null {
    const e = this.file.get(path);
    return e instanceof this.h5.api.Dataset ? e : null;
  }

  /** Names of a group's children that are groups (HDF5 lists them alphabetically). */
  subgroups(path: string): string[] {
    const g = this.group(path);
    if (!g) return [];
    return g.keys().filter((k) => g.get(k) instanceof this.h5.api.Group);
  }

  /** Names of a group's children that are datasets. */
  datasets(path: string): string[] {
    const g = this.group(path);
    if (!g) return [];
    return g.keys().filter((k) => g.get(k) instanceof this.h5.api.Dataset);
  }

  hasAttr(path: string, name: string): boolean {
    const g = path === '/' ? this.file : this.file.get(path);
    return !!g && 'attrs' in g && Object.prototype.hasOwnProperty.call(g.attrs, name);
  }

  /**
   * A string-array attribute (h5py writes Python byte strings as fixed-length, null-padded strings and str as
   * variable-length UTF-8; h5wasm decodes both). A zero-length attribute of any type (old Keras wrote an empty
   * list as a float64 array) is an empty list; a missing one is null.
   */
  stringsAttr(path: string, name: string): string[] | null {
    if (!this.hasAttr(path, name)) return null;
    const g = (path === '/' ? this.file : this.file.get(path)) as Group;
    const v = g.attrs[name].value;
    if (v === null || v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (ArrayBuffer.isView(v)) {
      if ((v as unknown as { length: number }).length === 0) return [];
      if (v instanceof Uint8Array) return [new TextDecoder().decode(v).replace(/\0+$/, '')];
      throw new Error(`HDF5 file '${this.path}': attribute '${name}' of '${path}' expected strings, received numbers`);
    }
    if (Array.isArray(v)) return (v as unknown[]).flat(8).map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)).replace(/\0+$/, ''));
    return [String(v)];
  }

  /**
   * An attribute that Keras may have split into `name0`, `name1`, ... because it would not fit an HDF5 object
   * header (64 KiB); the parts are concatenated. Null when neither form exists.
   */
  chunkedStringsAttr(path: string, name: string): string[] | null {
    const whole = this.stringsAttr(path, name);
    if (whole !== null) return whole;
    const out: string[] = [];
    for (let i = 0; this.hasAttr(path, `${name}${i}`); i++) out.push(...(this.stringsAttr(path, `${name}${i}`) ?? []));
    return this.hasAttr(path, `${name}0`) ? out : null;
  }

  /** A dataset as an H5Array; throws naming the path when it is missing or not a float array. */
  array(path: string): H5Array {
    const d = this.dataset(path);
    if (!d) throw new Error(`HDF5 file '${this.path}': no dataset '${path}'`);
    const shape = [...(d.shape ?? [])];
    const meta = d.metadata;
    const bf16 = this.stringsAttr(path, 'dtype')?.[0] === 'bfloat16';
    const isFloat = meta.type === this.h5.module.H5T_class_t.H5T_FLOAT.value;
    if (!bf16 && !(isFloat && (meta.size === 4 || meta.size === 8))) {
      throw new Error(`HDF5 file '${this.path}': dataset '${path}' has dtype '${String(d.dtype)}'; convkit reads float32, float64 and bfloat16 weights`);
    }
    const file = this.path;
    return {
      path,
      shape,
      read(): Float32Array {
        const v = d.value;
        if (v instanceof Float32Array) return v;
        if (v instanceof Float64Array) return Float32Array.from(v);
        if (bf16 && (v instanceof Uint16Array || v instanceof Int16Array)) {
          // bfloat16 is the top half of a float32.
          const bits = new Uint32Array(v.length);
          for (let i = 0; i < v.length; i++) bits[i] = (v[i] & 0xffff) << 16;
          return new Float32Array(bits.buffer);
        }
        if (typeof v === 'number') return Float32Array.of(v);
        throw new Error(`HDF5 file '${file}': dataset '${path}' did not read as a float array`);
      },
    };
  }
}
