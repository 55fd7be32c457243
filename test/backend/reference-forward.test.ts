/**
 * Forward results of the convolution, pooling and batch-norm ops (whatever backend is active, and float64 on
 * the reference backend) against the independent formulations in test/helpers/naive.ts, over random
 * geometries: odd sizes, stride 2 `same` (asymmetric padding), valid, dilation, batch 1, channels that are
 * not multiples of 4.
 */
import { test } from 'node:test';
import { conv2d, depthwiseConv2d } from '../../src/ops/conv.js';
import { batchNormInference, batchNormTraining } from '../../src/ops/normalization.js';
import { avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d } from '../../src/ops/pool.js';
import { Random } from '../../src/tensor/random.js';
import { DType, Tensor } from '../../src/tensor/tensor.js';
import { Image, image, naiveConv2d, naiveDepthwise, naiveMoments, naiveNormalize, naivePool } from '../helpers/naive.js';
import { assertClose, assertShape } from '../helpers/tensors.js';

const rng = new Random(505);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
// float32 leaves room for a native kernel's summation order; a wrong index is off by far more.
const tol = (dtype: DType) => (dtype === 'float64' ? { atol: 1e-11, rtol: 1e-11 } : { atol: 1e-4, rtol: 1e-4 });

interface Geometry {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; s: [number, number]; d: [number, number];
  padding: 'same' | 'valid';
}

/** A random geometry whose window fits; strides and dilation are not both > 1 (Keras's rule). */
function randomGeometry(): Geometry {
  for (;;) {
    const g: Geometry = {
      n: pick([1, 1, 2, 3]), h: pick([1, 3, 5, 6, 7, 9]), w: pick([2, 3, 5, 7, 8]), c: pick([1, 2, 3, 5, 6, 7]),
      kh: pick([1, 2, 3, 4]), kw: pick([1, 2, 3, 5]),
      s: [pick([1, 2, 3]), pick([1, 2])], d: [1, 1], padding: pick(['same', 'valid'] as const),
    };
    if (rng.uniform() < 0.25) {
      g.s = [1, 1];
      g.d = [pick([1, 2]), pick([2, 3])];
    }
    const fits = (size: number, k: number, d: number) => g.padding === 'same' || size >= (k - 1) * d + 1;
    if (fits(g.h, g.kh, g.d[0]) && fits(g.w, g.kw, g.d[1])) return g;
  }
}

const shapeOf = (y: Image) => [y.n, y.h, y.w, y.c];

for (const dtype of ['float32', 'float64'] as const) {
  test(`conv2d matches zero-padding + direct sum on 40 random geometries (${dtype})`, () => {
    for (let t = 0; t < 40; t++) {
      const g = randomGeometry();
      const cout = pick([1, 3, 4, 5]);
      const x = Tensor.randomNormal([g.n, g.h, g.w, g.c], 0, 1, rng, dtype);
      const k = Tensor.randomNormal([g.kh, g.kw, g.c, cout], 0, 1, rng, dtype);
      const y = conv2d(x, k, { strides: g.s, dilationRate: g.d, padding: g.padding });
      const want = naiveConv2d(image(x.data, x.shape), { kernel: k.data, kernelShape: k.shape, strides: g.s, dilation: g.d, padding: g.padding });
      const label = `conv2d ${JSON.stringify(g)} cout ${cout}`;
      assertShape(y, shapeOf(want), label);
      assertClose(y, want.data, y.shape, { ...tol(dtype), label });
    }
  });

  test(`depthwiseConv2d matches per-channel conv2d on 40 random geometries (${dtype})`, () => {
    for (let t = 0; t < 40; t++) {
      const g = randomGeometry();
      const m = pick([1, 1, 2, 3]);
      const x = Tensor.randomNormal([g.n, g.h, g.w, g.c], 0, 1, rng, dtype);
      const k = Tensor.randomNormal([g.kh, g.kw, g.c, m], 0, 1, rng, dtype);
      const y = depthwiseConv2d(x, k, { strides: g.s, dilationRate: g.d, padding: g.padding });
      const want = naiveDepthwise(image(x.data, x.shape), { kernel: k.data, kernelShape: k.shape, strides: g.s, dilation: g.d, padding: g.padding });
      const label = `depthwiseConv2d ${JSON.stringify(g)} m ${m}`;
      assertShape(y, shapeOf(want), label);
      assertClose(y, want.data, y.shape, { ...tol(dtype), label });
    }
  });

  test(`maxPool2d and avgPool2d match explicitly padded windows on 40 random geometries (${dtype})`, () => {
    for (let t = 0; t < 40; t++) {
      const g = randomGeometry();
      const x = Tensor.randomNormal([g.n, g.h, g.w, g.c], 0, 1, rng, dtype);
      const opts = { poolSize: [g.kh, g.kw] as [number, number], strides: g.s, padding: g.padding };
      for (const kind of ['max', 'avg'] as const) {
        const y = kind === 'max' ? maxPool2d(x, opts) : avgPool2d(x, opts);
        const want = naivePool(image(x.data, x.shape), kind, [g.kh, g.kw], g.s, g.padding);
        const label = `${kind}Pool2d ${JSON.stringify(g)}`;
        assertShape(y, shapeOf(want), label);
        assertClose(y, want.data, y.shape, { ...tol(dtype), label });
      }
    }
  });

  test(`global pooling matches a direct mean and max (${dtype})`, () => {
    const x = Tensor.randomNormal([3, 5, 3, 7], 0, 1, rng, dtype);
    const avg = new Float64Array(21);
    const max = new Float64Array(21).fill(-Infinity);
    for (let i = 0; i < x.size; i++) {
      const b = Math.floor(i / (15 * 7));
      const o = b * 7 + (i % 7);
      avg[o] += x.data[i] / 15;
      max[o] = Math.max(max[o], x.data[i]);
    }
    assertClose(globalAvgPool2d(x), avg, [3, 7], tol(dtype));
    assertClose(globalMaxPool2d(x), max, [3, 7], tol(dtype));
    assertShape(globalAvgPool2d(x, true), [3, 1, 1, 7]);
  });

  test(`batch norm matches two-pass statistics (${dtype})`, () => {
    for (const shape of [[2, 3, 5, 3], [1, 5, 3, 7], [6, 5]]) {
      const c = shape[shape.length - 1];
      // Offset values: a one-pass E[x^2] - E[x]^2 would lose digits here.
      const x = Tensor.randomNormal(shape, 50, 0.1, rng, dtype);
      const gamma = Tensor.randomUniform([c], 0.5, 1.5, rng, dtype);
      const beta = Tensor.randomNormal([c], 0, 1, rng, dtype);
      const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-3);
      const m = naiveMoments(Float64Array.from(x.data), c);
      assertClose(mean, m.mean, [c], { ...tol(dtype), label: 'mean' });
      assertClose(variance, m.variance, [c], { atol: dtype === 'float64' ? 1e-12 : 1e-6, rtol: 1e-3, label: 'biased variance' });
      assertClose(y, naiveNormalize(x.data, c, m.mean, m.variance, gamma.data, beta.data, 1e-3), shape, { atol: dtype === 'float64' ? 1e-9 : 2e-3, rtol: 1e-4, label: 'y' });
      const mm = Tensor.randomNormal([c], 0, 1, rng, dtype);
      const mv = Tensor.randomUniform([c], 0.5, 2, rng, dtype);
      const yi = batchNormInference(x, gamma, beta, mm, mv, 1e-3);
      assertClose(yi, naiveNormalize(x.data, c, mm.data, mv.data, gamma.data, beta.data, 1e-3), shape, { ...tol(dtype), rtol: 1e-5, label: 'inference y' });
    }
  });
}
