import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../src/index.js';
import { checkOnnxModel } from '../../src/export/onnx-check.js';
import { assertClose, randomInput, runOnnx, zooModel } from './onnx-helpers.js';

/**
 * vgg16-slim on its own: fc6 is a 7x7 valid convolution over the 7x7 map, so the input must be 224x224 and the
 * model keeps its 15 GFLOP per image and ~120 M parameters even with 10 classes. One image, checked once.
 */
test('vgg16-slim (224, 10 classes): ONNX is valid and agrees with convkit to 1e-4', async () => {
  const model = zooModel('vgg16-slim', { numClasses: 10 });
  const x = randomInput(model, 1, 21);
  const expected = model.predict(x);
  const bytes = model.toOnnx();
  const report = checkOnnxModel(bytes);
  assert.deepEqual(report.ops, { Transpose: 2, Conv: 16, Relu: 15, MaxPool: 5, Reshape: 1, Softmax: 1 });
  assert.deepEqual(report.outputs[0].shape, [null, 10]);
  const y = await runOnnx(bytes, x);
  assertClose(y.data, expected.data, 'vgg16-slim');
});
