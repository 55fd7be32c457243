/**
 * A whole small model, gradient-checked end to end: the training loss (sparse cross-entropy on the softmax
 * output plus L2 penalties) with respect to every trainable weight, BN and Dropout in training mode.
 */
import { test } from 'node:test';
import { Conv2D } from '../../src/layers/conv.js';
import { Dense, Dropout, Flatten } from '../../src/layers/core.js';
import { l2 } from '../../src/layers/regularizers.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { Sequential } from '../../src/models/sequential.js';
import { addScalars } from '../../src/ops/elementwise.js';
import { sparseCategoricalCrossentropy } from '../../src/ops/losses.js';
import { Random, setSeed } from '../../src/tensor/random.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { randomizeWeights } from '../helpers/layers.js';
import { distinct, withFloat64 } from '../helpers/tensors.js';

test('Sequential conv-BN-pool-dense-softmax: training loss gradient with respect to every weight', () => {
  withFloat64(() => {
    const rng = new Random(1111);
    const model = new Sequential([
      new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', kernelRegularizer: l2(0.01), inputShape: [5, 5, 2] }),
      new BatchNormalization(),
      new MaxPooling2D({ poolSize: 2, padding: 'same' }),
      new Dropout({ rate: 0.2 }),
      new Flatten(),
      new Dense({ units: 4, activation: 'softmax', kernelRegularizer: l2(0.01) }),
    ]);
    randomizeWeights(model, rng);
    const x = distinct([3, 5, 5, 2], rng);
    const labels = [0, 3, 2];
    const loss = () => {
      setSeed(21);
      const probs = model.apply(x, { training: true });
      return addScalars([sparseCategoricalCrossentropy(labels, probs), ...model.regularizationLosses()]);
    };
    // The conv bias feeds a training-mode BN (through tanh, so it does reach the output).
    gradcheck(loss, [x, ...model.trainableWeights], { names: ['x', ...model.trainableWeights.map((w) => w.name)] });
  });
});
