import { Activation, Dense } from '../layers/core.js';
import { Conv2D } from '../layers/conv.js';
import { Input } from '../layers/input.js';
import { BatchNormalization } from '../layers/normalization.js';
import { GlobalAveragePooling2D } from '../layers/pooling.js';
import { l2 } from '../layers/regularizers.js';
import { Model } from '../models/model.js';
import { ConvBNRelu, InceptionBlock, ResnetBlock } from './blocks.js';
import type { ZooOptions } from './options.js';

/**
 * Inception10 (the course's GoogLeNet-style net): a ConvBNRelu stem, then numBlocks stages of two Inception
 * blocks (the first with stride 2), channels doubling per stage, global average pooling, softmax.
 * 121,418 params on CIFAR with numBlocks 2, initCh 16.
 */
export function inception10(o: ZooOptions & { numBlocks?: number; initCh?: number } = {}): Model {
  const { inputShape = [32, 32, 3], numClasses = 10, numBlocks = 2, initCh = 16 } = o;
  const inputs = Input({ shape: inputShape });
  let x = new ConvBNRelu({ filters: initCh }).apply(inputs);
  let ch = initCh;
  for (let b = 0; b < numBlocks; b++) {
    x = new InceptionBlock({ filters: ch, strides: 2 }).apply(x);
    x = new InceptionBlock({ filters: ch, strides: 1 }).apply(x);
    ch *= 2;
  }
  x = new GlobalAveragePooling2D().apply(x);
  const outputs = new Dense({ units: numClasses, activation: 'softmax' }).apply(x);
  return new Model({ inputs, outputs, name: o.name ?? 'inception10' });
}

/**
 * ResNet18 (He et al. 2015), the course's CIFAR version: a 3x3 stem without max-pool, four stages of
 * [2, 2, 2, 2] basic blocks (64, 128, 256, 512 filters; stride 2 with a 1x1 conv + BN shortcut on entering
 * stages 2-4), global average pooling, and an L2-regularised softmax classifier. 11,183,562 params on CIFAR.
 */
export function resnet18(o: ZooOptions & { blockList?: number[]; initialFilters?: number } = {}): Model {
  const { inputShape = [32, 32, 3], numClasses = 10, blockList = [2, 2, 2, 2], initialFilters = 64 } = o;
  const inputs = Input({ shape: inputShape });
  let x = new Conv2D({ filters: initialFilters, kernelSize: 3, padding: 'same', useBias: false }).apply(inputs);
  x = new BatchNormalization().apply(x);
  x = new Activation({ activation: 'relu' }).apply(x);
  let filters = initialFilters;
  blockList.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const entering = stage !== 0 && i === 0;
      x = new ResnetBlock({ filters, strides: entering ? 2 : 1, residualPath: entering }).apply(x);
    }
    filters *= 2;
  });
  x = new GlobalAveragePooling2D().apply(x);
  const outputs = new Dense({ units: numClasses, activation: 'softmax', kernelRegularizer: l2() }).apply(x);
  return new Model({ inputs, outputs, name: o.name ?? 'resnet18' });
}
