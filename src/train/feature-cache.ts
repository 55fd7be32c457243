import { Input } from '../layers/input.js';
import type { SymbolicTensor } from '../layers/symbolic.js';
import { Model, concatBatch } from '../models/model.js';
import { Tensor } from '../tensor/tensor.js';
import { FitOptions, compile, fit, getCompiled } from './fit.js';
import type { History } from './history.js';
import type { Targets } from './losses.js';
import { DataSource, tensorSource } from './source.js';

/**
 * Training a classifier head on a frozen base, fast: with the base frozen (no trainable weights, BatchNorm in
 * inference mode) and no augmentation, the base maps each image to the same features every epoch, so they are
 * computed once (base.predict, inference mode) and the head alone is trained on them. The head's layers are the
 * model's own (shared), so the model is trained; losses equal those of fitting the whole model within float
 * rounding (the same shuffles and dropout draws: the frozen base draws no random numbers).
 *
 * Memory: the features, n * featureSize float32 (4 KiB per image for MobileNet 1.0's 1024 features).
 */

/** The model cut after `layerName`: `base` (inputs to that layer's output) and `head` (the layers after it, a chain). */
export function splitModel(model: Model, layerName: string): { base: Model; head: Model } {
  const nodes = model.graphNodes;
  const at = nodes.findIndex((n) => n.layer.name === layerName);
  if (at < 0) throw new Error(`splitModel: argument 'layerName' expected a layer of ${model.name}, received '${layerName}'`);
  const cut = nodes[at].output;
  const base = new Model({ inputs: model.inputs, outputs: cut, name: `${model.name}_base` });
  const shape = cut.shape.slice(1);
  if (shape.some((d) => d === null)) throw new Error(`splitModel: the output of '${layerName}' has a free dimension (${JSON.stringify(cut.shape)}); the head needs a fixed feature shape`);
  const input = Input({ shape: shape as number[] });
  let x: SymbolicTensor = input;
  let prev = cut;
  for (const node of nodes.slice(at + 1)) {
    if (node.inputs.length !== 1 || node.inputs[0] !== prev) throw new Error(`splitModel: the layers after '${layerName}' must form a chain; '${node.layer.name}' does not take the previous layer's output`);
    x = node.layer.apply(x);
    prev = node.output;
  }
  if (prev !== model.outputs[0] || model.outputs.length !== 1) throw new Error(`splitModel: the chain after '${layerName}' does not end at the model's output`);
  return { base, head: new Model({ inputs: input, outputs: x, name: `${model.name}_head` }) };
}

/** Runs `base` once over a source (inference mode) and returns its features with the source's targets, as a source. */
export function featureSource(base: Model, src: DataSource, batchSize = 64): DataSource {
  const feats: Tensor[] = [];
  const ys: Targets[] = [];
  for (let start = 0; start < src.size; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, src.size - start) }, (_, i) => start + i);
    const { x, y } = src.take(idx, false);
    feats.push(base.predict(x, { batchSize }));
    ys.push(y);
  }
  return tensorSource(concatBatch(feats), concatTargets(ys));
}

function concatTargets(parts: Targets[]): Targets {
  if (parts[0] instanceof Tensor) return concatBatch(parts as Tensor[]);
  const out = new Int32Array(parts.reduce((s, y) => s + (y as Int32Array).length, 0));
  let o = 0;
  for (const y of parts as Int32Array[]) {
    out.set(y, o);
    o += y.length;
  }
  return out;
}

/**
 * model.fit for a model whose layers up to `featureLayer` are frozen: the base's features are computed once per
 * image, then the head is fitted on them with the model's compiled optimizer, loss and metrics. Callbacks and
 * checkpoints see the whole model. Refuses a base with trainable weights (its features would change).
 */
export async function fitOnFeatures(model: Model, featureLayer: string, x: DataSource, opts: FitOptions & { validationData?: DataSource } = {}): Promise<History> {
  const c = getCompiled(model);
  const { base, head } = splitModel(model, featureLayer);
  const trainable = base.trainableWeights;
  if (trainable.length > 0) throw new Error(`fitOnFeatures: the base of ${model.name} up to '${featureLayer}' must be frozen, but ${trainable.length} weights are trainable (first: ${trainable[0].name})`);
  compile(head, { ...c.config, optimizer: c.optimizer });
  const batch = opts.batchSize ?? 32;
  const train = featureSource(base, x, batch);
  const validation = opts.validationData ? featureSource(base, opts.validationData, batch) : undefined;
  return fit(head, train, undefined, { ...opts, validationData: validation, outerModel: model });
}
