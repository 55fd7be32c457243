import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { Random } from '../../src/tensor/random.js';
import { augmentBatch, augmentBatchInPlace, augmentPixels } from '../../src/data/augment.js';

/**
 * The specification, written the slow obvious way: pad with zeros, crop h x w at (oy, ox), mirror.
 * Draw order per sample (documented in augment.ts): oy, ox when padding > 0, then the flip coin.
 */
function reference(x: Float32Array, [n, h, w, c]: number[], pad: number, flipAllowed: boolean, rng: Random): Float32Array {
  const out = new Float32Array(x.length);
  const ph = h + 2 * pad;
  const pw = w + 2 * pad;
  for (let i = 0; i < n; i++) {
    const padded = new Float32Array(ph * pw * c);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        for (let k = 0; k < c; k++) padded[((y + pad) * pw + xx + pad) * c + k] = x[((i * h + y) * w + xx) * c + k];
      }
    }
    const oy = pad > 0 ? rng.int(2 * pad + 1) : 0;
    const ox = pad > 0 ? rng.int(2 * pad + 1) : 0;
    const flip = flipAllowed && rng.uniform() < 0.5;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const sx = flip ? w - 1 - xx : xx;
        for (let k = 0; k < c; k++) out[((i * h + y) * w + xx) * c + k] = padded[((y + oy) * pw + sx + ox) * c + k];
      }
    }
  }
  return out;
}

function ramp(shape: number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: size }, (_, i) => 1 + (i % 251)), shape);
}

test('augment matches the pad-crop-flip reference for several paddings and odd sizes', () => {
  for (const [shape, pad, flip] of [
    [[6, 5, 7, 3], 2, true],
    [[4, 4, 4, 1], 4, false], // padding = size: some crops are all zeros
    [[5, 3, 2, 2], 0, true],
    [[3, 8, 8, 3], 1, true],
  ] as [number[], number, boolean][]) {
    const x = ramp(shape);
    const got = augmentBatch(x, { padding: pad, horizontalFlip: flip }, new Random(11));
    const want = reference(x.data as Float32Array, shape, pad, flip, new Random(11));
    assert.deepEqual(got.data, want, `shape ${shape} padding ${pad} flip ${flip}`);
    assert.deepEqual(got.shape, shape);
  }
});

test('augment is deterministic for a generator state and leaves the input of augmentBatch untouched', () => {
  const x = ramp([8, 6, 6, 3]);
  const before = x.data.slice();
  const rng = new Random(5);
  const state = rng.getState();
  const a = augmentBatch(x, { padding: 2, horizontalFlip: true }, rng);
  rng.setState(state);
  const b = augmentBatch(x, { padding: 2, horizontalFlip: true }, rng);
  assert.deepEqual(a.data, b.data);
  assert.deepEqual(x.data, before);
  const c = augmentBatch(x, { padding: 2, horizontalFlip: true }, new Random(6));
  assert.notDeepEqual(a.data, c.data);
});

test('flip only mirrors about half of the images and changes nothing else', () => {
  const x = ramp([200, 2, 3, 1]);
  const y = augmentBatch(x, { horizontalFlip: true }, new Random(1));
  let flipped = 0;
  for (let i = 0; i < 200; i++) {
    const src = x.data.subarray(i * 6, i * 6 + 6);
    const dst = [...y.data.subarray(i * 6, i * 6 + 6)];
    const mirror = [src[2], src[1], src[0], src[5], src[4], src[3]];
    if (dst.every((v, k) => v === mirror[k])) flipped++;
    else assert.deepEqual(dst, [...src], `image ${i} is neither itself nor its mirror`);
  }
  assert.ok(flipped > 70 && flipped < 130, `flipped ${flipped} of 200`);
});

test('no augmentation asked: nothing changes and no random numbers are drawn', () => {
  const x = ramp([3, 4, 4, 3]);
  const rng = new Random(9);
  const state = JSON.stringify(rng.getState());
  augmentBatchInPlace(x, {}, rng);
  assert.deepEqual(x.data, ramp([3, 4, 4, 3]).data);
  assert.equal(JSON.stringify(rng.getState()), state);
});

test('augmentPixels works on uint8 images as on floats', () => {
  const shape = [4, 5, 5, 3];
  const f = ramp(shape);
  const u8 = Uint8Array.from(f.data);
  augmentPixels(u8, 4, 5, 5, 3, { padding: 2, horizontalFlip: true }, new Random(2));
  const want = reference(f.data as Float32Array, shape, 2, true, new Random(2));
  assert.deepEqual([...u8], [...want]);
});

test('augment rejects bad options and shapes', () => {
  const x = ramp([1, 2, 2, 1]);
  assert.throws(() => augmentBatch(x, { padding: 1.5 }, new Random()), /padding must be a non-negative integer, received 1.5/);
  assert.throws(() => augmentBatch(ramp([2, 2, 1]), { padding: 1 }, new Random()), /x must be a rank-4 NHWC batch, received shape \[2, 2, 1\]/);
  assert.throws(() => augmentPixels(new Float32Array(5), 1, 2, 2, 1, {}, new Random()), /data must hold n\*h\*w\*c = 4 values, received 5/);
});
