import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DataParallel, GradientReducer } from '../../src/train/parallel.js';

/**
 * The reducer's overlap with the backward pass, against a recording stand-in for MPI: buckets (filled in reverse
 * variable order) are posted as soon as all of their gradients are final, strictly in bucket order, never the last
 * one before the step ends (it carries the loss and correct count), and the step waits for all of them.
 */
function recorder(async: boolean) {
  const calls: string[] = [];
  const dp: DataParallel = {
    rank: 0,
    size: 2,
    allreduceSum: () => calls.push('allreduceSum'),
    broadcast: () => calls.push('broadcast'),
    reduceGradients: (arrays, weight, extra) => calls.push(`sync ${arrays.map((a) => a.length).join('+')} w=${weight}${extra ? ' +stats' : ''}`),
    ...(async
      ? {
          reduceGradientsAsync: (arrays: Float32Array[], weight: number, extra?: Float64Array) => {
            calls.push(`post ${arrays.map((a) => a.length).join('+')} w=${weight}${extra ? ' +stats' : ''}`);
            return true;
          },
          waitReductions: () => calls.push('wait'),
        }
      : {}),
  };
  return { dp, calls };
}

const sizes = [10, 20, 30, 40];
const grads = () => sizes.map((n) => new Float32Array(n));

test('gradient reducer: buckets posted during backward as they complete, in order, the last at the step end', () => {
  const { dp, calls } = recorder(true);
  // 100 bytes per bucket: one variable each (40, 30, 20, 10 floats), in reverse order.
  const r = new GradientReducer(dp, sizes.map((n) => ({ data: new Float32Array(n) })), 100);
  assert.equal(r.bucketCount, 4);
  const g = grads();
  r.beginStep(0.5);
  r.ready(3, g[3]);
  assert.deepEqual(calls, ['post 40 w=0.5'], 'the last layer\'s bucket goes at once');
  r.ready(1, g[1]);
  assert.deepEqual(calls, ['post 40 w=0.5'], 'bucket 2 waits for bucket 1');
  r.ready(2, g[2]);
  assert.deepEqual(calls, ['post 40 w=0.5', 'post 30 w=0.5', 'post 20 w=0.5']);
  r.ready(0, g[0]);
  assert.equal(calls.length, 3, 'the last bucket waits for the loss');
  const out = r.reduce(g, 0.5, 3, 1);
  assert.deepEqual(calls.slice(3), ['post 10 w=0.5 +stats', 'wait']);
  assert.deepEqual(out, { lossSum: 3, correct: 1 });

  // Next step: a gradient never reported (the loss does not depend on it: zeros) holds the buckets after it
  // back; with nothing posted early the step reduces synchronously, the same sums.
  calls.length = 0;
  r.beginStep(0.5);
  r.ready(2, g[2]);
  r.ready(1, g[1]);
  assert.deepEqual(calls, [], 'bucket 0 (variable 3) first');
  r.reduce(g, 0.5, 0, 0);
  assert.deepEqual(calls, ['sync 40 w=0.5', 'sync 30 w=0.5', 'sync 20 w=0.5', 'sync 10 w=0.5 +stats']);
});

test('gradient reducer: without a background transport, one synchronous reduction per bucket after backward', () => {
  const { dp, calls } = recorder(false);
  const r = new GradientReducer(dp, sizes.map((n) => ({ data: new Float32Array(n) })), 100);
  const g = grads();
  r.beginStep(1);
  for (const i of [3, 2, 1, 0]) r.ready(i, g[i]);
  assert.deepEqual(calls, []);
  r.reduce(g, 1, 0, 0);
  assert.deepEqual(calls, ['sync 40 w=1', 'sync 30 w=1', 'sync 20 w=1', 'sync 10 w=1 +stats']);
});
