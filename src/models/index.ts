export * from './model.js';
export * from './sequential.js';
export * from './summary.js';
export * from './keras-config/index.js';
