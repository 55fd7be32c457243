import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * ImageNet class decoding, as keras.applications.imagenet_utils.decode_predictions. The class index ships in
 * the package (data/imagenet_class_index.json, Keras's file, md5 c2c37ea517e94d9795004a39431a14cb): nothing is
 * downloaded. Class names repeat ('crane' is 134 and 517), so key on the index or the wnid.
 */
export interface ImageNetClass {
  index: number;
  wnid: string;
  name: string;
}

export interface Prediction {
  index: number;
  /** WordNet id for ImageNet classes, null for other label sets. */
  wnid: string | null;
  name: string;
  score: number;
}

let classes: ImageNetClass[] | null = null;

/** The file, found relative to this module: src/images/ (sources) or dist/src/images/ (compiled). */
function indexPath(): string {
  for (const rel of ['../../data/imagenet_class_index.json', '../../../data/imagenet_class_index.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`imagenet_class_index.json is missing from the convkit package (expected in its data/ folder)`);
}

/** The 1,000 ImageNet classes in index order. */
export function imagenetClasses(): ImageNetClass[] {
  if (!classes) {
    const json = JSON.parse(readFileSync(indexPath(), 'utf8')) as Record<string, [string, string]>;
    classes = Array.from({ length: 1000 }, (_, i) => {
      const entry = json[String(i)];
      if (!entry) throw new Error(`imagenet_class_index.json: no entry for class ${i}`);
      return { index: i, wnid: entry[0], name: entry[1] };
    });
  }
  return classes;
}

/** The `top` highest scores of one row, highest first (equal scores: lower index first). */
export function topK(scores: ArrayLike<number>, top: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, top);
}

function checkTop(fn: string, top: number): void {
  if (!Number.isInteger(top) || top <= 0) throw new Error(`${fn}: argument 'top' expected a positive integer, received ${top}`);
}

/**
 * Keras's decode_predictions: for each row of `probs` ([N, 1000]), the `top` classes as (wnid, name, score),
 * highest score first.
 */
export function decodePredictions(probs: Tensor, top = 5): Prediction[][] {
  checkTop('decodePredictions', top);
  if (probs.rank !== 2 || probs.shape[1] !== 1000) {
    throw new Error(`decodePredictions: argument 'probs' expected shape (samples, 1000), received ${formatShape(probs.shape)}`);
  }
  const names = imagenetClasses();
  return rows(probs).map((row) => topK(row, top).map((i) => ({ index: i, wnid: names[i].wnid, name: names[i].name, score: row[i] })));
}

/** The same for any label set (CIFAR-10's class names, say): wnid is null. */
export function decodeWithLabels(probs: Tensor, labels: readonly string[], top = 5): Prediction[][] {
  checkTop('decodeWithLabels', top);
  if (probs.rank !== 2 || probs.shape[1] !== labels.length) {
    throw new Error(`decodeWithLabels: argument 'probs' expected shape (samples, ${labels.length}), received ${formatShape(probs.shape)}`);
  }
  return rows(probs).map((row) => topK(row, Math.min(top, labels.length)).map((i) => ({ index: i, wnid: null, name: labels[i], score: row[i] })));
}

function rows(probs: Tensor): Float32Array[] {
  const [n, c] = probs.shape;
  return Array.from({ length: n }, (_, i) => Float32Array.from(probs.data.subarray(i * c, (i + 1) * c)));
}
