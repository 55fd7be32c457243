/**
 * convkit: build, train, inspect and run convolutional neural networks in TypeScript, with Keras semantics.
 */
// Loads the C++ addon when it was built (and warns once, falling back to TypeScript, when it was not).
import './backend/native/index.js';

export * from './tensor/index.js';
export * as ops from './ops/index.js';
export { noGrad, backward, gradients, isGradEnabled } from './autograd/tape.js';
export { getBackend, setBackend, backendName, availableBackends, conv2dInfo, pool2dInfo, windowAxis } from './backend/index.js';
export type { Backend } from './backend/backend.js';
export type { Conv2DInfo, Pool2DInfo, Padding, ExplicitPadding } from './backend/geometry.js';
export * from './layers/index.js';
export * from './models/index.js';
export * from './zoo/index.js';
export * from './train/index.js';
export * from './io/index.js';
export * from './data/index.js';
export { h5wasmReady, isHdf5File } from './io/h5-file.js';
export * from './io/keras-h5.js';
export type { KerasWeightFile, Keras3File, Keras3Node, LegacyFile, LegacyLayer, LegacyWeight } from './io/keras-h5-layouts.js';
export * from './images/index.js';
export * from './export/index.js';
export * as report from './report/index.js';
export { initDistributed, distributedGroup, DistributedUnavailableError, type MpiGroup } from './dist/index.js';
