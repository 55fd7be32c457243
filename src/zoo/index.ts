import type { Model } from '../models/model.js';
import './serializable.js';
import { alexnet8, baseline, lenet5, mlp, vgg16 } from './classic.js';
import { inception10, resnet18 } from './graphs.js';
import { mobilenet, vgg16Slim } from './imagenet.js';
import type { ZooOptions } from './options.js';

export * from './blocks.js';
export { alexnet8, baseline, lenet5, mlp, vgg16 } from './classic.js';
export { inception10, resnet18 } from './graphs.js';
export { mobilenet, vgg16Slim, type MobileNetOptions } from './imagenet.js';
export type { ZooOptions } from './options.js';
export { TRANSFER_FEATURES, copyWeightsByName, freezeLayers, mobilenetTransfer, unfreezeFrom, type MobileNetTransferOptions } from './transfer.js';

export interface ZooEntry {
  build: (o?: ZooOptions) => Model;
  /** The input the model is defined for. */
  inputShape: [number, number, number];
  numClasses: number;
  description: string;
}

/** Every zoo model by its command-line name. */
export const zoo: Record<string, ZooEntry> = {
  mlp: { build: mlp, inputShape: [32, 32, 3], numClasses: 10, description: 'dense only: flatten, dense 128, dense 10 (the course MLP)' },
  baseline: { build: baseline, inputShape: [32, 32, 3], numClasses: 10, description: 'one conv + BN + pool, dense 128 (the course baseline)' },
  lenet5: { build: lenet5, inputShape: [32, 32, 3], numClasses: 10, description: 'LeNet-5: two 5x5 sigmoid convs, dense 120-84' },
  alexnet8: { build: alexnet8, inputShape: [32, 32, 3], numClasses: 10, description: 'AlexNet, 5 convs + 3 dense, BN' },
  vgg16: { build: vgg16, inputShape: [32, 32, 3], numClasses: 10, description: 'VGG16 for CIFAR: 13 conv+BN+ReLU, dense 512-512' },
  'vgg16-slim': { build: vgg16Slim, inputShape: [224, 224, 3], numClasses: 1000, description: 'VGG16 for ImageNet 224 (TF-slim: fc layers as convs)' },
  inception10: { build: inception10, inputShape: [32, 32, 3], numClasses: 10, description: 'Inception: 4 inception blocks, global average pooling' },
  resnet18: { build: resnet18, inputShape: [32, 32, 3], numClasses: 10, description: 'ResNet-18 for CIFAR: [2, 2, 2, 2] basic blocks' },
  mobilenet: { build: mobilenet, inputShape: [224, 224, 3], numClasses: 1000, description: 'MobileNet v1 224, alpha 1 (Keras layer names)' },
};

export const zooNames = (): string[] => Object.keys(zoo);

/** Builds a zoo model by name; unknown names get the list of known ones. */
export function createModel(name: string, options: ZooOptions = {}): Model {
  const entry = zoo[name];
  if (!entry) throw new Error(`createModel: argument 'name' expected one of ${zooNames().join(', ')}, received '${name}'`);
  const model = entry.build(options);
  model.spec = { zoo: name, options: { ...options } };
  return model;
}
