import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';

/**
 * Where a TF checkpoint is, from what a user passes, as Keras's `load_weights` takes it:
 *   `ckpt/LeNet5.ckpt`                       the prefix (`ckpt/LeNet5.ckpt.index` exists)
 *   `ckpt/LeNet5.ckpt.index`                 the index file
 *   `ckpt/LeNet5.ckpt.data-00000-of-00001`   a data shard (convenience: the prefix is what precedes it)
 *   `ckpt/`                                  a folder holding TensorFlow's `checkpoint` state file, whose
 *                                            `model_checkpoint_path` names the latest prefix (relative to the
 *                                            folder unless absolute), as tf.train.latest_checkpoint reads it;
 *                                            an absolute one that is gone is looked for in the folder
 */
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const SHARD = /\.data-\d{5}-of-\d{5}$/;
/** A state file lists a handful of paths; anything much larger is not one. */
const MAX_STATE_BYTES = 1 << 20;

/** True when `path` names a TF checkpoint in one of the forms above (its contents are not checked here). */
export function isTfCheckpoint(path: string): boolean {
  if (path.endsWith('.index')) return true;
  if (isFile(`${path}.index`)) return true;
  if (SHARD.test(path) && isFile(`${path.replace(SHARD, '')}.index`)) return true;
  return isDir(path) && isFile(join(path, 'checkpoint'));
}

/** The checkpoint prefix `path` stands for; throws one line naming the file when it cannot be found. */
export function resolveTfCheckpointPrefix(path: string): string {
  if (path.endsWith('.index')) return path.slice(0, -'.index'.length);
  if (isFile(`${path}.index`)) return path;
  if (SHARD.test(path) && isFile(`${path.replace(SHARD, '')}.index`)) return path.replace(SHARD, '');
  if (isDir(path)) {
    const state = join(path, 'checkpoint');
    if (!isFile(state)) throw new Error(`TF checkpoint folder '${path}': expected a 'checkpoint' state file naming the latest checkpoint, received none`);
    const name = latestFromState(state);
    if (!isAbsolute(name)) return join(path, name);
    // An absolute path from the machine that trained: when the folder was copied, its files are here instead.
    const moved = join(path, basename(name));
    return !isFile(`${name}.index`) && isFile(`${moved}.index`) ? moved : name;
  }
  throw new Error(`TF checkpoint '${path}': expected '${path}.index' (or a folder with a 'checkpoint' file), received no such file`);
}

/** `model_checkpoint_path` of a CheckpointState text proto (tensorflow/python/checkpoint/checkpoint_management.py). */
function latestFromState(state: string): string {
  const size = statSync(state).size;
  if (size > MAX_STATE_BYTES) throw new Error(`TF checkpoint state '${state}': expected a small text file, received ${size} bytes`);
  const m = /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\\n]|\\.)*)"\s*$/m.exec(readFileSync(state, 'latin1'));
  if (!m || m[1].length === 0) throw new Error(`TF checkpoint state '${state}': expected a line model_checkpoint_path: "<prefix>", received none`);
  return unescapeText(m[1]);
}

/**
 * Protobuf text format escapes the path's UTF-8 bytes C-style (\\ \" \' \n \t \r, octal \ooo, hex \xhh); the
 * file was read as latin1 so each character is one byte, and the bytes are decoded as UTF-8 at the end.
 */
function unescapeText(s: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, '"': 34, "'": 39, a: 7, b: 8, f: 12, v: 11, '?': 63 };
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      bytes.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const c = s[++i];
    const oct = /^[0-7]{1,3}/.exec(s.slice(i, i + 3));
    const hex = c === 'x' ? /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1, i + 3)) : null;
    if (oct) {
      bytes.push(parseInt(oct[0], 8) & 0xff);
      i += oct[0].length - 1;
    } else if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += hex[0].length;
    } else bytes.push(simple[c] ?? c.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}
