/**
 * Assembles the model report: analysis, diagram, table, and for a trained model its curves, its first
 * convolution's filters and a sample's feature maps.
 */
import { noGrad } from '../autograd/tape.js';
import { toTensor } from '../data/dataset.js';
import { embeddedDataset } from '../data/embedded.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { Layer, setLayerOutputHook } from '../layers/layer.js';
import type { Model } from '../models/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { ModelAnalysis, analyzeModel } from './analysis.js';
import { type CurvesInput, curvesSvg } from './curves.js';
import { ReportInput, PictureGroup, reportHtml } from './html.js';
import { featureMapPictures, filterPictures, imagePicture } from './images.js';

export interface ReportOptions {
  source: string;
  /** Training history (Keras History: 1-based epochs and per-key values). */
  history?: CurvesInput;
  /** Draw the first layer's filters and a sample's feature maps (meaningful for trained weights). */
  pictures?: boolean;
  inputShape?: readonly number[];
}

/** Every layer of a model, sub-layers included, by name. */
function layersByName(model: Layer): Map<string, Layer> {
  const out = new Map<string, Layer>();
  const visit = (l: Layer): void => {
    if (out.has(l.name) && out.get(l.name) === l) return;
    out.set(l.name, l);
    for (const s of l.layers) visit(s);
  };
  visit(model);
  return out;
}

/** The last value of a history key, for the notes under the curves. */
function last(h: CurvesInput, key: string): number | null {
  const v = h.history[key];
  if (!v) return null;
  for (let i = v.length - 1; i >= 0; i--) if (typeof v[i] === 'number') return v[i] as number;
  return null;
}

/** First convolution's filters, and the feature maps of one embedded sample at up to four depths. */
export function picturesOf(model: Model, a: ModelAnalysis): PictureGroup[] {
  const byName = layersByName(model);
  const convRows = a.rows.filter((r) => r.type === 'Conv2D' || r.type === 'DepthwiseConv2D');
  const groups: PictureGroup[] = [];
  const first = convRows.length ? byName.get(convRows[0].name) : undefined;
  if (first instanceof Conv2D || first instanceof DepthwiseConv2D) {
    const kernel = first instanceof Conv2D ? first.kernel : first.depthwiseKernel;
    const [kh, kw, cin, cout] = kernel.shape;
    groups.push({
      title: `Filters of ${first.name} (${kh}×${kw}×${cin}, ${cout} filters)`,
      note: cin === 3 ? 'RGB; mid grey is 0, each filter scaled to its largest |weight|' : 'mean over input channels; mid grey is 0',
      pictures: filterPictures(kernel, 64),
      size: 30,
    });
  }
  const want = a.inputShapes[0].slice(1);
  const { train } = embeddedDataset({ trainSize: 1, testSize: 0 });
  if (want.length !== 3 || want[0] !== train.height || want[1] !== train.width || want[2] !== train.channels) return groups;
  const { x } = toTensor(train);
  // Feature maps: the first conv's output, then the last output of each of the model's last three resolutions.
  const top = a.rows.filter((r) => r.depth === 0 && (r.kind === 'layer' || r.kind === 'block') && r.outputShape.length === 4);
  const start = convRows.length ? top.findIndex((r) => r.name === convRows[0].name || r.id > convRows[0].id) : 0;
  const ends = top.filter((r, i) => i > start && (i === top.length - 1 || top[i + 1].outputShape[1] !== r.outputShape[1])).map((r) => r.name);
  const chosen = [...(convRows.length ? [convRows[0].name] : []), ...ends.slice(-3)];
  const outputs = new Map<string, Tensor>();
  setLayerOutputHook((layer, y) => {
    if (chosen.includes(layer.name) && y.rank === 4 && !outputs.has(layer.name)) outputs.set(layer.name, y);
  });
  try {
    noGrad(() => model.apply(x, { training: false }));
  } finally {
    setLayerOutputHook(null);
  }
  groups.push({ title: `Sample: embedded training image 0 (${train.classNames[train.labels[0]]})`, pictures: [imagePicture(train.images, train.height, train.width, train.channels, 'input')], size: 96 });
  for (const name of chosen) {
    const t = outputs.get(name);
    if (!t) continue;
    const [, h, w, c] = t.shape;
    const n = Math.min(c, name === chosen[0] ? 32 : 16);
    groups.push({ title: `Feature maps of ${name} (${h}×${w}×${c}${n < c ? `, first ${n}` : ''})`, pictures: featureMapPictures(t, n), size: 40, wide: true, columns: n > 16 ? 16 : 8 });
  }
  return groups;
}

/** The report page as a string. */
export function buildReport(model: Model, opts: ReportOptions): string {
  const analysis = analyzeModel(model, { inputShape: opts.inputShape });
  const input: ReportInput = { analysis, source: opts.source };
  if (opts.history && opts.history.epochs.length > 0) {
    const h = opts.history;
    input.curvesSvg = curvesSvg(h, { width: 760, height: 320 }).replace(/<\?xml[^>]*>\s*/, '');
    const notes: string[] = [`${h.epochs.length} epoch${h.epochs.length > 1 ? 's' : ''}`];
    for (const k of ['accuracy', 'val_accuracy', 'loss', 'val_loss']) {
      const v = last(h, k);
      if (v !== null) notes.push(`${k} ${k.endsWith('accuracy') ? `${(v * 100).toFixed(1)}%` : v.toFixed(4)}`);
    }
    input.trainingNotes = [`Last epoch: ${notes.join(' · ')}`];
  }
  if (opts.pictures) input.pictures = picturesOf(model, analysis);
  return reportHtml(input);
}

/** Keras's CSV log (CSVLogger: 0-based epoch column, then one column per metric) as curves input. */
export function historyFromCsv(text: string): CurvesInput {
  const lines = text.trim().split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) return { epochs: [], history: {} };
  const keys = lines[0].split(',');
  const col = keys.indexOf('epoch');
  const history: Record<string, (number | null)[]> = {};
  const epochs: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    epochs.push(Number(cells[col]) + 1);
    keys.forEach((k, i) => {
      if (i === col) return;
      const v = cells[i] === undefined || cells[i] === '' ? null : Number(cells[i]);
      (history[k] ??= []).push(v === null || Number.isNaN(v) ? null : v);
    });
  }
  return { epochs, history };
}
