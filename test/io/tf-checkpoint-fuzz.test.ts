import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/index.js';
import { crc32c, maskCrc } from '../../src/io/tf-checkpoint/crc32c.js';
import { OBJECT_GRAPH_KEY, loadTfCheckpoint, readTfCheckpoint } from '../../src/io/tf-checkpoint/index.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import type { Model } from '../../src/models/model.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { createModel } from '../../src/zoo/index.js';
import { TensorSpec, stringSpec, varint, writeBundle } from './tf-checkpoint-writer.js';

/**
 * Mutations of the real LeNet5 checkpoint: each load either succeeds or throws a plain Error whose message
 * names the mutated file, within a time bound, and a throw leaves the model's weights bit-identical.
 * Seeded, so a failure reproduces; the case is named in the assertion message.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const realDir = resolve(process.env.CONVKIT_SHARED ?? resolve(root, '../shared'), 'data/real-keras');
const source = join(realDir, 'oumanatsumi__CIFAR10-Tensorflow__LeNet5.ckpt');
const skip = existsSync(`${source}.index`) ? false : `the real TF checkpoints are not at ${realDir} (shared/ beside the repository root, or CONVKIT_SHARED)`;

const dir = mkdtempSync(join(tmpdir(), 'tf-ckpt-fuzz-'));
const SHARD = '.data-00000-of-00001';
/** Generous for a 750 KB checkpoint read in ~10 ms: what it catches is a hang or a runaway allocation. */
const TIME_LIMIT_MS = 1500;

interface Tally {
  loaded: number;
  threw: number;
}

function fuzzModel(): { model: Model; attempt: (prefix: string, what: string, mustThrow?: boolean) => void; tally: Tally } {
  resetLayerNames();
  setSeed(11);
  const model = createModel('lenet5');
  let snapshot = model.weights.map((w) => Float32Array.from(w.data));
  const tally = { loaded: 0, threw: 0 };
  const attempt = (prefix: string, what: string, mustThrow = false): void => {
    const t0 = performance.now();
    let error: unknown = null;
    try {
      loadTfCheckpoint(model, prefix);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    assert.ok(ms < TIME_LIMIT_MS, `${what}: took ${ms.toFixed(0)} ms`);
    if (error === null) {
      assert.ok(!mustThrow, `${what}: expected an error, the load succeeded`);
      tally.loaded++;
      snapshot = model.weights.map((w) => Float32Array.from(w.data));
      return;
    }
    tally.threw++;
    assert.ok(error instanceof Error && Object.getPrototypeOf(error) === Error.prototype, `${what}: expected a plain Error, received ${String(error)}`);
    const name = prefix.slice(prefix.lastIndexOf('/') + 1);
    assert.ok(error.message.includes(name), `${what}: the message names the file: ${error.message}`);
    // A parse error is one line; only the does-not-fit listing (a mutation that still parses) has several.
    assert.ok(!error.message.includes('\n') || /^TF checkpoint '.*' does not fit model/.test(error.message), `${what}: one line: ${error.message}`);
    model.weights.forEach((w, i) => assert.deepEqual(w.data, snapshot[i], `${what}: ${w.name} changed by a failed load`));
  };
  return { model, attempt, tally };
}

/** The block handles of a table, read here without the reader under test (footer, then the index block). */
function blocks(index: Buffer): { offset: number; size: number }[] {
  let pos = 0;
  const v = (buf: Buffer): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = buf[pos++];
      n += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return n;
    }
  };
  const footer = index.subarray(index.length - 48);
  const meta = { offset: v(footer), size: v(footer) };
  const idx = { offset: v(footer), size: v(footer) };
  const body = index.subarray(idx.offset, idx.offset + idx.size);
  const end = body.length - 4 - 4 * body.readUInt32LE(body.length - 4);
  const data: { offset: number; size: number }[] = [];
  pos = 0;
  while (pos < end) {
    v(body);
    const keyLength = v(body);
    v(body);
    pos += keyLength;
    data.push({ offset: v(body), size: v(body) });
  }
  return [...data, meta, idx];
}

/** Recomputes the trailer CRC of the block holding byte `at`, so a mutation gets past the checksum. */
function fixCrc(index: Buffer, at: number): void {
  const b = blocks(index).find((h) => at >= h.offset && at < h.offset + h.size);
  if (!b) return;
  index.writeUInt32LE(maskCrc(crc32c(index.subarray(b.offset + b.size, b.offset + b.size + 1), crc32c(index.subarray(b.offset, b.offset + b.size)))), b.offset + b.size + 1);
}

test('fuzz: truncated and bit-flipped index files fail cleanly (raw, and with block CRCs repaired)', { skip }, () => {
  const index = readFileSync(`${source}.index`);
  const prefix = join(dir, 'index.ckpt');
  copyFileSync(`${source}${SHARD}`, `${prefix}${SHARD}`);
  const { attempt, tally } = fuzzModel();
  attempt(prefix + '-missing', 'no index at all', true);
  for (let n = 0; n < index.length; n += n > index.length - 64 ? 1 : 11) {
    writeFileSync(`${prefix}.index`, index.subarray(0, n));
    attempt(prefix, `index truncated to ${n} bytes`, true);
  }
  const rng = new Random(5);
  const dataBlock = blocks(index)[0];
  for (let k = 0; k < 700; k++) {
    const repaired = k >= 300;
    const mutated = Buffer.from(index);
    // Repaired mutations stay inside the data block (entries, protos), where the parser has most to check.
    const at = repaired ? dataBlock.offset + Math.floor(rng.uniform() * dataBlock.size) : Math.floor(rng.uniform() * index.length);
    const bit = Math.floor(rng.uniform() * 8);
    mutated[at] ^= 1 << bit;
    if (repaired) fixCrc(mutated, at);
    writeFileSync(`${prefix}.index`, mutated);
    attempt(prefix, `index bit ${bit} of byte ${at} flipped${repaired ? ', CRC repaired' : ''}`);
  }
  assert.ok(tally.threw > 3 * tally.loaded, `most mutations are caught (${JSON.stringify(tally)})`);
});

test('fuzz: grown size and offset fields, truncated and bit-flipped data shards always fail', { skip }, () => {
  const index = readFileSync(`${source}.index`);
  const ckpt = readTfCheckpoint(source);
  const prefix = join(dir, 'grown.ckpt');
  copyFileSync(`${source}${SHARD}`, `${prefix}${SHARD}`);
  const { attempt } = fuzzModel();
  // BundleEntryProto: ... 0x20 offset 0x28 size 0x35 crc. Each field is grown to the largest varint of its width.
  for (const e of ckpt.entries) {
    for (const [field, tag, value, next] of [['size', 0x28, e.size, 0x35], ['offset', 0x20, e.offset, 0x28]] as const) {
      const pattern = Buffer.from([tag, ...varint(value), next]);
      const at = index.indexOf(pattern);
      if (at < 0) continue;
      const mutated = Buffer.from(index);
      for (let i = 1; i < pattern.length - 1; i++) mutated[at + i] = i < pattern.length - 2 ? 0xff : 0x7f;
      fixCrc(mutated, at);
      writeFileSync(`${prefix}.index`, mutated);
      attempt(prefix, `${field} of '${e.key}' grown`, true);
    }
  }
  const data = readFileSync(`${source}${SHARD}`);
  const shardPrefix = join(dir, 'shard.ckpt');
  copyFileSync(`${source}.index`, `${shardPrefix}.index`);
  const rng = new Random(6);
  for (const n of [0, 1, 1800, 248024, data.length - 3951, data.length - 1, ...Array.from({ length: 10 }, () => Math.floor(rng.uniform() * data.length))]) {
    writeFileSync(`${shardPrefix}${SHARD}`, data.subarray(0, n));
    attempt(shardPrefix, `data truncated to ${n} bytes`, true);
  }
  // Every byte of this shard belongs to a tensor, and every tensor carries a CRC: each flip must be caught.
  for (let k = 0; k < 40; k++) {
    const mutated = Buffer.from(data);
    const at = Math.floor(rng.uniform() * data.length);
    mutated[at] ^= 1 << Math.floor(rng.uniform() * 8);
    writeFileSync(`${shardPrefix}${SHARD}`, mutated);
    attempt(shardPrefix, `data byte ${at} flipped`, true);
  }
});

test('fuzz: garbage object graphs with valid checksums fail cleanly', { skip }, () => {
  const ckpt = readTfCheckpoint(source);
  const data = readFileSync(`${source}${SHARD}`);
  const graph = Buffer.from((ckpt.get(OBJECT_GRAPH_KEY)!.read() as Uint8Array[])[0]);
  // The real tensors rewritten by the test writer, so the graph can change and keep correct CRCs.
  const tensors: TensorSpec[] = ckpt.entries
    .filter((e) => e.key !== OBJECT_GRAPH_KEY)
    .map((e) => ({ key: e.key, dtype: e.dtype, shape: e.shape, data: data.subarray(e.offset, e.offset + e.size) }));
  const prefix = join(dir, 'graph.ckpt');
  const { attempt, tally } = fuzzModel();
  const rng = new Random(7);
  for (let k = 0; k < 120; k++) {
    let g = Buffer.from(graph);
    const kind = k % 3;
    if (kind === 0) for (let f = 0; f < 1 + (k % 5); f++) g[Math.floor(rng.uniform() * g.length)] ^= 1 << Math.floor(rng.uniform() * 8);
    else if (kind === 1) g = g.subarray(0, Math.floor(rng.uniform() * g.length));
    else g = Buffer.from(Array.from({ length: Math.floor(rng.uniform() * 64) }, () => Math.floor(rng.uniform() * 256)));
    writeBundle(prefix, [stringSpec(OBJECT_GRAPH_KEY, [g]), ...tensors]);
    attempt(prefix, `object graph mutation ${k} (${['bit flips', 'truncation', 'random bytes'][kind]})`);
  }
  writeBundle(prefix, [stringSpec(OBJECT_GRAPH_KEY, [graph]), ...tensors]);
  attempt(prefix, 'the unmutated graph, rewritten');
  assert.ok(tally.loaded >= 1 && tally.threw > 60, JSON.stringify(tally));
});
