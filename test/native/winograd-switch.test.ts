import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { conv2dInfo } from '../../src/backend/geometry.js';
import { nativeInfo } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { assertClose, f64, nativeOrSkip, randomF32 } from './util.js';

/**
 * CONVKIT_WINOGRAD=0 turns the Winograd path off for the process (native/winograd.cc): a user short of memory
 * gives up its speed and the transformed kernels that plans keep. A child process with the switch off computes
 * a convolution that takes the path here: both match the reference, and their bits differ (direct sums round
 * differently from Winograd's), so the switch did change the path.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SHAPE = { inputShape: [2, 16, 16, 32] as [number, number, number, number], kernelSize: [3, 3] as [number, number], strides: [1, 1] as [number, number], padding: 'same' as const, filters: 40 };

test('CONVKIT_WINOGRAD=0 turns Winograd off in a fresh process; both paths match the reference', (t) => {
  const nb = nativeOrSkip(t);
  if (!nb) return;
  if (process.env.CONVKIT_WINOGRAD === '0') return t.skip('CONVKIT_WINOGRAD=0 in this environment');
  assert.equal(nativeInfo()!.winograd, true);
  const g = conv2dInfo(SHAPE);
  const x = randomF32(g.n * g.h * g.w * g.c, 71);
  const w = randomF32(9 * g.c * g.outC, 72);
  const here = nb.conv2d(x, w, g) as Float32Array;
  const script = `
    const { nativeBackend, nativeInfo } = await import('./dist/src/backend/native/index.js');
    const { conv2dInfo } = await import('./dist/src/backend/geometry.js');
    const { randomF32 } = await import('./dist/test/native/util.js');
    const g = conv2dInfo(${JSON.stringify(SHAPE)});
    const y = nativeBackend().conv2d(randomF32(g.n * g.h * g.w * g.c, 71), randomF32(9 * g.c * g.outC, 72), g);
    console.log(JSON.stringify({ winograd: nativeInfo().winograd, y: Array.from(y) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_WINOGRAD: '0' } });
  assert.equal(r.status, 0, r.stderr);
  const child = JSON.parse(r.stdout) as { winograd: boolean; y: number[] };
  assert.equal(child.winograd, false);
  const there = Float32Array.from(child.y);
  const want = ref.conv2d(f64(x), f64(w), g);
  assertClose('Winograd on', here, want, [g.n, g.oh, g.ow, g.outC]);
  assertClose('Winograd off', there, want, [g.n, g.oh, g.ow, g.outC]);
  assert.ok(here.some((v, i) => v !== there[i]), 'the two processes computed the same bits: the switch changed nothing');
});
