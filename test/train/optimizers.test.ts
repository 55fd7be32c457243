import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/tensor/variable.js';
import { Adam, RMSprop, SGD } from '../../src/train/optimizers.js';

const variable = (values: number[]): Variable => new Variable('w', Float64Array.from(values), [values.length]);
const grad = (values: number[]): Tensor => Tensor.from(values, [values.length], 'float64');

test('Adam follows Keras: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), w -= lr_t m / (sqrt(v) + eps)', () => {
  const w = variable([1, -2]);
  const opt = new Adam({ learningRate: 0.1 });
  const g = [0.5, -1.5];
  let m = [0, 0];
  let v = [0, 0];
  const expected = [1, -2];
  for (let t = 1; t <= 3; t++) {
    opt.applyGradients([[w, grad(g)]]);
    m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
    v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] * g[i]);
    const lrT = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    for (let i = 0; i < 2; i++) expected[i] -= (lrT * m[i]) / (Math.sqrt(v[i]) + 1e-7);
  }
  w.data.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-12, `w[${i}] = ${x}, expected ${expected[i]}`));
  assert.equal(opt.iterations, 3);
});

test('SGD: plain, momentum and Nesterov updates as Keras defines them', () => {
  const g = [2, -1];
  const plain = variable([1, 1]);
  new SGD({ learningRate: 0.1 }).applyGradients([[plain, grad(g)]]);
  assert.deepEqual(Array.from(plain.data), [1 - 0.2, 1 + 0.1]);

  const mom = variable([1, 1]);
  const opt = new SGD({ learningRate: 0.1, momentum: 0.9 });
  opt.applyGradients([[mom, grad(g)]]);
  opt.applyGradients([[mom, grad(g)]]);
  // v1 = -0.1 g; v2 = 0.9 v1 - 0.1 g = -0.19 g; w = 1 + v1 + v2 = 1 - 0.29 g
  assert.ok(Math.abs(mom.data[0] - (1 - 0.29 * 2)) < 1e-12 && Math.abs(mom.data[1] - (1 + 0.29)) < 1e-12);

  const nes = variable([1, 1]);
  new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }).applyGradients([[nes, grad(g)]]);
  // v1 = -0.1 g; w = 1 + 0.9 v1 - 0.1 g = 1 - 0.19 g
  assert.ok(Math.abs(nes.data[0] - (1 - 0.19 * 2)) < 1e-12);
});

test('optimizer state round-trips by variable name and refuses a mismatch', () => {
  const w = variable([1, 2, 3]);
  const a = new Adam();
  a.applyGradients([[w, grad([1, 1, 1])]]);
  const state = a.getState([w]);
  // A resumed run rebuilds the model: the slots go to a new variable with the same name.
  const w2 = variable([1, 2, 3]);
  w2.data.set(w.data);
  const b = new Adam();
  b.setState(state, [w2]);
  a.applyGradients([[w, grad([0.3, 0.2, 0.1])]]);
  b.applyGradients([[w2, grad([0.3, 0.2, 0.1])]]);
  assert.deepEqual(Array.from(w2.data), Array.from(w.data));
  assert.throws(() => new SGD().setState(state, [w]), /expected a SGD state, received Adam/);
  const other = new Variable('other', new Float64Array(3), [3]);
  assert.throws(() => new Adam().setState(state, [other]), /names variable 'w', which the model does not have/);
  assert.throws(() => new Adam({ learningRate: -1 }), /'learningRate' expected a positive number, received -1/);
});

test('RMSprop follows Keras 3: v = rho v + (1 - rho) g^2, w -= lr g / sqrt(v + eps); with momentum, w -= m = mu m + that step', () => {
  const g = [0.5, -1.5];
  for (const momentum of [0, 0.8]) {
    const w = variable([1, -2]);
    const opt = new RMSprop({ learningRate: 0.01, rho: 0.9, momentum });
    const expected = [1, -2];
    let v = [0, 0];
    let m = [0, 0];
    for (let t = 1; t <= 3; t++) {
      opt.applyGradients([[w, grad(g)]]);
      v = v.map((vi, i) => 0.9 * vi + 0.1 * g[i] * g[i]);
      const step = g.map((gi, i) => (0.01 * gi) / Math.sqrt(v[i] + 1e-7));
      m = m.map((mi, i) => momentum * mi + step[i]);
      for (let i = 0; i < 2; i++) expected[i] -= momentum > 0 ? m[i] : step[i];
    }
    w.data.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-12, `momentum ${momentum}: w[${i}] = ${x}, expected ${expected[i]}`));
    assert.deepEqual(opt.slotNames(), momentum > 0 ? ['velocity', 'momentum'] : ['velocity']);
  }
});
