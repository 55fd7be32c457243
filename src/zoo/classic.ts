import { Conv2D } from '../layers/conv.js';
import { Activation, Dense, Dropout, Flatten } from '../layers/core.js';
import { Layer } from '../layers/layer.js';
import { BatchNormalization } from '../layers/normalization.js';
import { MaxPooling2D } from '../layers/pooling.js';
import { Sequential } from '../models/sequential.js';
import type { ZooOptions } from './options.js';

/**
 * The course's plain stacks, layer for layer (class5 of the TF2 notes). CIFAR-sized defaults: 32x32x3 input,
 * 10 classes, softmax outputs (train with sparse categorical cross-entropy on probabilities).
 */

/**
 * The course's multilayer perceptron: Flatten, Dense 128 ReLU, Dense classes softmax. The dense-only
 * reference point (101,770 params on 28x28x1 MNIST; 394,634 on 32x32x3).
 */
export function mlp(o: ZooOptions = {}): Sequential {
  const { inputShape = [32, 32, 3], numClasses = 10 } = o;
  return new Sequential(
    [new Flatten({ inputShape }), new Dense({ units: 128, activation: 'relu' }), new Dense({ units: numClasses, activation: 'softmax' })],
    { name: o.name ?? 'mlp' },
  );
}

/** Baseline: one 5x5 conv + BN + ReLU + pool + dropout, then Dense 128 -> classes. 198,506 params on CIFAR. */
export function baseline(o: ZooOptions = {}): Sequential {
  const { inputShape = [32, 32, 3], numClasses = 10 } = o;
  return new Sequential(
    [
      new Conv2D({ filters: 6, kernelSize: 5, padding: 'same', inputShape }),
      new BatchNormalization(),
      new Activation({ activation: 'relu' }),
      new MaxPooling2D({ poolSize: 2, strides: 2, padding: 'same' }),
      new Dropout({ rate: 0.2 }),
      new Flatten(),
      new Dense({ units: 128, activation: 'relu' }),
      new Dropout({ rate: 0.2 }),
      new Dense({ units: numClasses, activation: 'softmax' }),
    ],
    { name: o.name ?? 'baseline' },
  );
}

/** LeNet5 (LeCun 1998, as in the course: sigmoid, max-pooling, valid 5x5 convs). 62,006 params on CIFAR. */
export function lenet5(o: ZooOptions = {}): Sequential {
  const { inputShape = [32, 32, 3], numClasses = 10 } = o;
  return new Sequential(
    [
      new Conv2D({ filters: 6, kernelSize: 5, activation: 'sigmoid', inputShape }),
      new MaxPooling2D({ poolSize: 2, strides: 2 }),
      new Conv2D({ filters: 16, kernelSize: 5, activation: 'sigmoid' }),
      new MaxPooling2D({ poolSize: 2, strides: 2 }),
      new Flatten(),
      new Dense({ units: 120, activation: 'sigmoid' }),
      new Dense({ units: 84, activation: 'sigmoid' }),
      new Dense({ units: numClasses, activation: 'softmax' }),
    ],
    { name: o.name ?? 'lenet5' },
  );
}

/**
 * AlexNet8 (Krizhevsky 2012, the course's CIFAR version: 3x3 kernels, BN in place of LRN, 2048-wide FC).
 * 9,639,178 params on CIFAR.
 */
export function alexnet8(o: ZooOptions = {}): Sequential {
  const { inputShape = [32, 32, 3], numClasses = 10 } = o;
  return new Sequential(
    [
      new Conv2D({ filters: 96, kernelSize: 3, inputShape }),
      new BatchNormalization(),
      new Activation({ activation: 'relu' }),
      new MaxPooling2D({ poolSize: 3, strides: 2 }),
      new Conv2D({ filters: 256, kernelSize: 3 }),
      new BatchNormalization(),
      new Activation({ activation: 'relu' }),
      new MaxPooling2D({ poolSize: 3, strides: 2 }),
      new Conv2D({ filters: 384, kernelSize: 3, padding: 'same', activation: 'relu' }),
      new Conv2D({ filters: 384, kernelSize: 3, padding: 'same', activation: 'relu' }),
      new Conv2D({ filters: 256, kernelSize: 3, padding: 'same', activation: 'relu' }),
      new MaxPooling2D({ poolSize: 3, strides: 2 }),
      new Flatten(),
      new Dense({ units: 2048, activation: 'relu' }),
      new Dropout({ rate: 0.5 }),
      new Dense({ units: 2048, activation: 'relu' }),
      new Dropout({ rate: 0.5 }),
      new Dense({ units: numClasses, activation: 'softmax' }),
    ],
    { name: o.name ?? 'alexnet8' },
  );
}

/**
 * VGG16, the course's CIFAR version: 13 Conv3x3 + BN + ReLU in five stages (64, 128, 256, 512, 512), each
 * stage closed by a 2x2 max-pool and dropout 0.2, then Dense 512 - 512 - classes. 15,262,026 params on CIFAR.
 */
export function vgg16(o: ZooOptions = {}): Sequential {
  const { inputShape = [32, 32, 3], numClasses = 10 } = o;
  const stages: [number, number][] = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
  const layers: Layer[] = [];
  for (const [filters, convs] of stages) {
    for (let i = 0; i < convs; i++) {
      layers.push(new Conv2D({ filters, kernelSize: 3, padding: 'same', ...(layers.length === 0 ? { inputShape } : {}) }));
      layers.push(new BatchNormalization(), new Activation({ activation: 'relu' }));
    }
    layers.push(new MaxPooling2D({ poolSize: 2, strides: 2, padding: 'same' }), new Dropout({ rate: 0.2 }));
  }
  layers.push(
    new Flatten(),
    new Dense({ units: 512, activation: 'relu' }),
    new Dropout({ rate: 0.2 }),
    new Dense({ units: 512, activation: 'relu' }),
    new Dropout({ rate: 0.2 }),
    new Dense({ units: numClasses, activation: 'softmax' }),
  );
  return new Sequential(layers, { name: o.name ?? 'vgg16' });
}
