/**
 * The architecture as an SVG, drawn from the analysis rows: layers and ops are boxes, data flows top to bottom,
 * composite blocks with branches (InceptionBlk, ResnetBlock) are framed and expanded so their branches and
 * shortcuts show, and a block that is a plain chain (ConvBNRelu) is one box. The model's own sequence is
 * wrapped into columns at points where a single edge crosses, to fit a page width.
 */
import type { LayerAnalysis, ModelAnalysis } from './analysis.js';
import { compact, rfText } from './format.js';
import { Box, GAP_Y, Layout, placeGraph, rankGraph } from './layout.js';
import { textWidth } from './plot.js';

const NODE_W = 138;
const NODE_H = 34;
const PAD = 10;
const TITLE_H = 18;
const COLUMN_GAP = 46;
/** A model shorter than this stays one column. */
const MIN_COLUMN_H = 600;
const PORT = 'port';

interface Drawn {
  svg: string[];
  w: number;
  h: number;
  /** Where edges enter (top) and leave (bottom), as x offsets. */
  inX: number;
  outX: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (v: number): string => String(Math.round(v * 10) / 10);

/** Colour family of a row, for fill and stroke (CSS classes in the report). */
export function family(r: LayerAnalysis): string {
  const t = r.type === 'op' ? r.name : r.type;
  if (r.kind === 'input') return 'input';
  if (/Conv/.test(t) || t === 'conv2d' || t === 'depthwiseConv2d') return 'conv';
  if (/BatchNorm/.test(t) || t.startsWith('batchNorm')) return 'bn';
  if (/Activation|ReLU|^relu|sigmoid|tanh|softmax/.test(t)) return 'act';
  if (/Pool/i.test(t)) return 'pool';
  if (t === 'Dense' || t === 'matmul') return 'dense';
  if (/^(Add|Concatenate|add|concat)$/.test(t)) return 'merge';
  return 'other';
}

const shapeShort = (r: LayerAnalysis): string => r.outputShape.slice(1).join('×');

function tooltip(r: LayerAnalysis): string {
  return [`${r.name} (${r.type})${r.detail ? ` ${r.detail}` : ''}`, `output ${shapeShort(r)}`, `params ${r.params.toLocaleString('en-US')}`, `MACs ${compact(r.macs)}`, `receptive field ${rfText(r.receptiveField, 'size')}, jump ${rfText(r.receptiveField, 'jump')}`].join('\n');
}

function nodeSvg(r: LayerAnalysis, x: number, y: number, title: string, fam: string): string {
  const sub = `${shapeShort(r)}${r.params ? ` · ${compact(r.params)}p` : ''}`;
  const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  return (
    `<g class="node ${fam}" data-row="${r.id}" transform="translate(${f(x)},${f(y)})"><title>${esc(tooltip(r))}</title>` +
    `<rect width="${NODE_W}" height="${NODE_H}" rx="6"/>` +
    `<text x="${NODE_W / 2}" y="14" class="t1">${esc(clip(title, 24))}</text>` +
    `<text x="${NODE_W / 2}" y="27.5" class="t2">${esc(clip(sub, 28))}</text></g>`
  );
}

/** 'Conv2D 3x3 /2 same, 64' -> 'Conv 3x3 /2 · 64': short enough for a box. */
function label(r: LayerAnalysis): string {
  const type = r.type === 'op' ? r.name : r.type.replace('BatchNormalization', 'BatchNorm').replace('DepthwiseConv2D', 'DWConv').replace('Conv2D', 'Conv').replace('ZeroPadding2D', 'ZeroPad').replace('GlobalAveragePooling2D', 'GlobalAvgPool').replace('GlobalMaxPooling2D', 'GlobalMaxPool').replace('Pooling2D', 'Pool').replace('Activation', '').replace('InputLayer', 'Input');
  const d = r.detail.replace(/ (same|valid)\b/, '').replace(/^global$/, '').replace(/, /g, ' · ');
  if (r.type === 'ReLU') return d === 'relu' ? 'ReLU' : d.toUpperCase().replace('RELU', 'ReLU');
  return `${type}${d && r.kind !== 'op' ? ` ${d}` : ''}`.trim();
}

/** A block drawn as one box: its inner rows form a chain (each reads the one before). */
function isChain(block: LayerAnalysis, inner: LayerAnalysis[]): boolean {
  if (inner.some((r) => r.kind === 'block') || inner.length > 5) return false;
  return inner.every((r, i) => (i === 0 ? r.inputs.every((j) => !inner.some((q) => q.id === j)) : r.inputs.length === 1 && r.inputs[0] === inner[i - 1].id)) && block.output === inner[inner.length - 1].id;
}

class Diagram {
  private readonly children = new Map<number | null, LayerAnalysis[]>();

  constructor(private readonly a: ModelAnalysis) {
    for (const r of a.rows) this.children.set(r.parent, [...(this.children.get(r.parent) ?? []), r]);
  }

  /** One row as a drawing: a box, or a framed block with its inside laid out. */
  private item(r: LayerAnalysis): Drawn {
    const inner = this.children.get(r.id) ?? [];
    if (r.kind !== 'block' || isChain(r, inner)) {
      const head = inner.find((q) => q.kind !== 'op' && q.detail) ?? r;
      const title = r.kind === 'block' ? `${r.type} ${label(head).replace(/^\S+ ?/, '')}` : label(r);
      return { svg: [nodeSvg(r, 0, 0, title, r.kind === 'block' ? family(head) : family(r))], w: NODE_W, h: NODE_H, inX: NODE_W / 2, outX: NODE_W / 2 };
    }
    const body = this.scope(inner, r);
    const title = `${r.name} · ${compact(r.params)} params`;
    const w = Math.max(body.w + 2 * PAD, textWidth(title, 10) * 1.1 + 20);
    const dx = (w - body.w) / 2;
    const h = body.h + TITLE_H + 2 * PAD;
    const svg = [
      `<g class="block" data-row="${r.id}"><title>${esc(tooltip(r))}</title><rect width="${f(w)}" height="${f(h)}" rx="10"/>`,
      `<text x="10" y="14" class="bt">${esc(title)}</text></g>`,
      `<g transform="translate(${f(dx)},${TITLE_H + PAD})">${body.svg.join('')}</g>`,
      `<circle class="port" cx="${f(body.inX + dx)}" cy="0" r="3"/><circle class="port" cx="${f(body.outX + dx)}" cy="${f(h)}" r="3"/>`,
      `<path class="edge" d="M${f(body.inX + dx)},0V${f(TITLE_H + PAD)}M${f(body.outX + dx)},${f(h - PAD)}V${f(h)}"/>`,
    ];
    return { svg, w, h, inX: body.inX + dx, outX: body.outX + dx };
  }

  /** Lays out rows of one scope (a block's inside when `block` is given, else the model's top level). */
  private graph(rows: LayerAnalysis[], block?: LayerAnalysis): { l: Layout; drawn: Map<string, Drawn> } {
    const drawn = new Map<string, Drawn>();
    const ids = new Set(rows.map((r) => r.id));
    const edges: { from: string; to: string }[] = [];
    if (block) drawn.set(`${PORT}-in`, { svg: [], w: 6, h: 0, inX: 3, outX: 3 });
    for (const r of rows) {
      drawn.set(String(r.id), this.item(r));
      const outside = r.inputs.filter((i) => !ids.has(i));
      for (const i of r.inputs) if (ids.has(i)) edges.push({ from: String(i), to: String(r.id) });
      if (block && (outside.length > 0 || r.inputs.length === 0)) edges.push({ from: `${PORT}-in`, to: String(r.id) });
    }
    if (block) {
      drawn.set(`${PORT}-out`, { svg: [], w: 6, h: 0, inX: 3, outX: 3 });
      edges.push({ from: String(block.output), to: `${PORT}-out` });
    }
    const l = rankGraph([...drawn].map(([id, d]) => ({ id, w: d.w, h: d.h })), edges);
    return { l, drawn };
  }

  private scope(rows: LayerAnalysis[], block: LayerAnalysis): Drawn {
    const { l, drawn } = this.graph(rows, block);
    placeGraph(l);
    const svg = render(l, drawn, [0, l.ranks.length - 1]);
    const port = (id: string): number => l.boxes.get(id)!.x + 3;
    return { svg, w: l.w, h: l.h, inX: port(`${PORT}-in`), outX: port(`${PORT}-out`) };
  }

  /** The whole model; the top level wraps into columns so the picture is at most `maxWidth` wide. */
  draw(maxWidth: number): { svg: string; w: number; h: number } {
    const { l, drawn } = this.graph(this.children.get(null) ?? []);
    const heights = l.ranks.map((r) => Math.max(0, ...r.map((id) => l.boxes.get(id)!.h)) + GAP_Y);
    // A column may end after rank r when exactly one edge leaves it, and goes to the next rank.
    const cut = heights.map((_, r) => {
      const across = l.edges.filter((e) => l.boxes.get(e.from)!.rank <= r && l.boxes.get(e.to)!.rank > r);
      return across.length === 1 && l.boxes.get(across[0].from)!.rank === r && l.boxes.get(across[0].to)!.rank === r + 1 ? across[0] : null;
    });
    const columnsFor = (limit: number): [number, number][] => {
      const cols: [number, number][] = [];
      let start = 0;
      let h = 0;
      for (let r = 0; r < heights.length; r++) {
        if (h + heights[r] > limit && r > start && cut[r - 1]) {
          cols.push([start, r - 1]);
          start = r;
          h = 0;
        }
        h += heights[r];
      }
      cols.push([start, heights.length - 1]);
      return cols;
    };
    // The lowest picture that fits the width (columns at least MIN_COLUMN_H): raise the column height until
    // the columns fit side by side.
    const total = heights.reduce((a, b) => a + b, 0);
    let best = { cols: [[0, heights.length - 1]] as [number, number][], w: 0, h: 0 };
    for (let limit = Math.max(MIN_COLUMN_H, ...heights); ; limit += 24) {
      const cols = columnsFor(limit);
      const w = cols.map((c) => (placeGraph(l, c), l.w)).reduce((a, b) => a + b, 0) + COLUMN_GAP * (cols.length - 1);
      const h = Math.max(...cols.map((c) => heights.slice(c[0], c[1] + 1).reduce((a, b) => a + b, 0) - GAP_Y));
      best = { cols, w, h };
      if (w <= maxWidth || limit >= total) break;
    }
    const svg: string[] = [];
    let x0 = 0;
    let prevExit: [number, number] | null = null;
    for (const c of best.cols) {
      placeGraph(l, c);
      const top = Math.min(...l.ranks[c[0]].map((id) => l.boxes.get(id)!.y));
      svg.push(`<g transform="translate(${f(x0)},${f(-top)})">${render(l, drawn, c).join('')}</g>`);
      const into = c[0] > 0 ? cut[c[0] - 1] : null;
      if (prevExit && into) {
        const [px, py] = prevExit;
        const to = l.boxes.get(into.to)!;
        const tx = x0 + to.x + drawn.get(to.id)!.inX;
        const mid = x0 - COLUMN_GAP / 2;
        svg.push(`<path class="edge wrap" d="M${f(px)},${f(py)}V${f(py + 8)}H${f(mid)}V${f(-10)}H${f(tx)}V${f(to.y - top)}" marker-end="url(#arrow)"/>`);
      }
      const leaving = cut[c[1]];
      if (leaving) {
        const from = l.boxes.get(leaving.from)!;
        prevExit = [x0 + from.x + drawn.get(from.id)!.outX, from.y - top + from.h];
      }
      x0 += l.w + COLUMN_GAP;
    }
    const w = Math.ceil(best.w);
    const h = Math.ceil(best.h) + 12;
    return { svg: `<svg id="architecture" class="diagram" width="${w + 4}" height="${h + 16}" viewBox="-2 -14 ${w + 4} ${h + 16}" role="img" aria-label="architecture of ${esc(this.a.name)}">${svg.join('')}</svg>`, w, h };
  }
}

/** Boxes and edges of ranks [from, to] of a placed layout. */
function render(l: Layout, drawn: Map<string, Drawn>, range: [number, number]): string[] {
  const out: string[] = [];
  const inRange = (b: Box): boolean => b.rank >= range[0] && b.rank <= range[1];
  for (const e of l.edges) {
    const a = l.boxes.get(e.from)!;
    const b = l.boxes.get(e.to)!;
    if (!inRange(a) || !inRange(b)) continue;
    const pts: [number, number][] = [[a.x + drawn.get(a.id)!.outX, a.y + a.h]];
    for (const id of e.path.slice(1, -1)) {
      const d = l.boxes.get(id)!;
      pts.push([d.x + d.w / 2, d.y], [d.x + d.w / 2, d.y + d.h]);
    }
    pts.push([b.x + drawn.get(b.id)!.inX, b.y]);
    let d = `M${f(pts[0][0])},${f(pts[0][1])}`;
    for (let i = 1; i < pts.length; i++) {
      const [px, py] = pts[i - 1];
      const [qx, qy] = pts[i];
      const my = (py + qy) / 2;
      d += px === qx ? `V${f(qy)}` : `C${f(px)},${f(my)} ${f(qx)},${f(my)} ${f(qx)},${f(qy)}`;
    }
    const arrow = b.id.startsWith(PORT) ? '' : ' marker-end="url(#arrow)"';
    out.push(`<path class="edge" d="${d}"${arrow}/>`);
  }
  for (const [id, d] of drawn) {
    const b = l.boxes.get(id)!;
    if (!inRange(b) || d.svg.length === 0) continue;
    out.push(`<g transform="translate(${f(b.x)},${f(b.y)})">${d.svg.join('')}</g>`);
  }
  return out;
}

/** The architecture diagram of an analysed model, as inline SVG (styled by the report's CSS). */
export function architectureSvg(a: ModelAnalysis, maxWidth = 1320): string {
  const { svg } = new Diagram(a).draw(maxWidth);
  const defs = '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L8,4L0,8z" class="arrowhead"/></marker></defs>';
  return svg.replace(/^(<svg[^>]*>)/, `$1${defs}`);
}
