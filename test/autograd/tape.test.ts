/** The tape: what it records, how backward accumulates, and how deep it can go. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward, computeGradients, gradients, isGradEnabled, noGrad } from '../../src/autograd/tape.js';
import { add, mul, scale, sum } from '../../src/ops/elementwise.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/tensors.js';

const leaf = (values: number[]): Tensor => {
  const t = Tensor.from(values, [values.length], 'float64');
  t.requiresGrad = true;
  return t;
};

test('noGrad records nothing, nests, and restores after a throw', () => {
  const a = leaf([1, 2]);
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    noGrad(() => assert.equal(isGradEnabled(), false));
    assert.equal(isGradEnabled(), false, 'inner scope does not re-enable');
    return mul(a, a);
  });
  assert.equal(y.node, null);
  assert.equal(y.requiresGrad, false);
  assert.equal(computeGradients(sum(y)).size, 0);
  assert.throws(() => noGrad(() => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(isGradEnabled(), true);
  assert.notEqual(mul(a, a).node, null, 'recording resumes');
});

test('ops on tensors that need no gradient record nothing', () => {
  const y = mul(Tensor.ones([2]), Tensor.ones([2]));
  assert.equal(y.node, null);
  assert.equal(y.requiresGrad, false);
});

test('backward accumulates into leaf .grad across calls; gradients() leaves .grad alone', () => {
  const a = leaf([1, 2, 3]);
  const b = leaf([4, 5, 6]);
  backward(sum(mul(a, b)));
  assertClose(a.grad as Tensor, [4, 5, 6]);
  assertClose(b.grad as Tensor, [1, 2, 3]);
  backward(sum(mul(a, b)));
  assertClose(a.grad as Tensor, [8, 10, 12]);
  const [ga] = gradients(sum(scale(a, 3)), [a]);
  assertClose(ga, [3, 3, 3]);
  assertClose(a.grad as Tensor, [8, 10, 12], undefined, { label: 'a.grad untouched by gradients()' });
  assert.equal(sum(mul(a, b)).grad, null, 'op results are not leaves');
});

test('a tensor used twice gets the sum of both gradients', () => {
  const x = leaf([1, -2, 3]);
  const [g] = gradients(sum(add(mul(x, x), x)), [x]);
  assertClose(g, [3, -3, 7]); // 2x + 1
  const [g2] = gradients(sum(add(x, x)), [x]);
  assertClose(g2, [2, 2, 2]);
});

test('gradients: zeros for an input the output does not depend on; a seed scales the result', () => {
  const a = leaf([1, 2]);
  const unused = leaf([5, 5]);
  const [ga, gu] = gradients(sum(mul(a, a)), [a, unused]);
  assertClose(ga, [2, 4]);
  assertClose(gu, [0, 0]);
  const [gs] = gradients(mul(a, a), [a], Tensor.from([10, 100], [2], 'float64'));
  assertClose(gs, [20, 400]);
});

test('each leaf receives its own gradient buffer (in-place edits of one .grad do not leak)', () => {
  const a = leaf([1, 2]);
  const b = leaf([3, 4]);
  backward(sum(add(a, b)));
  assert.notEqual(a.grad, b.grad);
  (a.grad as Tensor).data[0] = 99;
  assertClose(b.grad as Tensor, [1, 1]);
  const seed = Tensor.ones([2], 'float64');
  const c = leaf([1, 1]);
  backward(add(c, Tensor.zeros([2], 'float64')), seed);
  assert.notEqual((c.grad as Tensor).data, seed.data, 'the caller\'s seed is not handed out as a gradient');
});

test('a chain of 20,000 ops runs backward without overflowing the stack', () => {
  const x = leaf([1]);
  let y = x;
  for (let i = 0; i < 20000; i++) y = scale(y, 1);
  const [g] = gradients(sum(y), [x]);
  assert.equal(g.data[0], 1);
});

test('gradients(onReady) copies a final gradient only when a pending gradient shares its buffer', () => {
  const clone = Tensor.prototype.clone;
  let clones = 0;
  Tensor.prototype.clone = function (this: Tensor, ...a: Parameters<Tensor['clone']>) {
    clones++;
    return clone.apply(this, a);
  };
  try {
    // a's gradient is a fresh array no other gradient uses: handed over as it is (every leaf was copied, every
    // data-parallel step, when a leaf's own entry still counted as pending).
    const a = leaf([1, 2]);
    const handed: Tensor[] = [];
    const [ga] = gradients(sum(mul(a, a)), [a], undefined, (_i, g) => handed.push(g));
    assert.equal(clones, 0);
    assert.equal(handed[0], ga);
    // add passes one dy to both inputs: the first leaf reported gets a buffer of its own, so a reduction
    // writing it in place cannot reach the other's.
    const b = leaf([1, 2]);
    const c = leaf([3, 4]);
    const seen: Tensor[] = [];
    const [gb, gc] = gradients(add(b, c), [b, c], Tensor.from([5, 6], [2], 'float64'), (_i, g) => seen.push(g));
    assert.equal(clones, 1);
    assert.notEqual(gb.data, gc.data);
    assertClose(gb, [5, 6]);
    assertClose(gc, [5, 6]);
    assert.equal(seen.length, 2);
  } finally {
    Tensor.prototype.clone = clone;
  }
});
