import './model-methods.js';
export type { LoadWeightsOptions } from './model-methods.js';

export * from './callbacks.js';
export * from './fit.js';
export * from './history.js';
export * from './losses.js';
export * from './optimizers.js';
export * from './source.js';
export { NonFiniteError, trainStep, type StepReduce } from './step.js';
export { setDataParallel, getDataParallel, GradientReducer, type DataParallel } from './parallel.js';
export { ProgressBar } from './progress.js';
export { loadModel, type LoadModelOptions } from './saving.js';
export { compileFromKeras, compileToKeras } from './compile-config.js';
export { featureSource, fitOnFeatures, splitModel } from './feature-cache.js';
