/**
 * An embedded synthetic dataset with CIFAR-10's shape (32x32x3, 10 classes, 50,000 + 10,000 images), generated
 * from a seed in a few seconds, so that training, examples and tests work offline.
 *
 * Each class is a kind of foreground (see EMBEDDED_CLASS_NAMES): five solid shapes, four textures and a ring.
 * What varies per image, all drawn from the seed: background colour and brightness ramp, foreground colour
 * (kept at a visible distance from the background, and always lighter than it), position, size, rotation (textures: the patch outline is a
 * disk or a square at random, and stripe orientation jitters by up to 17 degrees around the class's), stripe
 * period and phase, 2-4 distractor lines and blobs behind the foreground and sometimes one in front, and
 * additive noise of random strength. Colour and position carry no class information, so a model must see
 * shape or texture: that is what makes a small CNN clearly beat a dense-only network here.
 *
 * Image i of a split depends only on (seed, split, i), never on the requested sizes, so a smaller dataset is a
 * prefix of a larger one. Labels are balanced: every aligned block of 10 images holds each class once, in a
 * seeded order.
 */
import { Random } from '../tensor/random.js';
import { ImageDataset } from './dataset.js';
import { Kind, Rgb, ShapeParams, drawDisk, drawSegment, drawShape, fillBackground, quantizeWithNoise } from './raster.js';

export const EMBEDDED_CLASS_NAMES: readonly string[] = Object.freeze([
  'circle', 'square', 'triangle', 'cross', 'horizontal_stripes',
  'vertical_stripes', 'diagonal_stripes', 'ring', 'checkerboard', 'star',
]);

export interface EmbeddedDatasetOptions {
  seed?: number;
  trainSize?: number;
  testSize?: number;
}

const SIZE = 32;
const NUM_CLASSES = 10;
const TRAIN_SPLIT = 0;
const TEST_SPLIT = 1;
// Foreground and background must differ by at least this much (Euclidean RGB) to stay visible under noise.
const MIN_CONTRAST = 110;
// The foreground's luma exceeds the background's by at least this much.
const MIN_LUMA_GAP = 50;
// The largest jitter of stripe orientation around the class's own; 0.3 rad = 17 degrees, so the 45-degree gaps
// between horizontal, diagonal and vertical stripes never close.
const STRIPE_JITTER = 0.3;

/** The train and test splits, CIFAR-10-sized by default. */
export function embeddedDataset(options: EmbeddedDatasetOptions = {}): { train: ImageDataset; test: ImageDataset } {
  const { seed = 0, trainSize = 50000, testSize = 10000 } = options;
  if (!Number.isInteger(seed)) throw new Error(`embeddedDataset: seed must be an integer, received ${seed}`);
  for (const [key, v] of [['trainSize', trainSize], ['testSize', testSize]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`embeddedDataset: ${key} must be a non-negative integer, received ${v}`);
  }
  return {
    train: generateSplit(seed, TRAIN_SPLIT, trainSize, 'embedded-train'),
    test: generateSplit(seed, TEST_SPLIT, testSize, 'embedded-test'),
  };
}

function generateSplit(seed: number, split: number, n: number, name: string): ImageDataset {
  const images = new Uint8Array(n * SIZE * SIZE * 3);
  const labels = embeddedLabels(seed, split, n);
  const canvas = new Float32Array(SIZE * SIZE * 3);
  const rng = new Random(0);
  for (let i = 0; i < n; i++) {
    rng.seed(hash3(seed, split, i));
    renderImage(rng, labels[i], canvas);
    quantizeWithNoise(canvas, images, i * canvas.length, 4 + rng.uniform() * 16, rng.nextUint32());
  }
  return { name, images, labels, n, height: SIZE, width: SIZE, channels: 3, classNames: [...EMBEDDED_CLASS_NAMES] };
}

/** Every aligned block of 10 holds each class once, shuffled by a generator seeded from (seed, split, block). */
function embeddedLabels(seed: number, split: number, n: number): Uint8Array {
  const labels = new Uint8Array(n);
  const rng = new Random(0);
  const perm = new Uint8Array(NUM_CLASSES);
  for (let block = 0; block * NUM_CLASSES < n; block++) {
    rng.seed(hash3(seed, split + 2, block)); // +2: a stream apart from the images'
    for (let k = 0; k < NUM_CLASSES; k++) perm[k] = k;
    rng.shuffle(perm);
    for (let k = 0; k < NUM_CLASSES && block * NUM_CLASSES + k < n; k++) labels[block * NUM_CLASSES + k] = perm[k];
  }
  return labels;
}

/** Draws one image (before noise) of class `label` onto the float canvas. */
function renderImage(rng: Random, label: number, canvas: Float32Array): void {
  // Hue is random, so colour says nothing about the class, but the foreground is always the lighter part: with
  // random polarity a small sigmoid network (the course's LeNet-5) sits on a plateau for epochs, because every
  // filter must learn a shape edge in both signs.
  const background = randomColor(rng, 0, 150);
  let foreground = randomColor(rng, 100, 256);
  for (let tries = 0; tries < 50 && (colorDistance(foreground, background) < MIN_CONTRAST || luma(foreground) < luma(background) + MIN_LUMA_GAP); tries++) {
    foreground = randomColor(rng, 100, 256);
  }
  fillBackground(canvas, SIZE, background, signed(rng) * 1.5, signed(rng) * 1.5);
  const behind = 1 + rng.int(3);
  for (let k = 0; k < behind; k++) drawClutter(rng, canvas);
  drawShape(canvas, SIZE, shapeParams(rng, label as Kind), foreground);
  // An occluding distractor now and then, so the foreground is not always intact.
  if (rng.uniform() < 0.2) drawClutter(rng, canvas);
}

function shapeParams(rng: Random, kind: Kind): ShapeParams {
  const texture = kind === Kind.HorizontalStripes || kind === Kind.VerticalStripes ||
    kind === Kind.DiagonalStripes || kind === Kind.Checkerboard;
  // Textures need room for a few periods; shapes go smaller to make scale a real nuisance.
  const radius = texture ? 8 + rng.uniform() * 5 : 6.5 + rng.uniform() * 5;
  // Keep most of the foreground inside the frame: the larger it is, the nearer the centre it stays.
  const spread = Math.max(1, 15 - 0.9 * radius);
  const cx = SIZE / 2 + signed(rng) * spread;
  const cy = SIZE / 2 + signed(rng) * spread;
  const angle = rng.uniform() * 2 * Math.PI;
  let stripeAngle = signed(rng) * STRIPE_JITTER;
  if (kind === Kind.HorizontalStripes) stripeAngle += Math.PI / 2; // horizontal bands vary along y
  if (kind === Kind.DiagonalStripes) stripeAngle += rng.uniform() < 0.5 ? Math.PI / 4 : -Math.PI / 4;
  const period = kind === Kind.Checkerboard ? 3.5 + rng.uniform() * 2.5 : 3.5 + rng.uniform() * 3;
  return {
    kind, cx, cy, radius,
    cos: Math.cos(angle), sin: Math.sin(angle),
    stripeCos: Math.cos(stripeAngle), stripeSin: Math.sin(stripeAngle),
    period, phase: rng.uniform(), squarePatch: rng.uniform() < 0.5,
  };
}

/** A short line or a small blob in a random colour. */
function drawClutter(rng: Random, canvas: Float32Array): void {
  const color = randomColor(rng);
  const x = rng.uniform() * SIZE;
  const y = rng.uniform() * SIZE;
  if (rng.uniform() < 0.6) {
    const length = 4 + rng.uniform() * 8;
    const angle = rng.uniform() * 2 * Math.PI;
    const thickness = 0.8 + rng.uniform();
    drawSegment(canvas, SIZE, x, y, x + length * Math.cos(angle), y + length * Math.sin(angle), thickness, color);
  } else {
    drawDisk(canvas, SIZE, x, y, 1 + rng.uniform() * 1.5, color);
  }
}

/** Each channel uniform in [lo, hi). */
function randomColor(rng: Random, lo = 0, hi = 256): Rgb {
  return [lo + rng.int(hi - lo), lo + rng.int(hi - lo), lo + rng.int(hi - lo)];
}

/** Rec. 601 luma. */
function luma(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

function colorDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function signed(rng: Random): number {
  return rng.uniform() * 2 - 1;
}

/** Mixes three integers into a 32-bit seed (murmur3 finaliser steps), so nearby indices get unrelated streams. */
function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(b + 1, 0xc2b2ae35), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(c + 1, 0x165667b1), 0x85ebca6b);
  h ^= h >>> 16;
  return h >>> 0;
}
