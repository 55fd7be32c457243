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

/** Keras's text table (tf.keras print_summary layout: 65 columns, 98 with "Connected to"). */
export function formatSummary(s: ModelSummary, functional: boolean): string {
  const width = functional ? 98 : 65;
  const stops = (functional ? [0.33, 0.55, 0.67, 1] : [0.45, 0.85, 1]).map((p) => Math.floor(width * p));
  const header = functional ? ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output Shape', 'Param #'];
  const row = (fields: string[]): string => {
    let line = '';
    fields.forEach((f, i) => {
      line += ` ${f}`;
      const stop = stops[i];
      line = line.length < stop ? line.padEnd(stop) : `${line} `;
    });
    return line.trimEnd();
  };
  const lines = [`Model: "${s.name}"`, '_'.repeat(width), row(header), '='.repeat(width)];
  s.layers.forEach((l, i) => {
    const shape = l.outputShape === null ? '?' : l.outputShape === 'multiple' ? 'multiple' : formatShape(l.outputShape);
    const inputs = l.inputs ?? [];
    lines.push(row([`${l.name} (${l.type})`, shape, String(l.params), ...(functional ? [inputs[0] ?? ''] : [])]));
    for (const extra of inputs.slice(1)) lines.push(row(['', '', '', extra]));
    if (i < s.layers.length - 1) lines.push('');
  });
  lines.push('='.repeat(width));
  lines.push(`Total params: ${thousands(s.totalParams)}`);
  lines.push(`Trainable params: ${thousands(s.trainableParams)}`);
  lines.push(`Non-trainable params: ${thousands(s.nonTrainableParams)}`);
  lines.push('_'.repeat(width));
  return lines.join('\n');
}
