export * from './atomic.js';
export * from './checkpoint.js';
export * from './safetensors.js';
export * from './weights-text.js';
export * from './tf-checkpoint/index.js';
