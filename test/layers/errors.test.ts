/**
 * Bad configurations and bad inputs: every error names the layer, the argument, what was expected and what
 * was received (Keras's "argument, expected, received").
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { Activation, Dense, Dropout, ReLU, Reshape } from '../../src/layers/core.js';
import { Input } from '../../src/layers/input.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { Add, Concatenate, ZeroPadding2D } from '../../src/layers/merge.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { conv2d } from '../../src/ops/conv.js';
import { matmul } from '../../src/ops/linalg.js';
import { Tensor } from '../../src/tensor/tensor.js';

beforeEach(() => resetLayerNames());

test('wrong rank into Conv2D (tensor and symbolic)', () => {
  assert.throws(() => new Conv2D({ filters: 2, kernelSize: 3 }).apply(Tensor.zeros([5, 5, 3])), /Conv2D 'conv2d': argument 'input' expected rank 4 \[batch, height, width, channels\], received shape \(5, 5, 3\)/);
  assert.throws(() => new Conv2D({ filters: 2, kernelSize: 3 }).apply(Input({ shape: [8, 3] })), /Conv2D 'conv2d_1': argument 'input' expected rank 4.*received shape \(null, 8, 3\)/);
  assert.throws(() => new MaxPooling2D().apply(Input({ shape: [8] })), /MaxPooling2D 'max_pooling2d': argument 'input' expected rank 4.*received shape \(null, 8\)/);
});

test('channel mismatch into Add, Concatenate and Dense (after build)', () => {
  const a = Tensor.zeros([1, 4, 4, 3]);
  const b = Tensor.zeros([1, 4, 4, 2]);
  assert.throws(() => new Add().apply([a, b]), /Add 'add': argument 'inputs' expected tensors of one shape, received \(1, 4, 4, 3\) and \(1, 4, 4, 2\)/);
  assert.throws(() => new Add().apply([Input({ shape: [4, 4, 3] }), Input({ shape: [4, 4, 2] })]), /Add 'add_1': argument 'inputs' expected tensors of one shape, received \(null, 4, 4, 3\) and \(null, 4, 4, 2\)/);
  assert.throws(() => new Concatenate().apply([a, Tensor.zeros([1, 3, 4, 2])]), /Concatenate 'concatenate': argument 'inputs' expected shapes that agree on every axis but the last, received \(1, 4, 4, 3\), \(1, 3, 4, 2\)/);
  assert.throws(() => new Add().apply(a), /Add 'add_2': argument 'inputs' expected a list of at least 2 tensors, received a single tensor/);
  const dense = new Dense({ units: 3 });
  dense.apply(Tensor.zeros([2, 4]));
  assert.throws(() => dense.apply(Tensor.zeros([2, 5])), /Dense 'dense': argument 'input' expected last dimension 4 .*received shape \(2, 5\)/);
  assert.throws(() => dense.apply(Input({ shape: [5] })), /Dense 'dense': argument 'input' expected last dimension 4, received shape \(null, 5\)/);
  const conv = new Conv2D({ filters: 2, kernelSize: 1 });
  conv.apply(Tensor.zeros([1, 2, 2, 3]));
  assert.throws(() => conv.apply(Tensor.zeros([1, 2, 2, 4])), /Conv2D 'conv2d': argument 'input' expected 3 channels .*received shape \(1, 2, 2, 4\)/);
  const bn = new BatchNormalization();
  bn.apply(Tensor.zeros([2, 3]));
  assert.throws(() => bn.apply(Tensor.zeros([2, 4])), /BatchNormalization 'batch_normalization': argument 'input' expected last dimension 3, received shape \(2, 4\)/);
});

test('kernel larger than a valid input', () => {
  assert.throws(() => new Conv2D({ filters: 1, kernelSize: 5 }).apply(Tensor.zeros([1, 3, 3, 1])), /Conv2D 'conv2d': argument 'kernelSize' expected a window no larger than the padded input, received kernel 5x5 over input 3x3/);
  assert.throws(() => new MaxPooling2D({ poolSize: 4 }).apply(Input({ shape: [3, 3, 1] })), /MaxPooling2D 'max_pooling2d': argument 'kernelSize' expected a window no larger.*4x4 over input 3x3/);
  assert.throws(() => new Conv2D({ filters: 1, kernelSize: 3, dilationRate: 2 }).apply(Tensor.zeros([1, 4, 4, 1])), /kernel 3x3 \(dilation 2x2\) over input 4x4/);
});

test('non-positive or non-integer filters, units, kernelSize, strides, depthMultiplier', () => {
  assert.throws(() => new Conv2D({ filters: -3, kernelSize: 3 }), /Conv2D 'conv2d'.*'filters'.*positive integer.*-3/);
  assert.throws(() => new Conv2D({ filters: 2.5, kernelSize: 3 }), /Conv2D 'conv2d_1': argument 'filters' expected a positive integer, received 2\.5/);
  assert.throws(() => new Dense({ units: 0 }), /Dense 'dense': argument 'units' expected a positive integer, received 0/);
  assert.throws(() => new Conv2D({ filters: 2, kernelSize: [3, 0] }), /argument 'kernelSize' expected a positive integer or a pair of them, received \[3,0\]/);
  assert.throws(() => new MaxPooling2D({ strides: 0 }), /MaxPooling2D 'max_pooling2d': argument 'strides' expected a positive integer or a pair of them, received 0/);
  assert.throws(() => new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 0 }), /DepthwiseConv2D 'depthwise_conv2d': argument 'depthMultiplier' expected a positive integer, received 0/);
  assert.throws(() => new Conv2D({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 }), /argument 'strides' expected 1 when dilationRate > 1, received \[2,2\]/);
});

test('bad padding string and bad activation name', () => {
  assert.throws(() => new Conv2D({ filters: 2, kernelSize: 3, padding: 'full' as 'same' }), /Conv2D 'conv2d': argument 'padding' expected one of 'valid', 'same', received full/);
  assert.throws(() => new MaxPooling2D({ padding: 'SAME' as 'same' }), /MaxPooling2D 'max_pooling2d': argument 'padding' expected one of 'valid', 'same', received SAME/);
  assert.throws(() => new Dense({ units: 2, activation: 'gelu' as 'relu' }), /Dense 'dense': argument 'activation' expected one of 'linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', received gelu/);
  assert.throws(() => new Activation({ activation: 'swish' as 'relu' }), /Activation 'activation': argument 'activation' expected one of .*received swish/);
  assert.throws(() => new ReLU({ maxValue: 5 }), /ReLU 're_lu': argument 'maxValue' expected null or 6.*received 5/);
  assert.throws(() => new ZeroPadding2D({ padding: -1 }), /ZeroPadding2D 'zero_padding2d': argument 'padding' expected a non-negative integer.*received -1/);
});

test('Dropout rate out of [0, 1), Reshape to an impossible shape, bad BN and Concatenate arguments', () => {
  assert.throws(() => new Dropout({ rate: 1.5 }), /Dropout 'dropout': argument 'rate' expected a number in \[0, 1\), received 1\.5/);
  assert.throws(() => new Dropout({ rate: -0.1 }), /Dropout 'dropout_1': argument 'rate' expected a number in \[0, 1\), received -0\.1/);
  assert.throws(() => new Reshape({ targetShape: [-1, -1] }), /Reshape 'reshape': argument 'targetShape' expected positive integers with at most one -1, received \[-1,-1\]/);
  assert.throws(() => new Reshape({ targetShape: [5] }).apply(Input({ shape: [2, 3] })), /Reshape 'reshape_1': argument 'targetShape' expected a shape of 6 values per sample.*received \[5\]/);
  assert.throws(() => new BatchNormalization({ momentum: 2 }), /BatchNormalization 'batch_normalization': argument 'momentum' expected a number in \[0, 1\], received 2/);
  // axis 1 is the channel axis of a rank-2 input (after Dense), a spatial one of an image: refused when built.
  assert.throws(() => new BatchNormalization({ axis: 1 }).build([null, 8, 8, 3]), /argument 'axis' expected the channel axis \(-1 or 3 for this rank-4 input \(null, 8, 8, 3\)\).*received 1/);
  new BatchNormalization({ axis: [1] }).build([null, 16]);
  assert.throws(() => new BatchNormalization({ axis: [1, 2] }), /argument 'axis' expected one integer axis/);
  assert.throws(() => new Concatenate({ axis: 2 }), /Concatenate 'concatenate': argument 'axis' expected -1.*received 2/);
});

test('op-level errors name the op and argument', () => {
  assert.throws(() => conv2d(Tensor.zeros([1, 3, 3, 2]), Tensor.zeros([3, 3, 3, 1])), /conv2d: argument 'input' expected 3 channels \(kernel \(3, 3, 3, 1\)\), received shape \(1, 3, 3, 2\)/);
  assert.throws(() => conv2d(Tensor.zeros([1, 3, 3, 1]), Tensor.zeros([3, 3, 1])), /conv2d: argument 'kernel' expected rank 4 \[kh, kw, inChannels, filters\], received shape \(3, 3, 1\)/);
  assert.throws(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 2])), /matmul: expected a \[m, k\] and b \[k, n\] with the same k, received \(2, 3\) and \(4, 2\)/);
  assert.throws(() => conv2d(Tensor.zeros([1, 3, 3, 1], 'float64'), Tensor.zeros([1, 1, 1, 1])), /conv2d: expected inputs of one dtype, received float64 and float32/);
});
