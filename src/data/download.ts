/**
 * Fetching and installing dataset archives into the cache: stream to a temporary file while hashing,
 * check the md5 before anything is extracted, extract into a temporary folder, then rename into place.
 * A crash or a bad download therefore never leaves a half-written dataset where a loader would find it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { extractTarGz } from './tar.js';

/** Called as bytes arrive; bytesTotal is null when the server sends no Content-Length. */
export type ProgressCallback = (bytesDone: number, bytesTotal: number | null) => void;

/** A fetch-compatible function; injectable so tests exercise the streaming path without any network. */
export type FetchLike = (url: string) => Promise<Response>;

/** `$CONVKIT_DATA`, else ~/.cache/convkit. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.CONVKIT_DATA;
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.cache', 'convkit');
}

export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws, naming the file and both checksums, unless the file's md5 is `expected`. */
export async function verifyMd5(path: string, expected: string): Promise<void> {
  const actual = await md5File(path);
  if (actual !== expected.toLowerCase()) {
    throw new Error(`md5 of ${path} must be ${expected}, received ${actual}: the file is corrupt or incomplete`);
  }
}

export interface DownloadOptions {
  onProgress?: ProgressCallback;
  /** When given, the download is refused (and nothing is left behind) unless its md5 matches. */
  md5?: string;
  /** The same for the SHA-256 (hex); both are checked when both are given. */
  sha256?: string;
  fetch?: FetchLike;
}

/** Streams `url` to `dest` through a temporary file in the same folder, renamed only once complete and verified. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  const fetchImpl: FetchLike = options.fetch ?? ((u) => fetch(u));
  await mkdir(dirname(dest), { recursive: true });
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (err) {
    throw new Error(`could not download ${url}: ${describe(err)}`);
  }
  if (!response.ok || response.body === null) {
    throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const header = response.headers.get('content-length');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  const temp = `${dest}.part-${process.pid}-${Date.now().toString(36)}`;
  const hash = createHash('md5');
  const sha256 = options.sha256 !== undefined ? createHash('sha256') : null;
  const handle = await open(temp, 'w', 0o644);
  let done = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done: finished, value } = await reader.read();
      if (finished) break;
      hash.update(value);
      sha256?.update(value);
      let written = 0;
      while (written < value.length) {
        written += (await handle.write(value, written, value.length - written)).bytesWritten;
      }
      done += value.length;
      options.onProgress?.(done, total);
    }
    if (total !== null && done !== total) {
      throw new Error(`could not download ${url}: received ${done} bytes, Content-Length promised ${total}`);
    }
    const actual = hash.digest('hex');
    if (options.md5 !== undefined && actual !== options.md5.toLowerCase()) {
      throw new Error(`md5 of the download from ${url} must be ${options.md5}, received ${actual}`);
    }
    const actualSha = sha256?.digest('hex');
    if (options.sha256 !== undefined && actualSha !== options.sha256.toLowerCase()) {
      throw new Error(`sha256 of the download from ${url} must be ${options.sha256}, received ${actualSha}`);
    }
    await handle.sync();
    await handle.close();
    await rename(temp, dest);
  } catch (err) {
    await handle.close().catch(() => undefined); // already closed on the success path's failure points
    await rm(temp, { force: true });
    throw err;
  }
}

export interface InstallArchiveOptions {
  /** The top-level folder the archive holds and that is installed, e.g. 'cifar-10-batches-bin'. */
  folder: string;
  /** Files that must be inside `folder` once extracted. */
  requiredFiles: readonly string[];
  /** Checked before extraction when given. */
  md5?: string;
}

/**
 * Verifies and extracts a .tar.gz into `cacheDir/<folder>`, replacing what was there. Extraction goes to a
 * temporary folder beside the target and is renamed into place, so readers see all of it or none.
 * Returns the installed folder's path.
 */
export async function installArchive(archivePath: string, cacheDir: string, options: InstallArchiveOptions): Promise<string> {
  if (options.md5 !== undefined) await verifyMd5(archivePath, options.md5);
  await mkdir(cacheDir, { recursive: true });
  const target = join(cacheDir, options.folder);
  const temp = await mkdtemp(join(cacheDir, `.${options.folder}.tmp-`));
  try {
    const prefix = `${options.folder}/`;
    await extractTarGz(archivePath, temp, { filter: (p) => p === options.folder || p.startsWith(prefix) });
    const extracted = join(temp, options.folder);
    const missing = options.requiredFiles.filter((f) => !existsSync(join(extracted, f)));
    if (missing.length > 0) {
      throw new Error(
        `archive ${archivePath} must contain ${options.folder}/ with ${options.requiredFiles.join(', ')}; ` +
          `missing: ${missing.join(', ')}`,
      );
    }
    if (existsSync(target)) {
      // Move the old copy aside first so the rename below cannot fail on a non-empty target.
      await rename(target, join(temp, `${options.folder}.old`));
    }
    await rename(extracted, target);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

export interface FetchArchiveOptions extends InstallArchiveOptions {
  url: string;
  cacheDir: string;
  onProgress?: ProgressCallback;
  fetch?: FetchLike;
}

/**
 * Downloads `url` into `cacheDir` (unless a copy with the right md5 is already there) and installs it.
 * The archive is kept, so a deleted or damaged dataset folder is rebuilt without another download.
 */
export async function fetchAndInstallArchive(options: FetchArchiveOptions): Promise<string> {
  const archive = join(options.cacheDir, basename(new URL(options.url).pathname));
  const haveArchive = existsSync(archive) && (await stat(archive)).isFile();
  const archiveOk = haveArchive && (options.md5 === undefined || (await md5File(archive)) === options.md5.toLowerCase());
  if (!archiveOk) {
    try {
      await downloadFile(options.url, archive, { onProgress: options.onProgress, md5: options.md5, fetch: options.fetch });
    } catch (err) {
      throw new Error(
        `${describe(err)}. If this machine cannot reach ${new URL(options.url).host}, download ${options.url} ` +
          `elsewhere and copy it to ${archive}, then run again.`,
      );
    }
  }
  return installArchive(archive, options.cacheDir, options);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
