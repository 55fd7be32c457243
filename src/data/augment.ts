/**
 * Seeded data augmentation on NHWC batches: random crop after zero padding, and random horizontal flip.
 * This is the standard CIFAR-10 recipe (pad 4, crop 32x32, flip half the images; He et al. 2015, section 4.2).
 *
 * Determinism: for each sample in batch order, the draws from `rng` are, in this order,
 *   1. when padding > 0: row offset rng.int(2p + 1), then column offset rng.int(2p + 1);
 *   2. when horizontalFlip: rng.uniform() < 0.5 means flip.
 * The same generator state therefore always gives the same augmented batch. Under data-parallel training the
 * batch is this rank's rows [offset, offset + rows) of a global batch (src/tensor/shard.ts): the draws of the rows
 * before and after them are passed over, so each row gets the draws it gets in one process, and the generator
 * ends where one process's would.
 */
import { Tensor } from '../tensor/tensor.js';
import { Random } from '../tensor/random.js';
import { batchShard } from '../tensor/shard.js';

export interface AugmentOptions {
  /** Zero pixels added on each side before cropping back to h x w at a random offset; 0 (default) = no crop. */
  padding?: number;
  /** Mirror left-right with probability 1/2; default false. */
  horizontalFlip?: boolean;
}

/** The usual CIFAR-10 augmentation: pad 4, random 32x32 crop, random horizontal flip. */
export const CIFAR_AUGMENT: Readonly<AugmentOptions> = Object.freeze({ padding: 4, horizontalFlip: true });

type Pixels = Float32Array | Float64Array | Uint8Array;

export function validateAugmentOptions(options: AugmentOptions, where?: { name: string }): void {
  const prefix = where ? `augment (dataset '${where.name}')` : 'augment';
  const padding = options.padding ?? 0;
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(`${prefix}: padding must be a non-negative integer, received ${options.padding}`);
  }
  if (options.horizontalFlip !== undefined && typeof options.horizontalFlip !== 'boolean') {
    throw new Error(`${prefix}: horizontalFlip must be a boolean, received ${String(options.horizontalFlip)}`);
  }
}

/** Augments a [n, h, w, c] tensor in place (the batch iterator owns its batch, so no copy is needed). */
export function augmentBatchInPlace(x: Tensor, options: AugmentOptions, rng: Random): void {
  if (x.rank !== 4) {
    throw new Error(`augment: x must be a rank-4 NHWC batch, received shape [${x.shape.join(', ')}]`);
  }
  const [n, h, w, c] = x.shape;
  augmentPixels(x.data, n, h, w, c, options, rng);
}

/** Returns an augmented copy of a [n, h, w, c] tensor; the input is untouched. */
export function augmentBatch(x: Tensor, options: AugmentOptions, rng: Random): Tensor {
  const copy = new Tensor(x.data.slice(), x.shape);
  augmentBatchInPlace(copy, options, rng);
  return copy;
}

/**
 * Augments n images of h x w x c stored NHWC in `data`, in place. Works on uint8 as well as float, so callers
 * may augment before or after scaling (zero padding is black either way).
 */
export function augmentPixels(
  data: Pixels,
  n: number,
  h: number,
  w: number,
  c: number,
  options: AugmentOptions,
  rng: Random,
): void {
  validateAugmentOptions(options);
  if (data.length !== n * h * w * c) {
    throw new Error(`augment: data must hold n*h*w*c = ${n * h * w * c} values, received ${data.length}`);
  }
  const pad = options.padding ?? 0;
  const flipAllowed = options.horizontalFlip ?? false;
  const size = h * w * c;
  const shard = batchShard();
  // One rng.int or rng.uniform is one draw of the generator.
  const drawsPerImage = (pad > 0 ? 2 : 0) + (flipAllowed ? 1 : 0);
  if (shard && n !== shard.rows) {
    throw new Error(`augment: under data-parallel training expected this process's ${shard.rows} images of the global batch of ${shard.total}, received ${n}`);
  }
  if (shard) rng.skip(shard.offset * drawsPerImage);
  // One image of scratch: the crop reads pixels the write would already have overwritten.
  const scratch = data.slice(0, size);
  for (let i = 0; i < n; i++) {
    const dy = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const flip = flipAllowed && rng.uniform() < 0.5;
    if (dy === 0 && dx === 0 && !flip) continue;
    const base = i * size;
    scratch.set(data.subarray(base, base + size));
    cropFlipInto(scratch, data, base, h, w, c, dy, dx, flip);
  }
  if (shard) rng.skip((shard.total - shard.offset - shard.rows) * drawsPerImage);
}

/** out[y][x] = src[y + dy][(flip ? w - 1 - x : x) + dx], zero where that falls outside the image. */
function cropFlipInto(
  src: Pixels,
  out: Pixels,
  base: number,
  h: number,
  w: number,
  c: number,
  dy: number,
  dx: number,
  flip: boolean,
): void {
  for (let y = 0; y < h; y++) {
    const sy = y + dy;
    const rowOut = base + y * w * c;
    if (sy < 0 || sy >= h) {
      out.fill(0, rowOut, rowOut + w * c);
      continue;
    }
    const rowSrc = sy * w * c;
    for (let x = 0; x < w; x++) {
      const sx = (flip ? w - 1 - x : x) + dx;
      const o = rowOut + x * c;
      if (sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) out[o + k] = 0;
      } else {
        const s = rowSrc + sx * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k];
      }
    }
  }
}
