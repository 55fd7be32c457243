import type { Layer } from '../layers/layer.js';
import { formatShape } from '../tensor/shape.js';
import { writeFileAtomic } from './atomic.js';

/**
 * Every variable as text, like the course's weights.txt: its name, its shape, then its values, full
 * precision, row-major, one innermost row per line.
 */
export function weightsToText(model: Layer): string {
  const parts: string[] = [];
  for (const w of model.weights) {
    parts.push(`${w.name} ${formatShape(w.shape)}${w.trainable ? '' : ' non-trainable'}`);
    const row = w.shape.length > 0 ? w.shape[w.shape.length - 1] : 1;
    for (let i = 0; i < w.data.length; i += row) parts.push(Array.from(w.data.subarray(i, i + row), (v) => String(v)).join(' '));
    parts.push('');
  }
  return parts.join('\n');
}

export function writeWeightsText(model: Layer, path: string): void {
  writeFileAtomic(path, [Buffer.from(weightsToText(model))]);
}
