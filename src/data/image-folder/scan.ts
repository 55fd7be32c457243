/**
 * Listing an image folder the way Keras's image_dataset_from_directory does (keras/src/utils/dataset_utils.py,
 * index_directory and iter_valid_files):
 *   classes  the subfolders of `dir` (symlinks to folders count, as os.path.isdir follows them), names starting
 *            with '.' skipped, sorted by code point (Python's sorted(), not locale or natural order: 'B' < 'a',
 *            '10' < '9'); or `classNames`, which must be a subset of them and keeps its order. Label = index.
 *   files    per class, every folder below it (os.walk: symlinked folders only with followLinks), the
 *            (folder, files) pairs sorted by the folder's full path string, then the file names sorted, each
 *            by code point; kept when the lower-cased name ends in .bmp .gif .jpeg .jpg or .png. Hidden files
 *            and folders are not skipped (os.walk does not skip them). Classes are concatenated in class order.
 *   labels   null: no classes; every image below `dir` is listed the same way, without labels.
 * Unlike Keras, a class folder with no image files, or a folder with no images at all, is an error naming it.
 */
import { Dirent, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Keras's ALLOWED_FORMATS (keras/src/utils/image_dataset_utils.py), matched case-insensitively. */
export const ALLOWED_FORMATS: readonly string[] = Object.freeze(['.bmp', '.gif', '.jpeg', '.jpg', '.png']);

export interface ScannedFile {
  path: string;
  /** Class index, or -1 without labels. */
  label: number;
  /** From stat, for the cache key; -1 when the file cannot be stat'ed (a broken link: decoding will fail). */
  size: number;
  mtimeMs: number;
}

export interface ScanOptions {
  labels?: 'inferred' | null;
  classNames?: readonly string[];
  followLinks?: boolean;
}

export interface ScanResult {
  classNames: string[];
  /** In Keras's listing order. */
  files: ScannedFile[];
}

/** Python's string order: by Unicode code point (JavaScript's < compares UTF-16 units, which differs above U+FFFF). */
export function codePointCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both are the same astral character: skip its low surrogate
  }
  return a.length - b.length;
}

export const hasImageExtension = (name: string): boolean => {
  const lower = name.toLowerCase();
  return ALLOWED_FORMATS.some((ext) => lower.endsWith(ext));
};

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a broken link
  }
}

/** os.walk(top, followlinks) as [folder, file names] pairs, in no particular order; symlink loops are cut. */
function walk(top: string, followLinks: boolean): [string, string[]][] {
  const out: [string, string[]][] = [];
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    if (followLinks) {
      const real = realpathSync(dir);
      if (seen.has(real)) return;
      seen.add(real);
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // os.walk ignores folders it cannot list
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for (const e of entries) {
      const link = e.isSymbolicLink();
      const folder = e.isDirectory() || (link && isDir(join(dir, e.name)));
      if (!folder) files.push(e.name);
      else if (!link || followLinks) dirs.push(e.name);
    }
    out.push([dir, files]);
    for (const d of dirs) visit(join(dir, d));
  };
  visit(top);
  return out;
}

/** The image files below `dir`, in Keras's order. */
export function listImageFiles(dir: string, followLinks: boolean): string[] {
  const pairs = walk(dir, followLinks).sort((a, b) => codePointCompare(a[0], b[0]));
  const out: string[] = [];
  for (const [root, files] of pairs) {
    for (const f of files.sort(codePointCompare)) if (hasImageExtension(f)) out.push(join(root, f));
  }
  return out;
}

function statFile(path: string, label: number): ScannedFile {
  try {
    const s = statSync(path);
    return { path, label, size: s.size, mtimeMs: s.mtimeMs };
  } catch {
    return { path, label, size: -1, mtimeMs: -1 };
  }
}

/** Lists classes and image files (see the file comment); `who` prefixes error messages. */
export function scanDirectory(dir: string, options: ScanOptions = {}, who = 'imageDatasetFromDirectory'): ScanResult {
  if (!isDir(dir)) throw new Error(`${who}: argument 'directory' expected an existing folder, received '${dir}'`);
  const labels = options.labels === undefined ? 'inferred' : options.labels;
  const followLinks = options.followLinks ?? false;
  const allowed = ALLOWED_FORMATS.join(' ');
  if (labels === null) {
    if (options.classNames !== undefined) throw new Error(`${who}: when labels is null (no labels), argument 'classNames' cannot be given`);
    const files = listImageFiles(dir, followLinks).map((p) => statFile(p, -1));
    if (files.length === 0) throw new Error(`${who}: no images found in folder '${dir}' (allowed: ${allowed}, any case)`);
    return { classNames: [], files };
  }
  if (labels !== 'inferred') throw new Error(`${who}: argument 'labels' expected 'inferred' or null, received ${JSON.stringify(labels)}`);
  const found = readdirSync(dir)
    .filter((name) => !name.startsWith('.') && isDir(join(dir, name)))
    .sort(codePointCompare);
  if (found.length === 0) {
    const loose = listImageFiles(dir, followLinks).length;
    throw new Error(
      `${who}: folder '${dir}' must hold one subfolder per class, received none` +
        (loose > 0 ? ` (it holds ${loose} image files directly; pass labels: null to load them without labels)` : ''),
    );
  }
  let classNames = found;
  if (options.classNames !== undefined) {
    const unknown = options.classNames.filter((c) => !found.includes(c));
    const duplicates = options.classNames.filter((c, i) => options.classNames?.indexOf(c) !== i);
    if (unknown.length > 0 || duplicates.length > 0 || options.classNames.length === 0) {
      throw new Error(
        `${who}: argument 'classNames' expected distinct names of subfolders of '${dir}' ([${found.map((c) => `'${c}'`).join(', ')}] ` +
          `or a subset), received [${options.classNames.map((c) => `'${c}'`).join(', ')}]` +
          (unknown.length > 0 ? `; not found: ${unknown.map((c) => `'${c}'`).join(', ')}` : '') +
          (duplicates.length > 0 ? `; repeated: ${duplicates.map((c) => `'${c}'`).join(', ')}` : ''),
      );
    }
    classNames = [...options.classNames];
  }
  const files: ScannedFile[] = [];
  classNames.forEach((name, label) => {
    const classDir = join(dir, name);
    const paths = listImageFiles(classDir, followLinks);
    if (paths.length === 0) throw new Error(`${who}: class folder '${classDir}' holds no image files (allowed: ${allowed}, any case); remove it or leave it out of classNames`);
    for (const p of paths) files.push(statFile(p, label));
  });
  return { classNames, files };
}
