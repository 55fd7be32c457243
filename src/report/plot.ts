/**
 * Small plotting helpers for the hand-written SVG charts: data margins, "nice" ticks, text width
 * estimates for DejaVu Sans, and matplotlib's loc='best' legend placement.
 */

/** A rectangle in pixels, y pointing down. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Series {
  /** The history key, e.g. 'val_loss'. */
  key: string;
  label: string;
  color: string;
  /** [epoch, value] pairs, finite only. */
  points: [number, number][];
}

/**
 * Pads [lo, hi] by 5% of its span on both sides (matplotlib's axes.xmargin / ymargin). A flat range
 * (one epoch, or a constant metric) is widened to [lo - flatHalf, hi + flatHalf] instead.
 */
export function padDomain(lo: number, hi: number, flatHalf: number): [number, number] {
  if (hi - lo <= Math.abs(hi) * 1e-12) return [lo - flatHalf, hi + flatHalf];
  const m = (hi - lo) * 0.05;
  return [lo - m, hi + m];
}

export interface Ticks {
  values: number[];
  /** Tick labels are written in units of 10^exponent (0 unless the values are huge or tiny). */
  exponent: number;
  format: (v: number) => string;
}

/** Digits after the point needed to write `step` exactly (0.25 -> 2, 5 -> 0). */
function decimalsOf(step: number): number {
  for (let d = 0; d < 12; d++) {
    const s = step * 10 ** d;
    if (Math.abs(s - Math.round(s)) < 1e-6 * Math.max(1, s)) return d;
  }
  return 12;
}

/**
 * Ticks inside [lo, hi] at a step of 1, 2, 2.5 or 5 times a power of ten, about `target` of them.
 * With `integer` (epochs) the step is a whole number from 1, 2, 5, 10, 20, ...
 */
export function niceTicks(lo: number, hi: number, target: number, integer: boolean): Ticks {
  const raw = (hi - lo) / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const mantissas = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  // The candidate nearest to the raw step on a log scale, so the count stays close to `target`.
  const near = (m: number) => Math.abs(Math.log(m * pow) - Math.log(raw));
  let step = pow * mantissas.reduce((best, m) => (near(m) < near(best) - 1e-12 ? m : best));
  if (integer) step = Math.max(1, Math.round(step) === 2.5 ? 2 : Math.round(step));
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && values.length < 100; k++) values.push(k * step);
  // matplotlib's axes.formatter.limits = [-5, 6]: scientific units below 1e-5 or from 1e6 up.
  const magnitude = Math.floor(Math.log10(Math.max(Math.abs(lo), Math.abs(hi))));
  const exponent = magnitude >= 6 || magnitude < -5 ? magnitude : 0;
  const unit = 10 ** exponent;
  const decimals = integer ? 0 : decimalsOf(step / unit);
  const format = (v: number): string => {
    if (Math.abs(v) < step * 1e-9) v = 0; // no "-0.00"
    return (v / unit).toFixed(Math.min(decimals, 20));
  };
  return { values, exponent, format };
}

/**
 * Width of `s` in DejaVu Sans at `size` pixels, from the font's advance widths in em (rounded; the
 * chart only needs it to size the legend box and leave room for tick labels).
 */
export function textWidth(s: string, size: number): number {
  let em = 0;
  for (const c of s) {
    if (c >= '0' && c <= '9') em += 0.636;
    else if ('.,:; '.includes(c)) em += 0.318;
    else if ('ijl'.includes(c)) em += 0.278;
    else if ('frt-'.includes(c)) em += 0.39;
    else if ('mw'.includes(c)) em += 0.86;
    else if (c >= 'A' && c <= 'Z') em += 0.7;
    else em += 0.61;
  }
  return em * size;
}

/** Formats a pixel coordinate with two decimals at most: short SVG, same bytes for the same input. */
export function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** [min, max] of one coordinate over all points, without spreading huge arrays onto the stack. */
export function extent(points: readonly [number, number][], axis: 0 | 1): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    if (p[axis] < lo) lo = p[axis];
    if (p[axis] > hi) hi = p[axis];
  }
  return [lo, hi];
}

/** The axes frame (matplotlib's four spines), drawn over the data. */
export function frameRect(b: Box, strokeWidth: number): string {
  return `<rect x="${fmt(b.x)}" y="${fmt(b.y)}" width="${fmt(b.w)}" height="${fmt(b.h)}" fill="none" stroke="#000" stroke-width="${fmt(strokeWidth)}"/>`;
}

/**
 * matplotlib's legend loc='best': try the corners and edges in its order and keep the first place
 * that covers the fewest data points (lines are sampled between points too, so a line through the
 * box counts). `lines` are in pixels.
 */
export function placeLegend(frame: Box, w: number, h: number, margin: number, lines: [number, number][][]): { x: number; y: number } {
  const left = frame.x + margin;
  const right = frame.x + frame.w - margin - w;
  const midX = frame.x + (frame.w - w) / 2;
  const top = frame.y + margin;
  const bottom = frame.y + frame.h - margin - h;
  const midY = frame.y + (frame.h - h) / 2;
  // matplotlib's Legend.codes order: upper right, upper left, lower left, lower right, right,
  // center left, center right, lower center, upper center, center.
  const candidates = [
    [right, top], [left, top], [left, bottom], [right, bottom], [right, midY],
    [left, midY], [right, midY], [midX, bottom], [midX, top], [midX, midY],
  ] as const;
  const samples: [number, number][] = [];
  for (const line of lines) {
    for (let i = 0; i < line.length; i++) {
      const [ax, ay] = line[i]!;
      samples.push([ax, ay]);
      if (i + 1 === line.length) continue;
      const [bx, by] = line[i + 1]!;
      for (let t = 1; t < 8; t++) samples.push([ax + ((bx - ax) * t) / 8, ay + ((by - ay) * t) / 8]);
    }
  }
  let best = { x: candidates[0][0], y: candidates[0][1] };
  let bestScore = Infinity;
  for (const [x, y] of candidates) {
    let score = 0;
    for (const [px, py] of samples) if (px >= x && px <= x + w && py >= y && py <= y + h) score++;
    if (score < bestScore) {
      bestScore = score;
      best = { x, y };
    }
  }
  return best;
}
