/**
 * Training curves: the course's matplotlib figure, two panels side by side, "Accuracy" (training vs
 * validation) on the left and "Loss" on the right, epoch on the x axis. The SVG is written here by
 * hand (it is a few dozen elements, and a chart library would cost more install size than the font);
 * rasterize.ts turns it into a PNG with resvg.
 *
 * Looks follow matplotlib's defaults: DejaVu Sans, tab:blue for training and tab:orange for
 * validation, a black frame, outward ticks, "nice" tick steps, 5% data margins, legend in the
 * emptiest corner (matplotlib's loc='best').
 */
import { writeFileAtomic } from '../io/atomic.js';
import { FONT_FAMILY, svgToPng } from './rasterize.js';
import { type Box, extent, fmt as f, frameRect, niceTicks, padDomain, placeLegend, type Series, textWidth } from './plot.js';

export interface CurvesInput {
  /** Epoch numbers, one per history entry (Keras reports 1-based epochs in its progress bar). */
  epochs: number[];
  /**
   * Keras `History.history`: 'loss', 'accuracy', 'val_loss', 'val_accuracy', ... one value per epoch.
   * Validation values are null on epochs without validation (validationFreq > 1); keys may be missing.
   */
  history: Record<string, (number | null)[]>;
}

export interface CurvesOptions {
  /** Figure title above both panels; none by default. */
  title?: string;
  /** Picture width in pixels (default 960). */
  width?: number;
  /** Picture height in pixels (default 400). */
  height?: number;
}

export interface WriteCurvesOptions extends CurvesOptions {
  /** Also write the SVG next to the PNG (same name, `.svg` extension). */
  svg?: boolean;
}

// matplotlib's default colour cycle: tab:blue, tab:orange.
const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#ff7f0e';

/**
 * The accuracy key to plot. Keras names the metric after what was passed to compile(): 'accuracy'
 * (or 'acc' in old versions), else 'sparse_categorical_accuracy' and friends.
 */
export function accuracyKey(history: Record<string, unknown>): string | undefined {
  const keys = Object.keys(history);
  for (const k of ['accuracy', 'acc']) if (keys.includes(k) || keys.includes(`val_${k}`)) return k;
  const named = keys
    .map((k) => (k.startsWith('val_') ? k.slice(4) : k))
    .filter((k) => k.endsWith('_accuracy'))
    .sort();
  return named[0];
}

interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  /** How many epochs the run has: a series with fewer points has gaps and gets markers. */
  epochCount: number;
  /** Shown in the middle of the frame when there is nothing to draw. */
  emptyMessage: string;
}

/** Pairs each epoch with its value, dropping null, NaN and +-Infinity. */
function points(epochs: number[], values: (number | null)[] | undefined, key: string): [number, number][] {
  if (values === undefined) return [];
  if (!Array.isArray(values) || values.length !== epochs.length) {
    const got = Array.isArray(values) ? `${values.length} values` : typeof values;
    throw new Error(`curvesSvg: history['${key}'] expected ${epochs.length} values (one per epoch), received ${got}`);
  }
  const out: [number, number][] = [];
  for (let i = 0; i < epochs.length; i++) {
    const x = epochs[i]!;
    const y = values[i];
    if (typeof y === 'number' && Number.isFinite(y) && Number.isFinite(x)) out.push([x, y]);
  }
  return out;
}

function panelFor(input: CurvesInput, key: string | undefined, title: string, emptyMessage: string): Panel {
  const series: Series[] = [];
  if (key !== undefined) {
    const noun = key === 'loss' ? 'loss' : 'accuracy';
    const train = points(input.epochs, input.history[key], key);
    const val = points(input.epochs, input.history[`val_${key}`], `val_${key}`);
    if (key in input.history) series.push({ key, label: `Training ${noun}`, color: TRAIN_COLOR, points: train });
    if (`val_${key}` in input.history) {
      series.push({ key: `val_${key}`, label: `Validation ${noun}`, color: VAL_COLOR, points: val });
    }
    if (series.length > 0 && series.every((s) => s.points.length === 0)) emptyMessage = 'no finite values';
  }
  const drawn = series.filter((s) => s.points.length > 0);
  return { title, yLabel: title, series: drawn, epochCount: input.epochs.length, emptyMessage };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Fonts {
  tick: number;
  label: number;
  title: number;
}

function text(x: number, y: number, size: number, s: string, extra = ''): string {
  return `<text x="${f(x)}" y="${f(y)}" font-size="${f(size)}"${extra}>${esc(s)}</text>`;
}

/** Markers where a line alone hides where the data are: one epoch, sparse validation, short runs. */
function hasMarkers(s: Series, epochCount: number): boolean {
  return s.points.length < epochCount || s.points.length <= 30;
}

/**
 * One panel inside `area` (its half of the figure, below the figure title): panel title, y label,
 * tick labels, then the frame takes what is left, so wide tick labels never run off the picture.
 */
function panelSvg(p: Panel, area: Box, fonts: Fonts, scale: number): string {
  const out: string[] = [];
  const tick = 3.5 * scale;
  const top = area.y + 1.8 * fonts.title;
  const h = area.h - 1.8 * fonts.title - (tick + 2.6 * fonts.tick + 1.2 * fonts.label);
  const right = area.x + area.w - 2 * fonts.label;
  out.push(`<g class="panel" data-panel="${esc(p.title)}">`);

  if (p.series.length === 0) {
    const frame = { x: area.x + 2.4 * fonts.label, y: top, w: right - area.x - 2.4 * fonts.label, h };
    out.push(...panelTitles(p, frame, fonts, tick));
    out.push(frameRect(frame, 0.8 * scale));
    out.push(text(frame.x + frame.w / 2, top + h / 2 + 0.35 * fonts.label, fonts.label, p.emptyMessage, ' text-anchor="middle" fill="#555"'));
    out.push('</g>');
    return out.join('\n');
  }

  const all = p.series.flatMap((s) => s.points);
  const [xMin, xMax] = extent(all, 0);
  const [yMin, yMax] = extent(all, 1);
  const [x0, x1] = padDomain(xMin, xMax, 1);
  const [y0, y1] = padDomain(yMin, yMax, Math.max(Math.abs(yMax) * 0.1, 0.05));
  const yt = niceTicks(y0, y1, Math.max(2, Math.floor(h / (45 * scale))), false);
  const yLabels = yt.values.map((v) => yt.format(v));
  const yLabelWidth = Math.max(0, ...yLabels.map((l) => textWidth(l, fonts.tick)));
  // y label: glyphs span about 1 em left of its baseline; tick labels start 0.5 em right of it.
  const yLabelX = area.x + 1.5 * fonts.label;
  const x = yLabelX + 0.5 * fonts.label + yLabelWidth + 3 * scale + tick;
  const frame: Box = { x, y: top, w: right - x, h };
  const xt = niceTicks(x0, x1, Math.max(2, Math.floor(frame.w / (60 * scale))), true);
  const sx = (v: number) => x + ((v - x0) / (x1 - x0)) * frame.w;
  const sy = (v: number) => top + h - ((v - y0) / (y1 - y0)) * h;

  out.push(...panelTitles(p, frame, fonts, tick, yLabelX));
  const grid: string[] = [];
  const marks: string[] = [];
  for (const t of xt.values) {
    const px = sx(t);
    grid.push(`M${f(px)} ${f(top)}V${f(top + h)}`);
    marks.push(`M${f(px)} ${f(top + h)}v${f(tick)}`);
    out.push(text(px, top + h + tick + 1.1 * fonts.tick, fonts.tick, xt.format(t), ' text-anchor="middle"'));
  }
  yt.values.forEach((t, i) => {
    const py = sy(t);
    grid.push(`M${f(x)} ${f(py)}H${f(x + frame.w)}`);
    marks.push(`M${f(x)} ${f(py)}h${f(-tick)}`);
    out.push(text(x - tick - 3 * scale, py + 0.35 * fonts.tick, fonts.tick, yLabels[i]!, ' text-anchor="end"'));
  });
  // matplotlib's offset text: ticks read 1.2, 1.4 ... and "1e6" above the axis says the unit.
  if (yt.exponent !== 0) out.push(text(x, top - 0.4 * fonts.tick, fonts.tick, `1e${yt.exponent}`));
  out.push(`<path d="${grid.join('')}" stroke="#e6e6e6" stroke-width="${f(scale)}" fill="none"/>`);
  out.push(`<path d="${marks.join('')}" stroke="#000" stroke-width="${f(0.8 * scale)}" fill="none"/>`);

  const clip = `clip-${p.title.toLowerCase()}`;
  out.push(`<clipPath id="${clip}"><rect x="${f(x)}" y="${f(top)}" width="${f(frame.w)}" height="${f(h)}"/></clipPath>`);
  out.push(`<g clip-path="url(#${clip})">`);
  for (const s of p.series) {
    const pts = s.points.map(([a, b]) => `${f(sx(a))},${f(sy(b))}`).join(' ');
    out.push(
      `<polyline class="series" data-series="${esc(s.key)}" points="${pts}" fill="none" stroke="${s.color}" ` +
        `stroke-width="${f(2 * scale)}" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
    if (hasMarkers(s, p.epochCount)) {
      const dots = s.points.map(([a, b]) => `<circle cx="${f(sx(a))}" cy="${f(sy(b))}" r="${f(3 * scale)}"/>`);
      out.push(`<g fill="${s.color}">${dots.join('')}</g>`);
    }
  }
  out.push('</g>');
  out.push(frameRect(frame, 0.8 * scale));
  const projected = p.series.map((s) => s.points.map(([a, b]) => [sx(a), sy(b)] as [number, number]));
  out.push(legendSvg(p, frame, projected, fonts, scale));
  out.push('</g>');
  return out.join('\n');
}

/** Panel title above the frame, "Epoch" below it, the metric name rotated on the left (baseline at yLabelX). */
function panelTitles(p: Panel, frame: Box, fonts: Fonts, tick: number, yLabelX?: number): string[] {
  const cx = frame.x + frame.w / 2;
  const cy = frame.y + frame.h / 2;
  const out = [
    text(cx, frame.y - 0.6 * fonts.title, fonts.title, p.title, ' text-anchor="middle" class="panel-title"'),
    text(cx, frame.y + frame.h + tick + 2.2 * fonts.tick + 0.4 * fonts.label, fonts.label, 'Epoch', ' text-anchor="middle"'),
  ];
  if (yLabelX !== undefined) {
    out.push(text(yLabelX, cy, fonts.label, p.yLabel, ` text-anchor="middle" transform="rotate(-90 ${f(yLabelX)} ${f(cy)})"`));
  }
  return out;
}

/** Legend: a line swatch and a label per series, in the place that covers the fewest data points. */
function legendSvg(p: Panel, frame: Box, lines: [number, number][][], fonts: Fonts, scale: number): string {
  const pad = 6 * scale;
  const swatch = 24 * scale;
  const rowH = 1.5 * fonts.tick;
  const lw = pad * 3 + swatch + Math.max(...p.series.map((s) => textWidth(s.label, fonts.tick)));
  const lh = pad * 2 + rowH * p.series.length - (rowH - fonts.tick);
  const lb = placeLegend(frame, lw, lh, 8 * scale, lines);
  const out = [
    `<g class="legend"><rect x="${f(lb.x)}" y="${f(lb.y)}" width="${f(lw)}" height="${f(lh)}" rx="${f(3 * scale)}" ` +
      `fill="#fff" fill-opacity="0.85" stroke="#ccc" stroke-width="${f(scale)}"/>`,
  ];
  p.series.forEach((s, i) => {
    const cy = lb.y + pad + fonts.tick / 2 + i * rowH;
    out.push(`<path d="M${f(lb.x + pad)} ${f(cy)}h${f(swatch)}" stroke="${s.color}" stroke-width="${f(2 * scale)}"/>`);
    if (hasMarkers(s, p.epochCount)) {
      out.push(`<circle cx="${f(lb.x + pad + swatch / 2)}" cy="${f(cy)}" r="${f(3 * scale)}" fill="${s.color}"/>`);
    }
    out.push(text(lb.x + 2 * pad + swatch, cy + 0.35 * fonts.tick, fonts.tick, s.label));
  });
  out.push('</g>');
  return out.join('\n');
}

function checkSize(name: string, v: number | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new Error(`curvesSvg: ${name} expected a finite number >= ${min}, received ${String(v)}`);
  }
  return Math.round(v);
}

/** The figure as a standalone SVG document (deterministic: the same input gives the same string). */
export function curvesSvg(input: CurvesInput, opts: CurvesOptions = {}): string {
  if (!Array.isArray(input?.epochs)) throw new Error(`curvesSvg: input.epochs expected an array, received ${typeof input?.epochs}`);
  if (typeof input.history !== 'object' || input.history === null) {
    throw new Error(`curvesSvg: input.history expected an object, received ${String(input.history)}`);
  }
  const width = checkSize('width', opts.width, 960, 320);
  const height = checkSize('height', opts.height, 400, 160);
  // Sizes are tuned for 960x400 and scale with the smaller ratio (text no smaller than 9 px).
  const scale = Math.min(3, Math.max(0.75, Math.min(width / 960, height / 400)));
  const fonts: Fonts = { tick: 12 * scale, label: 13 * scale, title: 15 * scale };

  const acc = panelFor(input, accuracyKey(input.history), 'Accuracy', 'no accuracy metric');
  const loss = panelFor(input, 'loss' in input.history || 'val_loss' in input.history ? 'loss' : undefined, 'Loss', 'no loss values');

  const top = opts.title ? 2.4 * fonts.title : 0.6 * fonts.title;
  const half = width / 2;
  const areaFor = (x0: number): Box => ({ x: x0, y: top, w: half, h: height - top });

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="'${FONT_FAMILY}', Verdana, Arial, sans-serif" fill="#000">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  if (opts.title) {
    parts.push(text(width / 2, 1.6 * fonts.title, fonts.title * 1.1, opts.title, ' text-anchor="middle" font-weight="bold" class="figure-title"'));
  }
  parts.push(panelSvg(acc, areaFor(0), fonts, scale));
  parts.push(panelSvg(loss, areaFor(half), fonts, scale));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * Writes the figure as a PNG of exactly width x height pixels (and, with `svg: true`, the SVG beside
 * it). Each file is written to a temporary name in the same folder and renamed into place.
 */
export async function writeCurves(input: CurvesInput, pngPath: string, opts: WriteCurvesOptions = {}): Promise<void> {
  const svg = curvesSvg(input, opts);
  const png = await svgToPng(svg);
  writeFileAtomic(pngPath, [png]);
  if (opts.svg) writeFileAtomic(pngPath.replace(/\.png$/i, '') + '.svg', [Buffer.from(svg)]);
}
