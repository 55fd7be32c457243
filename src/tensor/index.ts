export * from './random.js';
export * from './shape.js';
export * from './tensor.js';
export * from './variable.js';
