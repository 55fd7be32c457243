import { Dense, Dropout } from '../layers/core.js';
import type { Layer } from '../layers/layer.js';
import { Model } from '../models/model.js';
import { mobilenet } from './imagenet.js';

/**
 * Transfer learning as the Keras guide does it (keras.io/guides/transfer_learning): a MobileNet without its top,
 * global average pooling, dropout, and a new Dense softmax classifier for the user's classes. The base keeps
 * Keras's layer names, so ImageNet weights load by name into `base` (a `_no_top` file), or into a full
 * MobileNet whose base weights are then copied (copyWeightsByName).
 *
 * Keras:   base = keras.applications.MobileNet(include_top=False, pooling='avg', weights=...)
 *          base.trainable = False
 *          x = layers.Dropout(0.2)(base.output); outputs = layers.Dense(n, activation='softmax')(x)
 * convkit: const { model, base } = mobilenetTransfer({ numClasses: n }); await base.loadWeights(file);
 *          freezeLayers(base.layers);
 */
export interface MobileNetTransferOptions {
  numClasses: number;
  /** [height, width, 3]; default [224, 224, 3]. */
  inputShape?: [number, number, number];
  alpha?: number;
  /** Rate of the dropout before the classifier; default 0.2 (the Keras guide's). */
  dropout?: number;
}

/** The layer whose output is the base's features (what the feature cache stores). */
export const TRANSFER_FEATURES = 'global_average_pooling2d';

export function mobilenetTransfer(o: MobileNetTransferOptions): { model: Model; base: Model } {
  const { numClasses, inputShape = [224, 224, 3], alpha = 1, dropout = 0.2 } = o;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`mobilenetTransfer: argument 'numClasses' expected a positive integer, received ${numClasses}`);
  const base = mobilenet({ inputShape, alpha, includeTop: false, pooling: 'avg' });
  let x = base.outputs[0];
  x = new Dropout({ rate: dropout, name: 'top_dropout' }).apply(x);
  const outputs = new Dense({ units: numClasses, activation: 'softmax', name: 'predictions' }).apply(x);
  const model = new Model({ inputs: base.inputs, outputs, name: `mobilenet_${alpha.toFixed(2)}_${inputShape[0]}_transfer` });
  return { model, base };
}

/** Keras's `layer.trainable = False` on each: a frozen BatchNormalization also runs in inference mode. */
export function freezeLayers(layers: readonly Layer[], trainable = false): void {
  for (const l of layers) l.trainable = trainable;
}

/**
 * The fine-tuning step of the Keras guide: layers from `layerName` on (in the model's order) become trainable,
 * the ones before stay frozen. BatchNormalization layers stay in inference mode, as the guide advises, so their
 * moving statistics are kept (`keepBatchNormFrozen`, default true). Returns how many layers were unfrozen.
 */
export function unfreezeFrom(model: Model, layerName: string, opts: { keepBatchNormFrozen?: boolean } = {}): number {
  const layers = model.layers;
  const at = layers.findIndex((l) => l.name === layerName);
  if (at < 0) throw new Error(`unfreezeFrom: argument 'layerName' expected a layer of ${model.name} (e.g. conv_pw_13, conv_dw_12), received '${layerName}'`);
  let n = 0;
  for (const l of layers.slice(at)) {
    if ((opts.keepBatchNormFrozen ?? true) && l.className === 'BatchNormalization') continue;
    if (!l.trainable) n++;
    l.trainable = true;
  }
  return n;
}

/** Copies every weight of `to`'s layers from the same-named layer of `from` (e.g. a full MobileNet into a base). */
export function copyWeightsByName(from: Model, to: Model): number {
  let n = 0;
  for (const layer of to.layers) {
    if (layer.weights.length === 0) continue;
    const src = from.layers.find((l) => l.name === layer.name);
    if (!src || src.weights.length !== layer.weights.length) throw new Error(`copyWeightsByName: model '${from.name}' has no layer '${layer.name}' with ${layer.weights.length} weights`);
    layer.weights.forEach((w, i) => w.assign(src.weights[i]));
    n += layer.weights.length;
  }
  return n;
}
