/**
 * Tiny rasteriser for the embedded dataset. An image being drawn is a float RGB canvas (HWC, 0..255 scale);
 * each primitive gives a coverage in [0, 1] per pixel from a signed distance d in pixels (negative inside):
 * coverage = clamp(0.5 - d), i.e. one pixel of antialiasing, and blends its colour by that coverage.
 * Only the primitive's bounding box is visited, which keeps 60,000 images within a few seconds.
 */

export type Rgb = [number, number, number];

/** The ten kinds of foreground the embedded dataset draws, one per class, in class order. */
export enum Kind {
  Circle = 0,
  Square,
  Triangle,
  Cross,
  HorizontalStripes,
  VerticalStripes,
  DiagonalStripes,
  Ring,
  Checkerboard,
  Star,
}

/** Where and how the class's foreground is drawn (all lengths in pixels, angles in radians). */
export interface ShapeParams {
  kind: Kind;
  cx: number;
  cy: number;
  /** Half-size: circumradius of shapes, radius or half-side of texture patches. */
  radius: number;
  /** Rotation of the shape (or of the texture's patch) as cos/sin. */
  cos: number;
  sin: number;
  /** Textures only: stripe normal direction (absolute, not rotated with the patch). */
  stripeCos: number;
  stripeSin: number;
  /** Textures only: stripe period or checker cell size, and phase in [0, 1). */
  period: number;
  phase: number;
  /** Textures only: patch outline, disk (false) or square (true), so the outline says nothing about the class. */
  squarePatch: boolean;
}

const SQRT3_2 = Math.sqrt(3) / 2;
// (cos 36deg, -sin 36deg): the mirror normal that folds a star's tenths onto each other.
const STAR_K1X = 0.809016994375;
const STAR_K1Y = -0.587785252292;
const STAR_INNER = 0.45; // inner radius / outer radius

// Math.hypot guards against overflow we cannot have here and is several times slower than this.
function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Fills the canvas with a colour plus a brightness ramp (slope per pixel along x and y, same for all channels). */
export function fillBackground(canvas: Float32Array, size: number, color: Rgb, slopeX: number, slopeY: number): void {
  const mid = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const ramp = slopeX * (x - mid) + slopeY * (y - mid);
      const o = (y * size + x) * 3;
      canvas[o] = color[0] + ramp;
      canvas[o + 1] = color[1] + ramp;
      canvas[o + 2] = color[2] + ramp;
    }
  }
}

function blend(canvas: Float32Array, o: number, color: Rgb, a: number): void {
  canvas[o] += (color[0] - canvas[o]) * a;
  canvas[o + 1] += (color[1] - canvas[o + 1]) * a;
  canvas[o + 2] += (color[2] - canvas[o + 2]) * a;
}

/** A line segment of the given thickness (distance to segment minus half thickness). */
export function drawSegment(
  canvas: Float32Array, size: number, x0: number, y0: number, x1: number, y1: number, thickness: number, color: Rgb,
): void {
  const half = thickness / 2;
  const ex = x1 - x0;
  const ey = y1 - y0;
  const len2 = ex * ex + ey * ey || 1;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - half - 1));
  const xb = Math.min(size - 1, Math.ceil(Math.max(x0, x1) + half + 1));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - half - 1));
  const yb = Math.min(size - 1, Math.ceil(Math.max(y0, y1) + half + 1));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const t = clamp01((px * ex + py * ey) / len2);
      const d = len(px - t * ex, py - t * ey) - half;
      const a = clamp01(0.5 - d);
      if (a > 0) blend(canvas, (y * size + x) * 3, color, a);
    }
  }
}

/** A filled disk. */
export function drawDisk(canvas: Float32Array, size: number, cx: number, cy: number, r: number, color: Rgb): void {
  drawSegment(canvas, size, cx, cy, cx, cy, 2 * r, color);
}

// Scratch for drawShape, per bounding-box pixel: shape-local coordinates and coverage. Filling them in passes
// keeps each kind's maths in its own tight loop, about 4x faster than one per-pixel function with a switch.
let U = new Float32Array(0);
let V = new Float32Array(0);
let A = new Float32Array(0);

/** Draws the class foreground described by `p` in `color`. */
export function drawShape(canvas: Float32Array, size: number, p: ShapeParams, color: Rgb): void {
  // The farthest any kind reaches from its centre is a square patch's corner, 0.85 * sqrt(2) = 1.2 radii.
  const reach = p.radius * 1.2 + 1;
  const xa = Math.max(0, Math.floor(p.cx - reach));
  const xb = Math.min(size - 1, Math.ceil(p.cx + reach));
  const ya = Math.max(0, Math.floor(p.cy - reach));
  const yb = Math.min(size - 1, Math.ceil(p.cy + reach));
  if (xb < xa || yb < ya) return;
  const n = (xb - xa + 1) * (yb - ya + 1);
  if (U.length < n) {
    U = new Float32Array(n);
    V = new Float32Array(n);
    A = new Float32Array(n);
  }
  // Shape-local coordinates of pixel centres: the offset from the centre rotated by -angle.
  let k = 0;
  for (let y = ya; y <= yb; y++) {
    const dy = y + 0.5 - p.cy;
    for (let x = xa; x <= xb; x++, k++) {
      const dx = x + 0.5 - p.cx;
      U[k] = p.cos * dx + p.sin * dy;
      V[k] = -p.sin * dx + p.cos * dy;
    }
  }
  coverageInto(p, n);
  k = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++, k++) {
      if (A[k] > 0) blend(canvas, (y * size + x) * 3, color, A[k]);
    }
  }
}

/** Fills A[0, n) with the coverage of the class foreground at the local coordinates in U and V. */
function coverageInto(p: ShapeParams, n: number): void {
  const r = p.radius;
  switch (p.kind) {
    case Kind.Circle:
      for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - (len(U[k], V[k]) - r));
      return;
    case Kind.Square:
      for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - (Math.max(Math.abs(U[k]), Math.abs(V[k])) - 0.8 * r));
      return;
    case Kind.Triangle:
      // Equilateral, circumradius r: inside all three edges, each at distance r/2 from the centre.
      for (let k = 0; k < n; k++) {
        const u = U[k];
        const v = V[k];
        A[k] = clamp01(0.5 - (Math.max(-v, SQRT3_2 * u + 0.5 * v, -SQRT3_2 * u + 0.5 * v) - 0.5 * r));
      }
      return;
    case Kind.Cross: {
      const w = 0.28 * r; // half-width of an arm
      for (let k = 0; k < n; k++) {
        const au = Math.abs(U[k]);
        const av = Math.abs(V[k]);
        A[k] = clamp01(0.5 - Math.min(Math.max(au - r, av - w), Math.max(au - w, av - r)));
      }
      return;
    }
    case Kind.Ring:
      for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - (Math.abs(len(U[k], V[k]) - 0.72 * r) - 0.24 * r));
      return;
    case Kind.Star:
      for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - starDistance(U[k], V[k], r));
      return;
    case Kind.HorizontalStripes:
    case Kind.VerticalStripes:
    case Kind.DiagonalStripes: {
      patchInto(p, n);
      // The stripes keep their image-space orientation while the patch turns: express their normal (in
      // periods per pixel) in the patch's local coordinates.
      const nu = (p.stripeCos * p.cos + p.stripeSin * p.sin) / p.period;
      const nv = (p.stripeSin * p.cos - p.stripeCos * p.sin) / p.period;
      for (let k = 0; k < n; k++) {
        if (A[k] === 0) continue;
        const s = U[k] * nu + V[k] * nv + p.phase;
        const d = (Math.abs(s - Math.floor(s) - 0.5) - 0.25) * p.period; // 50% duty cycle
        A[k] *= clamp01(0.5 - d);
      }
      return;
    }
    case Kind.Checkerboard: {
      patchInto(p, n);
      for (let k = 0; k < n; k++) {
        if (A[k] === 0) continue;
        const a = U[k] / p.period + p.phase;
        const b = V[k] / p.period + p.phase;
        // Distance in pixels to the nearest cell edge, signed by the cell's colour.
        const edge = Math.min(0.5 - Math.abs(a - Math.floor(a) - 0.5), 0.5 - Math.abs(b - Math.floor(b) - 0.5)) * p.period;
        const dark = ((Math.floor(a) + Math.floor(b)) & 1) === 1;
        A[k] *= clamp01(dark ? 0.5 + edge : 0.5 - edge);
      }
      return;
    }
  }
}

/** Coverage of a texture's patch, a disk of the radius or a square of 0.85 radius half-side. */
function patchInto(p: ShapeParams, n: number): void {
  const r = p.radius;
  if (p.squarePatch) {
    for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - (Math.max(Math.abs(U[k]), Math.abs(V[k])) - 0.85 * r));
  } else {
    for (let k = 0; k < n; k++) A[k] = clamp01(0.5 - (len(U[k], V[k]) - r));
  }
}

/**
 * Exact signed distance to a five-pointed star of outer radius r, tip up (Inigo Quilez's sdStar5, from his
 * "2D distance functions" article): mirror the point into one tenth of the star by three reflections, then
 * measure to the edge from the tip (0, r) to the inner vertex. No trigonometry per pixel.
 */
function starDistance(u: number, v: number, r: number): number {
  let x = Math.abs(u);
  let y = v;
  let k = STAR_K1X * x + STAR_K1Y * y;
  if (k > 0) {
    x -= 2 * k * STAR_K1X;
    y -= 2 * k * STAR_K1Y;
  }
  k = -STAR_K1X * x + STAR_K1Y * y;
  if (k > 0) {
    x += 2 * k * STAR_K1X;
    y -= 2 * k * STAR_K1Y;
  }
  x = Math.abs(x);
  y -= r;
  // Edge direction from the tip towards the inner vertex, scaled so that h in [0, r] spans the edge.
  const bx = STAR_INNER * -STAR_K1Y;
  const by = STAR_INNER * STAR_K1X - 1;
  const h = clamp((x * bx + y * by) / (bx * bx + by * by), 0, r);
  const d = len(x - bx * h, y - by * h);
  return y * bx - x * by > 0 ? d : -d;
}

/** Adds uniform noise in [-amplitude, amplitude] to every value and rounds into uint8 at out[offset...]. */
export function quantizeWithNoise(canvas: Float32Array, out: Uint8Array, offset: number, amplitude: number, noiseSeed: number): void {
  // xorshift32 inline, one 32-bit draw giving 10 bits for each channel of a pixel: a method call per value
  // would dominate the cost of generating the whole dataset.
  let s = noiseSeed | 0 || 1;
  const scale = amplitude / 512;
  for (let i = 0; i < canvas.length; i += 3) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = (canvas[i] + ((s & 1023) - 511.5) * scale + 0.5) | 0;
    const g = (canvas[i + 1] + (((s >>> 10) & 1023) - 511.5) * scale + 0.5) | 0;
    const b = (canvas[i + 2] + (((s >>> 20) & 1023) - 511.5) * scale + 0.5) | 0;
    out[offset + i] = r < 0 ? 0 : r > 255 ? 255 : r;
    out[offset + i + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    out[offset + i + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}
