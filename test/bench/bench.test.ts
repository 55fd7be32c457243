import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeAvailable } from '../../src/backend/native/index.js';

const bench = join(dirname(fileURLToPath(import.meta.url)), '../../bench/bench.js');

// The benchmark is not a test; this only checks that it runs and prints what it promises.
test('bench --model lenet5 --json prints one line of positive figures', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [bench, '--model', 'lenet5', '--seconds', '0.2', '--json'], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const j = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(j.model, 'lenet5');
  assert.equal(j.batch, 32);
  assert.equal(typeof j.backend, 'string');
  const positive = ['trainImagesPerSec', 'inferImagesPerSec', 'trainGflops', 'peakRssMb', 'threads', 'batch'];
  // The peak is measured by the addon; without it (reference backend) it is null.
  if (nativeAvailable()) positive.push('peakGflops', 'trainPeakPercent');
  else assert.equal(j.peakGflops, null);
  for (const k of positive) assert.ok(typeof j[k] === 'number' && Number.isFinite(j[k]) && (j[k] as number) > 0, `${k} = ${j[k]}`);
});

test('bench rejects an unknown model with a usage line', () => {
  const r = spawnSync(process.execPath, [bench, '--model', 'nope'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  // Line-anchored: without the addon, the one-line native-backend warning comes first.
  assert.match(r.stderr, /^bench: --model: expected one of .*received 'nope'/m);
});

/** --vs-ort --json output for mlp: a row for batch 1 and one for batch 32, every time and ratio positive. */
function assertVsOrtRows(stdout: string): void {
  const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  assert.deepEqual(rows.map((j) => [j.model, j.batch]), [['mlp', 1], ['mlp', 32]]);
  for (const j of rows) for (const k of ['convkitMs', 'ortMs', 'ratio']) assert.ok(typeof j[k] === 'number' && (j[k] as number) > 0, `${k} = ${j[k]}`);
}

test('bench --vs-ort runs convkit and onnxruntime-node side by side on the same export', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [bench, '--vs-ort', '--model', 'mlp', '--rounds', '1', '--seconds', '0.05', '--json'], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assertVsOrtRows(r.stdout);
});

test('bench --vs-ort --alternate times single calls of each, alternating', { timeout: 60_000 }, () => {
  const args = [bench, '--vs-ort', '--alternate', '--model', 'mlp', '--rounds', '1', '--seconds', '0.05'];
  const env = { ...process.env, CONVKIT_QUIET_NATIVE: '1' };
  const table = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /single calls alternating, ORT not spinning/);
  const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', env });
  assert.equal(json.status, 0, json.stderr);
  assertVsOrtRows(json.stdout);
});

test('bench --fit --model mlp prints model.fit against the bench step, table and json', { timeout: 120_000 }, () => {
  const env = { ...process.env, CONVKIT_QUIET_NATIVE: '1' };
  const args = [bench, '--fit', '--model', 'mlp', '--steps', '2', '--rounds', '1', '--seconds', '0.1', '--batch', '8'];
  const table = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^model\s+batch\s+steps\s+bench img\/s\s+fit img\/s\s+fit\/bench %\s+fit\+val img\/s\s+fit\+val\/bench %/m);
  assert.match(table.stdout, /^mlp\s+8\s+2\s+[\d,.]+\s+[\d,.]+\s+[\d.]+\s+[\d,.]+\s+[\d.]+/m);
  const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', env });
  assert.equal(json.status, 0, json.stderr);
  const j = JSON.parse(json.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(j.model, 'mlp');
  assert.equal(j.steps, 2);
  for (const k of ['benchImagesPerSec', 'fitImagesPerSec', 'fitPercent', 'fitValImagesPerSec', 'fitValPercent', 'benchMeanImagesPerSec', 'fitPairedPercent']) assert.ok(typeof j[k] === 'number' && (j[k] as number) > 0, `${k} = ${j[k]}`);
});
