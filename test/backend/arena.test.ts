import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradients, noGrad } from '../../src/autograd/tape.js';
import { BufferArena, outputF32, withArena, zerosF32 } from '../../src/backend/arena.js';
import * as nativeModule from '../../src/backend/native/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { setSeed } from '../../src/tensor/random.js';
import { getLoss } from '../../src/train/losses.js';
import { Adam } from '../../src/train/optimizers.js';
import { totalLoss, trainStep } from '../../src/train/step.js';
import { smallCnn } from '../train/helpers.js';

test('an arena lends arrays until reclaim, then hands the same arrays out again', () => {
  const arena = new BufferArena();
  const [a, b] = withArena(arena, () => [outputF32(100), outputF32(100)]);
  assert.notEqual(a, b, 'two live arrays are never the same');
  a.fill(7);
  arena.reclaim();
  assert.equal(arena.pooledFloats, 200);
  const [c, d, z] = withArena(arena, () => [outputF32(100), outputF32(100), zerosF32(100)]);
  assert.ok((c === a || c === b) && (d === a || d === b) && c !== d, 'both come back');
  assert.deepEqual(Array.from(z), new Array(100).fill(0), 'a new zeroed array');
  arena.reclaim(new Set([c]));
  assert.equal(arena.pooledFloats, 200, 'kept arrays are not taken back');
  withArena(arena, () => outputF32(50));
  arena.reclaim();
  assert.equal(arena.pooledFloats, 50, 'sizes the step did not ask for are dropped');
  assert.ok(outputF32(100) !== d, 'outside an arena every output is new');
  const outer = new BufferArena();
  withArena(outer, () => {
    withArena(arena, () => outputF32(8));
    outputF32(9);
  });
  outer.reclaim();
  arena.reclaim();
  assert.equal(outer.pooledFloats, 9, 'the innermost arena lends, and the outer one is restored');
});

test('a recycled array that must start at zero is cleared', () => {
  const arena = new BufferArena();
  withArena(arena, () => outputF32(16).fill(3));
  arena.reclaim();
  const z = withArena(arena, () => zerosF32(16));
  assert.deepEqual(Array.from(z), new Array(16).fill(0));
});

test('training steps with buffer reuse are bit-identical to the same steps on fresh arrays', () => {
  const loss = getLoss('sparse_categorical_crossentropy');
  setSeed(3);
  const x = Tensor.randomUniform([6, 12, 12, 3]);
  const y = Int32Array.from([0, 1, 2, 3, 4, 5]);

  const reused = smallCnn(11, { dropout: 0.3 });
  const optA = new Adam();
  const lossesA: number[] = [];
  for (let s = 0; s < 4; s++) lossesA.push(trainStep(reused, loss, optA, reused.trainableWeights, x, y, 'reuse').loss);

  const fresh = smallCnn(11, { dropout: 0.3 });
  const optB = new Adam();
  const lossesB: number[] = [];
  for (let s = 0; s < 4; s++) {
    const out = fresh.apply(x, { training: true });
    const total = totalLoss(fresh, loss, y, out);
    lossesB.push(total.item());
    const grads = gradients(total, fresh.trainableWeights);
    optB.applyGradients(fresh.trainableWeights.map((v, i) => [v, grads[i]]));
  }
  assert.deepEqual(lossesA, lossesB);
  reused.weights.forEach((w, i) => assert.deepEqual(Array.from(w.data), Array.from(fresh.weights[i].data), `${w.name} differs`));
  // And the model still predicts from its own weights after the arena took its buffers back.
  const p1 = noGrad(() => reused.apply(x, { training: false })).data.slice();
  const p2 = noGrad(() => fresh.apply(x, { training: false })).data.slice();
  assert.deepEqual(Array.from(p1), Array.from(p2));
});

test('with the native backend, large fresh outputs are zeroed views that start on a cache line', (t) => {
  const { nativeAvailable } = nativeModule;
  if (!nativeAvailable()) return t.skip('native backend not built');
  for (const n of [256, 1000, 12345, 1 << 20]) {
    const a = outputF32(n);
    assert.equal(a.length, n);
    assert.ok(a.every((v) => v === 0), `outputF32(${n}) holds zeros`);
    // A view 60 bytes short of its buffer: the offset is what puts a[0] on a 64-byte boundary.
    assert.equal(a.buffer.byteLength, 4 * n + 60);
    assert.ok(a.byteOffset % 4 === 0 && a.byteOffset <= 60, `offset ${a.byteOffset}`);
    const z = zerosF32(n);
    assert.ok(z.length === n && z.every((v) => v === 0));
  }
  assert.equal(outputF32(10).buffer.byteLength, 40, 'small arrays stay plain');
  // An impossible size is a RangeError, as new Float32Array gives, not an abort of the process.
  assert.throws(() => outputF32(2 ** 50), RangeError);
});
