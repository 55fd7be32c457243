/**
 * convkit: build, train, inspect and run convolutional neural networks in TypeScript, with Keras semantics.
 */
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
