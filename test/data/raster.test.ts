import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kind, ShapeParams, drawSegment, drawShape, quantizeWithNoise } from '../../src/data/raster.js';

const SIZE = 32;

function params(kind: Kind, extra: Partial<ShapeParams> = {}): ShapeParams {
  const angle = 0.3;
  return {
    kind, cx: 16, cy: 16, radius: 10, cos: Math.cos(angle), sin: Math.sin(angle),
    stripeCos: 1, stripeSin: 0, period: 4, phase: 0, squarePatch: false, ...extra,
  };
}

/** Covered area in pixels: draw white on black and sum the red channel. */
function area(draw: (canvas: Float32Array) => void): { area: number; canvas: Float32Array } {
  const canvas = new Float32Array(SIZE * SIZE * 3);
  draw(canvas);
  let sum = 0;
  for (let i = 0; i < canvas.length; i += 3) sum += canvas[i] / 255;
  return { area: sum, canvas };
}

test('each foreground covers the area its geometry says (radius 10, rotated)', () => {
  const r = 10;
  const w = 0.28 * r;
  const expected: [Kind, number][] = [
    [Kind.Circle, Math.PI * r * r],
    [Kind.Square, (1.6 * r) ** 2],
    [Kind.Triangle, ((3 * Math.sqrt(3)) / 4) * r * r],
    [Kind.Cross, 2 * (2 * r * 2 * w) - (2 * w) ** 2],
    [Kind.Ring, Math.PI * ((0.96 * r) ** 2 - (0.48 * r) ** 2)],
    [Kind.Star, 5 * r * 0.45 * r * Math.sin(Math.PI / 5)], // ten triangles between tips and inner vertices
    [Kind.VerticalStripes, (Math.PI * r * r) / 2], // half of the disk patch
    [Kind.Checkerboard, (Math.PI * r * r) / 2],
  ];
  for (const [kind, want] of expected) {
    const got = area((c) => drawShape(c, SIZE, params(kind), [255, 255, 255])).area;
    assert.ok(Math.abs(got - want) < 0.06 * want, `${Kind[kind]}: area ${got.toFixed(1)}, expected ${want.toFixed(1)}`);
  }
  const squarePatch = area((c) => drawShape(c, SIZE, params(Kind.Checkerboard, { squarePatch: true }), [255, 255, 255])).area;
  assert.ok(Math.abs(squarePatch - (1.7 * r) ** 2 / 2) < 0.08 * (1.7 * r) ** 2 / 2, `square patch ${squarePatch.toFixed(1)}`);
});

test('stripes keep their image-space orientation whatever the patch rotation', () => {
  // Horizontal bands: the stripe normal points along y, so values change down a column, not along a row.
  const horizontal = params(Kind.HorizontalStripes, { stripeCos: 0, stripeSin: 1, cos: Math.cos(1.1), sin: Math.sin(1.1) });
  const { canvas } = area((c) => drawShape(c, SIZE, horizontal, [255, 255, 255]));
  let alongRow = 0;
  let alongColumn = 0;
  for (let y = 12; y < 20; y++) {
    for (let x = 12; x < 20; x++) {
      alongRow += Math.abs(canvas[(y * SIZE + x + 1) * 3] - canvas[(y * SIZE + x) * 3]);
      alongColumn += Math.abs(canvas[((y + 1) * SIZE + x) * 3] - canvas[(y * SIZE + x) * 3]);
    }
  }
  assert.ok(alongRow < 0.01, `row change ${alongRow}`); // float rounding of the rotation only
  assert.ok(alongColumn > 1000, `column change ${alongColumn}`);
});

test('segments are clipped to the canvas and quantisation clamps to 0..255', () => {
  const { area: a } = area((c) => drawSegment(c, SIZE, -10, 5.5, 50, 5.5, 2, [255, 255, 255]));
  assert.ok(Math.abs(a - 2 * SIZE) < 1, `a 2-pixel line across the image covers ${a}`);
  const canvas = Float32Array.from({ length: 6 }, (_, i) => [-40, 300, 100.4, 100.6, 0, 255][i]);
  const out = new Uint8Array(8);
  quantizeWithNoise(canvas, out, 1, 0, 123);
  assert.deepEqual([...out], [0, 0, 255, 100, 101, 0, 255, 0]);
});
