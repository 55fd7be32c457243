/**
 * The report page: one self-contained HTML file. Styles, script, the diagram (SVG) and every picture
 * (PNG data: URIs) are inline, and a Content-Security-Policy forbids the browser any request, so the page
 * opens from file:// anywhere, offline, and cannot leak a byte.
 */
import { formatShape } from '../tensor/shape.js';
import type { LayerAnalysis, ModelAnalysis } from './analysis.js';
import { architectureSvg, family } from './diagram.js';
import { bytes, compact, rfText, thousands } from './format.js';
import type { Picture } from './images.js';

export const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

export interface PictureGroup {
  title: string;
  note?: string;
  pictures: Picture[];
  /** Displayed size of each picture, in CSS pixels. */
  size: number;
  /** Feature maps: shown below the curves across the page, `columns` pictures a row. */
  wide?: boolean;
  columns?: number;
}

export interface ReportInput {
  analysis: ModelAnalysis;
  /** Where the model came from: 'zoo model resnet18', 'checkpoint runs/x/best.safetensors (epoch 5)'. */
  source: string;
  /** Training curves as an SVG document (curves.ts). */
  curvesSvg?: string;
  /** First-layer filters, a sample, its feature maps. */
  pictures?: PictureGroup[];
  /** Lines under the training section (final accuracy, ...). */
  trainingNotes?: string[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "DejaVu Sans","Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{padding:22px 32px 10px}
h1{margin:0;font-size:26px;letter-spacing:-.01em}
h1 small{font-weight:400;color:var(--muted);font-size:15px;margin-left:10px}
h2{font-size:17px;margin:0 0 10px}
.sub{color:var(--muted);margin-top:4px}
main{padding:0 32px 32px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;margin:14px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.card b{display:block;font-size:21px;letter-spacing:-.01em}
.card span{color:var(--muted);font-size:12px}
.diagram-wrap{overflow-x:auto}
svg.diagram{font:11px "DejaVu Sans",Verdana,sans-serif;display:block}
.node rect{stroke-width:1.2}
.node text{text-anchor:middle}
.node .t1{font-weight:700;font-size:10.5px;fill:#111827}
.node .t2{font-size:9.5px;fill:#4b5563}
.node:hover rect,.node.hl rect{stroke-width:2.6}
.block rect{fill:#f1f5f9;fill-opacity:.55;stroke:#94a3b8;stroke-dasharray:4 3}
.block .bt{font-size:10px;fill:#334155;font-weight:700;paint-order:stroke;stroke:#f8fafc;stroke-width:3px}
.edge{fill:none;stroke:#64748b;stroke-width:1.3}
.edge.wrap{stroke-dasharray:5 4;stroke:#94a3b8}
.arrowhead{fill:#64748b}
.port{fill:#64748b}
.conv rect{fill:#dbeafe;stroke:#3b82f6}.bn rect{fill:#f3f4f6;stroke:#9ca3af}.act rect{fill:#dcfce7;stroke:#22c55e}
.pool rect{fill:#ffedd5;stroke:#f97316}.dense rect{fill:#ede9fe;stroke:#8b5cf6}.merge rect{fill:#fee2e2;stroke:#ef4444}
.input rect{fill:#fef9c3;stroke:#eab308}.other rect{fill:#f9fafb;stroke:#d1d5db}
.legend{display:flex;gap:14px;flex-wrap:wrap;color:var(--muted);font-size:12px;margin:2px 0 10px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-2px;border:1px solid}
.lg-conv{background:#dbeafe;border-color:#3b82f6!important}.lg-bn{background:#f3f4f6;border-color:#9ca3af!important}.lg-act{background:#dcfce7;border-color:#22c55e!important}
.lg-pool{background:#ffedd5;border-color:#f97316!important}.lg-dense{background:#ede9fe;border-color:#8b5cf6!important}.lg-merge{background:#fee2e2;border-color:#ef4444!important}
.lg-input{background:#fef9c3;border-color:#eab308!important}.lg-block{background:#f1f5f9;border:1px dashed #94a3b8!important}
.two{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:14px}
.curves svg{width:100%;height:auto}
.pics{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0 12px}
.maps{display:flex;flex-wrap:wrap;column-gap:34px;margin-top:6px}
.pics figure{margin:0;text-align:center}
.pics img{image-rendering:pixelated;border:1px solid var(--line);border-radius:3px;display:block}
.pics figcaption{font-size:10px;color:var(--muted)}
h3{font-size:14px;margin:8px 0 2px}
.note{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{position:sticky;top:0;background:#f1f5f9;text-align:left;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.block td{font-weight:700;background:#f8fafc;cursor:pointer}
tr.block td:first-child::before{content:"▾ ";color:var(--muted)}
tr.block.closed td:first-child::before{content:"▸ "}
tr.hidden{display:none}
tr.hl td{background:#fef3c7}
tr.op td{color:#475569;font-style:italic}
tfoot td{font-weight:700;border-top:2px solid #cbd5e1}
.sw{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px;border:1px solid}
footer{color:var(--muted);font-size:12px;padding:0 32px 28px}
`;

const SCRIPT = `
(function(){
  var rows=document.querySelectorAll('#layers tbody tr');
  function node(id){return document.querySelector('#architecture [data-row="'+id+'"]');}
  function row(id){return document.getElementById('row-'+id);}
  function clear(){document.querySelectorAll('.hl').forEach(function(e){e.classList.remove('hl');});}
  document.querySelectorAll('#architecture [data-row]').forEach(function(g){
    g.addEventListener('click',function(ev){ev.stopPropagation();clear();var r=row(g.getAttribute('data-row'));
      if(r){r.classList.add('hl');r.classList.remove('hidden');r.scrollIntoView({block:'center'});}g.classList.add('hl');});
  });
  rows.forEach(function(r){
    var id=r.getAttribute('data-id');
    r.addEventListener('mouseenter',function(){var n=node(id);if(n)n.classList.add('hl');});
    r.addEventListener('mouseleave',function(){var n=node(id);if(n)n.classList.remove('hl');});
    if(r.classList.contains('block'))r.addEventListener('click',function(){
      var closed=r.classList.toggle('closed');
      rows.forEach(function(q){if((' '+q.getAttribute('data-ancestors')+' ').indexOf(' '+id+' ')>=0)q.classList.toggle('hidden',closed);});
    });
  });
  window.addEventListener('load',function(){
    var ok=0;document.querySelectorAll('img').forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;});
    document.body.setAttribute('data-images-loaded',String(ok));
  });
  document.body.setAttribute('data-ready','1');
})();
`;

function ancestors(r: LayerAnalysis, rows: LayerAnalysis[]): number[] {
  const out: number[] = [];
  for (let p = r.parent; p !== null; p = rows[p].parent) out.push(p);
  return out;
}

function tableHtml(a: ModelAnalysis): string {
  const head = ['#', 'Layer', 'Type', 'Output shape', 'Params', 'MACs', 'FLOPs', 'Elem. ops', 'Act. mem', 'RF', 'Jump', 'Detail', 'Inputs'];
  const body = a.rows.map((r) => {
    const cls = r.kind === 'block' ? 'block' : r.kind === 'op' ? 'op' : '';
    const name = `<span style="padding-left:${r.depth * 18}px"></span><i class="sw lg-${r.kind === 'block' ? 'block' : family(r)}"></i>${esc(r.name)}`;
    const cells = [
      `<td class="n">${r.id}</td>`, `<td>${name}</td>`, `<td>${esc(r.type)}</td>`, `<td>${formatShape(r.outputShape)}</td>`,
      `<td class="n">${thousands(r.params)}</td>`, `<td class="n" title="${thousands(r.macs)}">${compact(r.macs)}</td>`, `<td class="n" title="${thousands(r.flops)}">${compact(r.flops)}</td>`,
      `<td class="n" title="${thousands(r.elementwiseOps)}">${compact(r.elementwiseOps)}</td>`, `<td class="n">${bytes(r.activationBytes)}</td>`,
      `<td class="n">${rfText(r.receptiveField, 'size')}</td>`, `<td class="n">${rfText(r.receptiveField, 'jump')}</td>`, `<td>${esc(r.detail)}</td>`,
      `<td class="note">${r.inputs.map((i) => esc(a.rows[i].name)).join(', ')}</td>`,
    ];
    return `<tr id="row-${r.id}" data-id="${r.id}" data-ancestors="${ancestors(r, a.rows).join(' ')}" class="${cls}">${cells.join('')}</tr>`;
  });
  const t = a.totals;
  const foot = `<tr><td></td><td colspan="3">Total (${t.weightedLayers} conv/dense layers)</td><td class="n">${thousands(t.params)}</td><td class="n">${compact(t.macs)}</td><td class="n">${compact(t.flops)}</td><td class="n">${compact(t.elementwiseOps)}</td><td class="n">${bytes(t.activationBytes)}</td><td class="n">${rfText(t.maxReceptiveField, 'size')}</td><td class="n">${rfText(t.maxReceptiveField, 'jump')}</td><td colspan="2"></td></tr>`;
  return `<table id="layers"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body.join('\n')}</tbody><tfoot>${foot}</tfoot></table>`;
}

function cards(a: ModelAnalysis): string {
  const t = a.totals;
  const items: [string, string][] = [
    [compact(t.params), `parameters · ${bytes(t.paramBytes)}`],
    [compact(t.flops), 'FLOPs per image, forward'],
    [compact(t.trainingFlops), 'FLOPs per image, training'],
    [compact(t.macs), 'multiply-accumulates'],
    [bytes(t.activationBytes), 'activations per image'],
    [`${rfText(t.maxReceptiveField, 'size')} px`, `largest receptive field · jump ${rfText(t.maxReceptiveField, 'jump')}`],
    [String(t.weightedLayers), 'conv / dense layers'],
    [a.inputShapes.map((s) => s.slice(1).join('×')).join(', '), 'input'],
  ];
  return `<div class="cards">${items.map(([b, s]) => `<div class="card"><b>${esc(b)}</b><span>${esc(s)}</span></div>`).join('')}</div>`;
}

function picturesHtml(groups: PictureGroup[]): string {
  return groups
    .map((g) => {
      const figs = g.pictures.map((p) => {
        const scale = g.size / Math.max(p.w, p.h);
        return `<figure><img src="${p.uri}" width="${Math.round(p.w * scale)}" height="${Math.round(p.h * scale)}" alt="${esc(p.caption)}" title="${esc(p.caption)}"></figure>`;
      });
      const width = g.columns ? ` style="max-width:${g.columns * (g.size + 8)}px"` : '';
      return `<div class="group"><h3>${esc(g.title)}</h3>${g.note ? `<div class="note">${esc(g.note)}</div>` : ''}<div class="pics"${width}>${figs.join('')}</div></div>`;
    })
    .join('\n');
}

const LEGEND = [['conv', 'convolution'], ['bn', 'batch norm'], ['act', 'activation'], ['pool', 'pooling'], ['dense', 'dense'], ['merge', 'add / concat'], ['input', 'input'], ['block', 'composite block']]
  .map(([k, v]) => `<span><i class="lg-${k}"></i>${v}</span>`)
  .join('');

/** The page. */
export function reportHtml(r: ReportInput): string {
  const a = r.analysis;
  const training = r.curvesSvg || r.pictures?.length
    ? `<section id="training"><h2>Training</h2><div class="two"><div class="curves">${r.curvesSvg ?? '<p class="note">No training history in this run.</p>'}` +
      `${(r.trainingNotes ?? []).map((n) => `<div class="note">${esc(n)}</div>`).join('')}</div><div>${picturesHtml((r.pictures ?? []).filter((g) => !g.wide))}</div></div>` +
      `<div class="maps">${picturesHtml((r.pictures ?? []).filter((g) => g.wide))}</div></section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(a.name)} · convkit report</title>
<style>${STYLE}</style></head>
<body>
<header><h1>${esc(a.name)}<small>convkit model report</small></h1><div class="sub">${esc(r.source)} · all counts per image · FLOPs = 2 × multiply-accumulates of conv and dense layers</div></header>
<main>
${cards(a)}
${training}
<section id="architecture-section"><h2>Architecture</h2><div class="legend">${LEGEND}</div><div class="diagram-wrap">${architectureSvg(a)}</div>
<div class="note">Data flows top to bottom, columns continue left to right. Framed: composite blocks, expanded to show their branches and shortcuts. Click a box to find its row below.</div></section>
<section><h2>Layers</h2><div class="note" style="margin-bottom:8px">Per image. RF: receptive field in input pixels; jump: input pixels between neighbouring outputs. Block rows sum their inner rows; click one to fold it.</div>${tableHtml(a)}</section>
</main>
<footer>Conventions: MACs and FLOPs (2 × MACs) count Conv2D, DepthwiseConv2D and Dense only; training FLOPs add backprop-filter and backprop-input (skipped for layers reading the images). Elementwise ops: bias and activations 1 per value, batch norm 2, pooling k×k per output, Add 1 per extra input. Memory: float32 outputs.</footer>
<script>${SCRIPT}</script>
</body></html>
`;
}
