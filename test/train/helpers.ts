import { Conv2D } from '../../src/layers/conv.js';
import { Dense, Dropout, Flatten } from '../../src/layers/core.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { BatchNormalization } from '../../src/layers/normalization.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { Sequential } from '../../src/models/sequential.js';
import { setSeed } from '../../src/tensor/random.js';

/** A small CNN with every stateful part training has: BN moving statistics, dropout masks, shuffling. */
export function smallCnn(seed: number, opts: { dropout?: number; bn?: boolean } = {}): Sequential {
  resetLayerNames();
  setSeed(seed);
  return new Sequential([
    new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [12, 12, 3] }),
    ...(opts.bn === false ? [] : [new BatchNormalization()]),
    new MaxPooling2D({ poolSize: 2 }),
    new Conv2D({ filters: 16, kernelSize: 3, activation: 'relu' }),
    new MaxPooling2D({ poolSize: 2 }),
    new Flatten(),
    ...(opts.dropout ? [new Dropout({ rate: opts.dropout })] : []),
    new Dense({ units: 10, activation: 'softmax' }),
  ]);
}
