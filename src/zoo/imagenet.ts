import { Activation, Dropout, Reshape, ReLU } from '../layers/core.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { Input } from '../layers/input.js';
import { ZeroPadding2D } from '../layers/merge.js';
import { BatchNormalization } from '../layers/normalization.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../layers/pooling.js';
import { SymbolicTensor } from '../layers/symbolic.js';
import { Model } from '../models/model.js';
import type { ZooOptions } from './options.js';

/**
 * VGG16 for 224x224 ImageNet as TF-slim builds it: five conv stages without BN, then fc6 as a 7x7 valid conv,
 * fc7 and fc8 as 1x1 convs with dropout 0.5 between, and a spatial squeeze. 138,357,544 params.
 */
export function vgg16Slim(o: ZooOptions = {}): Model {
  const { inputShape = [224, 224, 3], numClasses = 1000 } = o;
  const inputs = Input({ shape: inputShape });
  let x: SymbolicTensor = inputs;
  const stages: [number, number][] = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
  stages.forEach(([filters, convs], s) => {
    for (let i = 1; i <= convs; i++) {
      x = new Conv2D({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `conv${s + 1}_${i}` }).apply(x);
    }
    x = new MaxPooling2D({ poolSize: 2, strides: 2, name: `pool${s + 1}` }).apply(x);
  });
  x = new Conv2D({ filters: 4096, kernelSize: 7, padding: 'valid', activation: 'relu', name: 'fc6' }).apply(x);
  x = new Dropout({ rate: 0.5, name: 'dropout6' }).apply(x);
  x = new Conv2D({ filters: 4096, kernelSize: 1, activation: 'relu', name: 'fc7' }).apply(x);
  x = new Dropout({ rate: 0.5, name: 'dropout7' }).apply(x);
  x = new Conv2D({ filters: numClasses, kernelSize: 1, name: 'fc8' }).apply(x);
  x = new Reshape({ targetShape: [-1], name: 'squeeze' }).apply(x);
  const outputs = new Activation({ activation: 'softmax', name: 'predictions' }).apply(x);
  return new Model({ inputs, outputs, name: o.name ?? 'vgg16_slim' });
}

export interface MobileNetOptions extends ZooOptions {
  /** Width multiplier: every layer has int(filters * alpha) filters. */
  alpha?: number;
  /** Resolution multiplier of the depthwise convolutions (Keras's depth_multiplier). */
  depthMultiplier?: number;
  dropout?: number;
  includeTop?: boolean;
  /** Without the top: 'avg' or 'max' global pooling, or none (4-D features). */
  pooling?: 'avg' | 'max' | null;
}

/**
 * MobileNet v1 (Howard et al. 2017) as keras.applications.MobileNet builds it, with its layer names
 * (conv1, conv_dw_1, conv_dw_1_bn, conv_pw_1, ..., conv_preds) so Keras weight files load by name.
 * Strided depthwise blocks pad ((0, 1), (0, 1)) and use `valid`, as Keras does. 4,253,864 params at 224, alpha 1.
 */
export function mobilenet(o: MobileNetOptions = {}): Model {
  const { inputShape = [224, 224, 3], numClasses = 1000, alpha = 1, depthMultiplier = 1, dropout = 1e-3, includeTop = true, pooling = null } = o;
  if (!(alpha > 0)) throw new Error(`mobilenet: argument 'alpha' expected a positive number, received ${alpha}`);
  const inputs = Input({ shape: inputShape });
  let x = new Conv2D({ filters: Math.trunc(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' }).apply(inputs);
  x = new BatchNormalization({ name: 'conv1_bn' }).apply(x);
  x = new ReLU({ maxValue: 6, name: 'conv1_relu' }).apply(x);
  const plan: [number, number][] = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  plan.forEach(([filters, stride], i) => {
    const id = i + 1;
    if (stride === 2) x = new ZeroPadding2D({ padding: [[0, 1], [0, 1]], name: `conv_pad_${id}` }).apply(x);
    x = new DepthwiseConv2D({ kernelSize: 3, strides: stride, padding: stride === 1 ? 'same' : 'valid', depthMultiplier, useBias: false, name: `conv_dw_${id}` }).apply(x);
    x = new BatchNormalization({ name: `conv_dw_${id}_bn` }).apply(x);
    x = new ReLU({ maxValue: 6, name: `conv_dw_${id}_relu` }).apply(x);
    x = new Conv2D({ filters: Math.trunc(filters * alpha), kernelSize: 1, padding: 'same', useBias: false, name: `conv_pw_${id}` }).apply(x);
    x = new BatchNormalization({ name: `conv_pw_${id}_bn` }).apply(x);
    x = new ReLU({ maxValue: 6, name: `conv_pw_${id}_relu` }).apply(x);
  });
  if (includeTop) {
    x = new GlobalAveragePooling2D({ keepdims: true, name: 'global_average_pooling2d' }).apply(x);
    x = new Dropout({ rate: dropout, name: 'dropout' }).apply(x);
    x = new Conv2D({ filters: numClasses, kernelSize: 1, padding: 'same', name: 'conv_preds' }).apply(x);
    x = new Reshape({ targetShape: [numClasses], name: 'reshape_2' }).apply(x);
    x = new Activation({ activation: 'softmax', name: 'predictions' }).apply(x);
  } else if (pooling === 'avg') {
    x = new GlobalAveragePooling2D({ name: 'global_average_pooling2d' }).apply(x);
  } else if (pooling === 'max') {
    x = new GlobalMaxPooling2D({ name: 'global_max_pooling2d' }).apply(x);
  }
  const name = o.name ?? `mobilenet_${alpha.toFixed(2)}_${inputShape[0]}`;
  return new Model({ inputs, outputs: x, name });
}
