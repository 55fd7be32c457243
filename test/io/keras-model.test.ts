import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import '../../src/index.js';
import type { Model } from '../../src/models/model.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { getCompiled } from '../../src/train/fit.js';
import { RMSprop } from '../../src/train/optimizers.js';
import { loadModel } from '../../src/train/saving.js';
import { SKIP_REAL, accuracy, mnistDigits, realFile } from './real-keras.js';

/**
 * Every real Keras file of ../shared/data/real-keras loads with loadModel and reaches the accuracy its README
 * lists on real data (2,000 MNIST digits from the `mnist` package; the first 2,000 Fashion-MNIST test images
 * from Debian's dataset-fashion-mnist when installed).
 */

const quiet = { onWarning: () => undefined };

// file -> [parameters, input shape, preprocessing shift, README accuracy on its data]
const FILES: Record<string, { params: number; input: number[]; data?: 'mnist' | 'fashion'; shift?: number; readme?: number }> = {
  'evanchien__simple_cnn_keras_fashionmnist__fashion_mnist.h5': { params: 250478, input: [28, 28, 1], data: 'fashion', readme: 0.917 },
  'Alan-predator__Adequacy-Testing__lenet5.h5': { params: 107786, input: [28, 28, 1], data: 'mnist', readme: 0.997 },
  'Keepep__experiment_ref__mnist_cnn.h5': { params: 120202, input: [28, 28, 1], data: 'mnist', shift: -0.5, readme: 0.983 },
  'patrickphat__CIFAR10-Image-Recognition__lenet5.h5': { params: 62006, input: [32, 32, 3] },
  'muskuloes__MNIST-deployment__cnn_mnist.h5': { params: 4330, input: [28, 28, 1], data: 'mnist', readme: 0.985 },
  'Ery4z__DeepLearning__mnist_cnn.h5': { params: 93322, input: [28, 28, 1], data: 'mnist', readme: 0.996 },
  'Prabhav-Mishra__Handwritten-Digit-Recognition-using-deep-learning__cnn_model_mnist.h5': { params: 121930, input: [28, 28, 1], data: 'mnist', readme: 0.998 },
  'Aman-21k__cnn-fashion-mnist-classifier__model.keras': { params: 121930, input: [28, 28, 1], data: 'fashion', readme: 0.909 },
  'sanket-pathak__Cifar10Streamlit__cifar10_cnn.keras': { params: 167562, input: [32, 32, 3] },
  'kharshit242__digit_classification__mnist_cnn_model.keras': { params: 225034, input: [28, 28, 1], data: 'mnist', readme: 0.996 },
  'lokeshmohanty__mlops-pipeline__cifar10.keras': { params: 273034, input: [32, 32, 3] },
};

const inputShape = (m: Model): (number | null)[] => [...(m.inputs[0]?.shape ?? (m as unknown as { declaredInputShape: (number | null)[] }).declaredInputShape)];

const FASHION = '/usr/share/datasets/fashion-mnist';
function fashionTest(n: number): { x: Tensor; labels: Int32Array } | null {
  const images = join(FASHION, 't10k-images-idx3-ubyte.gz');
  if (!existsSync(images)) return null;
  const img = gunzipSync(readFileSync(images));
  const lab = gunzipSync(readFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz')));
  const x = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) x[i] = img[16 + i] / 255;
  return { x: new Tensor(x, [n, 28, 28, 1]), labels: Int32Array.from(lab.subarray(8, 8 + n)) };
}

let mnist: { x: Tensor; labels: Int32Array } | null = null;

for (const [name, f] of Object.entries(FILES)) {
  test(`real Keras file ${name}: loads, ${f.params} parameters, softmax rows${f.readme ? `, README accuracy ${(f.readme * 100).toFixed(1)}%` : ''}`, { skip: SKIP_REAL }, async (t) => {
    const model = await loadModel(realFile(name), quiet);
    assert.equal(model.countParams(), f.params);
    assert.deepEqual(inputShape(model), [null, ...f.input]);
    const probe = model.predict(Tensor.randomUniform([3, ...f.input], 0, 1, undefined));
    for (let r = 0; r < 3; r++) {
      const row = probe.data.subarray(r * 10, r * 10 + 10);
      assert.ok(row.every((v) => v >= 0 && Number.isFinite(v)));
      assert.ok(Math.abs(Array.from(row).reduce((a, b) => a + b, 0) - 1) < 1e-5, 'softmax rows sum to 1');
    }
    if (!f.data || !f.readme) return;
    let data = f.data === 'mnist' ? (mnist ??= mnistDigits(200)) : fashionTest(2000);
    if (!data) {
      t.skip(`Fashion-MNIST not installed (${FASHION}; apt-get install dataset-fashion-mnist)`);
      return;
    }
    if (f.shift) data = { x: new Tensor(data.x.data.map((v) => v + f.shift!), data.x.shape), labels: data.labels };
    const acc = accuracy(model.predict(data.x, { batchSize: 250 }), data.labels);
    // Within a point of the README's figure (its 2,000 MNIST digits are not exactly these).
    assert.ok(acc >= f.readme - 0.01, `accuracy ${(acc * 100).toFixed(2)}% vs README ${(f.readme * 100).toFixed(1)}%`);
  });
}

test('the channels_first file is refused, saying why: its BatchNormalization normalises the width axis', { skip: SKIP_REAL }, async () => {
  await assert.rejects(loadModel(realFile('kedarbartake98__ML_Engineering__mnist_cnn.h5'), quiet), (e: Error) => {
    assert.match(e.message, /BatchNormalization 'batch_normalization' in '.*kedarbartake98__ML_Engineering__mnist_cnn\.h5'/);
    assert.match(e.message, /argument 'axis' expected the channel axis \(1 in this channels_first model\)/);
    assert.match(e.message, /width axis/);
    return true;
  });
});

test('a loaded file is compiled from its training config: optimizer class and hyper-parameters, loss, metrics', { skip: SKIP_REAL }, async () => {
  const rms = await loadModel(realFile('Ery4z__DeepLearning__mnist_cnn.h5'), quiet);
  const c = getCompiled(rms);
  assert.ok(c.optimizer instanceof RMSprop);
  assert.equal((c.optimizer as RMSprop).rho, 0.8999999761581421);
  assert.equal(c.config.loss, 'categorical_crossentropy');
  assert.deepEqual(c.config.metrics, ['accuracy']);
  const sgd = getCompiled(await loadModel(realFile('patrickphat__CIFAR10-Image-Recognition__lenet5.h5'), quiet));
  assert.equal(sgd.optimizer.className, 'SGD');
  assert.equal(sgd.optimizer.getConfig().nesterov, true);
  // Keras 3 compile_config; tf.keras 2.14's loss as { class_name: 'function', config: name }.
  const k3 = getCompiled(await loadModel(realFile('kharshit242__digit_classification__mnist_cnn_model.keras'), quiet));
  assert.equal(k3.optimizer.className, 'Adam');
  assert.equal(k3.config.loss, 'categorical_crossentropy');
  const k2model = await loadModel(realFile('lokeshmohanty__mlops-pipeline__cifar10.keras'), quiet);
  const k2 = getCompiled(k2model);
  assert.equal(k2.config.loss, 'categorical_crossentropy');
  // tf.keras 2.14 keeps Adam's step count and m, v per weight: they are restored.
  assert.ok(k2.optimizer.iterations > 0, `iterations ${k2.optimizer.iterations}`);
  const state = k2.optimizer.getState(k2model.trainableWeights);
  assert.equal(Object.keys(state.slots.m).length, k2model.trainableWeights.length);
  assert.ok(Object.values(state.slots.v).some((v) => v.some((x) => x > 0)), 'second moments are not all zero');
});

test('loadModel names the file and the problem for things that are not models', { skip: SKIP_REAL }, async () => {
  await assert.rejects(loadModel('/nonexistent/model.keras'), /loadModel: '\/nonexistent\/model\.keras' does not exist/);
  await assert.rejects(loadModel(realFile('README.md')), /neither a \.keras archive \(zip\) nor an HDF5 \.h5 file/);
  await assert.rejects(loadModel(realFile('oumanatsumi__CIFAR10-Tensorflow__LeNet5.ckpt.index')), /neither a \.keras archive/);
});
