export * from './atomic.js';
export * from './checkpoint.js';
export * from './safetensors.js';
export * from './weights-text.js';
export { openKerasModelFile, isKerasModelFile, type KerasModelFile, type KerasModelFormat } from './keras-model.js';
export { readZip, writeZip } from './zip.js';
export * from './tf-checkpoint/index.js';
