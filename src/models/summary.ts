import type { Layer } from '../layers/layer.js';
import { InputLayer } from '../layers/input.js';
import { SymbolicShape, formatShape } from '../tensor/shape.js';
import type { Model } from './model.js';

export interface LayerSummary {
  name: string;
  type: string;
  /** Batch is null; 'multiple' when the layer is called at several shapes; null when never called. */
  outputShape: SymbolicShape | 'multiple' | null;
  params: number;
  /** Functional models: the layers feeding this one, as Keras's "Connected to". */
  inputs?: string[];
}

export interface ModelSummary {
  name: string;
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

/** The rows of summary(): top-level layers with shape and parameter count, and the totals. */
export function summarize(model: Model): ModelSummary {
  const functional = model.inputs.length > 0;
  const layers = model.layers.map((layer: Layer): LayerSummary => {
    const calls = layer.inboundNodes.filter((n) => n.inputs.length > 0 || layer instanceof InputLayer).length;
    const row: LayerSummary = {
      name: layer.name,
      type: layer.className,
      outputShape: calls > 1 ? 'multiple' : (layer.lastOutputShape ?? null),
      params: layer.countParams(),
    };
    if (functional) row.inputs = model.inboundLayerNames(layer);
    return row;
  });
  const total = model.countParams();
  const trainable = model.trainableWeights.reduce((n, w) => n + w.size, 0);
  return { name: model.name, layers, totalParams: total, trainableParams: trainable, nonTrainableParams: total - trainable };
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/**
 * Keras's text table (tf.keras print_summary layout: 65 columns, 98 with "Connected to"); a column widens when
 * a name or shape would not fit, instead of being cut.
 */
export function formatSummary(s: ModelSummary, functional: boolean): string {
  const base = functional ? 98 : 65;
  const header = functional ? ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output Shape', 'Param #'];
  const rows: string[][][] = s.layers.map((l) => {
    const shape = l.outputShape === null ? '?' : l.outputShape === 'multiple' ? 'multiple' : formatShape(l.outputShape);
    const inputs = l.inputs ?? [];
    const first = [`${l.name} (${l.type})`, shape, String(l.params), ...(functional ? [inputs[0] ?? ''] : [])];
    return [first, ...inputs.slice(1).map((i) => ['', '', '', i])];
  });
  // Keras's column stops, as fractions of the line.
  const stops = (functional ? [0.33, 0.55, 0.67, 1] : [0.45, 0.85, 1]).map((p) => Math.floor(base * p));
  const widths = stops.map((stop, i) => stop - (i === 0 ? 0 : stops[i - 1]));
  for (const r of [[header], ...rows].flat()) r.forEach((f, i) => (widths[i] = Math.max(widths[i], f.length + 2)));
  const width = widths.reduce((a, b) => a + b, 0);
  const line = (fields: string[]): string => fields.map((f, i) => ` ${f}`.padEnd(widths[i])).join('').trimEnd();
  const out = [`Model: "${s.name}"`, '_'.repeat(width), line(header), '='.repeat(width)];
  rows.forEach((r, i) => {
    for (const fields of r) out.push(line(fields));
    if (i < rows.length - 1) out.push('');
  });
  out.push('='.repeat(width));
  out.push(`Total params: ${thousands(s.totalParams)}`);
  out.push(`Trainable params: ${thousands(s.trainableParams)}`);
  out.push(`Non-trainable params: ${thousands(s.nonTrainableParams)}`);
  out.push('_'.repeat(width));
  return out.join('\n');
}
