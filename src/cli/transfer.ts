import type { Model } from '../models/model.js';
import { Adam } from '../train/optimizers.js';
import { mobilenet } from '../zoo/imagenet.js';
import { copyWeightsByName, freezeLayers, mobilenetTransfer, unfreezeFrom } from '../zoo/transfer.js';
import { CliError } from './common.js';
import type { CliDataset } from './data.js';
import { mobilenetOptionsFromName } from './model-arg.js';

/**
 * `convkit train --model mobilenet --weights FILE.h5 --data photos/ --freeze-base [--fine-tune-from LAYER]`:
 * the Keras transfer-learning recipe (src/zoo/transfer.ts). Inputs are scaled to [-1, 1] (the 'tf'
 * preprocessing the ImageNet weights were trained with), and the checkpoint records it for evaluate and predict.
 */
export interface TransferArgs {
  model: string;
  weights?: string;
  freezeBase?: boolean;
  fineTuneFrom?: string;
  fineTuneEpochs?: number;
  fineTuneLr?: number;
  alpha?: number;
}

export const wantsTransfer = (a: TransferArgs): boolean => !!(a.weights || a.freezeBase || a.fineTuneFrom);

/** The Keras guide's fine-tuning rate (keras.io/guides/transfer_learning, "Fine-tuning"). */
export const FINE_TUNE_LR = 1e-5;

export async function buildTransfer(a: TransferArgs, train: CliDataset): Promise<{ model: Model; base: Model }> {
  if (a.model !== 'mobilenet') throw new CliError(`--freeze-base / --weights / --fine-tune-from: transfer learning takes --model mobilenet, received '${a.model}'`, 2);
  if (train.channels !== 3) throw new CliError(`--model mobilenet: expected RGB images (--color-mode rgb), received ${train.channels} channels`, 2);
  const fromName = a.weights ? mobilenetOptionsFromName(a.weights) : null;
  const alpha = a.alpha ?? fromName?.alpha ?? 1;
  const inputShape: [number, number, number] = [train.height, train.width, 3];
  const t = mobilenetTransfer({ numClasses: train.classNames.length, inputShape, alpha });
  if (a.weights) {
    try {
      // A `_no_top` file fits the base; a file with the classifier loads into a full MobileNet, and the base is copied.
      if (fromName?.includeTop) copyWeightsByName(await loaded(mobilenet({ inputShape, alpha }), a.weights), t.base);
      else await t.base.loadWeights(a.weights);
    } catch (e) {
      throw new CliError(`--weights: ${(e as Error).message.split('\n').slice(0, 3).join('; ')}`);
    }
  }
  if (a.freezeBase || a.fineTuneFrom) freezeLayers(t.base.layers);
  return t;
}

async function loaded(model: Model, file: string): Promise<Model> {
  await model.loadWeights(file);
  return model;
}

/** Phase two: layers from --fine-tune-from on are unfrozen (BatchNorm stays frozen) and trained at a low rate. */
export function startFineTuning(model: Model, a: TransferArgs): { optimizer: Adam; unfrozen: number } {
  let unfrozen: number;
  try {
    unfrozen = unfreezeFrom(model, a.fineTuneFrom as string);
  } catch (e) {
    throw new CliError(`--fine-tune-from: ${(e as Error).message}`, 2);
  }
  return { optimizer: new Adam({ learningRate: a.fineTuneLr ?? FINE_TUNE_LR }), unfrozen };
}
