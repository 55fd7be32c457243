/** The gradient checker itself: it must pass correct rules and catch, and locate, wrong ones. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { record } from '../../src/autograd/tape.js';
import { mul, scale } from '../../src/ops/elementwise.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { GradcheckError, gradcheck } from './gradcheck.js';
import { normal } from './tensors.js';

/** x^3 with a backward rule that is wrong by `factor` at flat index `bad`. */
function cube(x: Tensor, bad = -1, factor = 1): Tensor {
  const y = Tensor.zeros(x.shape, x.dtype);
  for (let i = 0; i < x.size; i++) y.data[i] = x.data[i] ** 3;
  return record(y, 'cube', [x], (dy) => {
    const g = Tensor.zeros(x.shape, x.dtype);
    for (let i = 0; i < x.size; i++) g.data[i] = dy.data[i] * 3 * x.data[i] ** 2 * (i === bad ? factor : 1);
    return [g];
  });
}

test('gradcheck passes a correct rule and counts every element', () => {
  const rng = new Random(1);
  const a = normal([2, 3], rng);
  const b = normal([2, 3], rng);
  const r = gradcheck((p, q) => mul(cube(p), q), [a, b]);
  assert.equal(r.checked, 12);
  assert.ok(r.maxAbsDiff < 1e-6);
  assert.equal(a.requiresGrad, false, 'requiresGrad is restored');
});

test('gradcheck names the tensor, flat index, coordinate, analytic and numeric values of a wrong gradient', () => {
  const x = normal([2, 3], new Random(2));
  const other = normal([2, 3], new Random(3));
  assert.throws(
    () => gradcheck((o, p) => mul(o, cube(p, 4, 1.5)), [other, x], { names: ['other', 'x'] }),
    (e: unknown) => {
      assert.ok(e instanceof GradcheckError);
      assert.equal(e.mismatches.length, 1);
      const m = e.mismatches[0];
      assert.equal(m.input, 'x');
      assert.equal(m.index, 4);
      assert.deepEqual(m.coord, [1, 1]);
      assert.ok(Math.abs(m.analytic - 1.5 * m.numeric) < 1e-4 * Math.abs(m.numeric) + 1e-6);
      assert.match(e.message, /'x' \(2, 3\) flat index 4, coordinate \[1, 1\]: analytic .*, numeric /);
      return true;
    },
  );
});

test('gradcheck catches a missing gradient (op not recorded)', () => {
  const x = normal([3], new Random(4));
  const detached = (t: Tensor): Tensor => scale(t.detach(), 2);
  assert.throws(() => gradcheck(detached, [x]), GradcheckError);
});

test('gradcheck refuses float32, nondeterministic functions and all-zero numeric gradients', () => {
  assert.throws(() => gradcheck((t) => t, [Tensor.ones([2])]), /must be float64/);
  const rng = new Random(5);
  const noisy = (t: Tensor): Tensor => scale(t, 1 + rng.uniform());
  assert.throws(() => gradcheck(noisy, [Tensor.ones([2], 'float64')]), /not deterministic/);
  const constant = (_t: Tensor): Tensor => Tensor.ones([2], 'float64');
  assert.throws(() => gradcheck(constant, [Tensor.ones([2], 'float64')]), /all zero/);
});
