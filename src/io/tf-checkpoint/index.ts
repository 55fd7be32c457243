// TensorFlow 2 checkpoints (TensorBundle): reader, object graph, and loading into convkit models.
export { readTfCheckpoint } from './bundle.js';
export type { TfCheckpoint, TfTensorEntry, TfValues } from './bundle.js';
export { OBJECT_GRAPH_KEY, readObjectGraph, variableOwners } from './object-graph.js';
export type { TfObjectGraph, TfObjectReference, TfSlotReference, TfTrackable, TfVariableOwner } from './object-graph.js';
export { loadTfCheckpoint } from './load.js';
export type { LoadTfCheckpointOptions, TfLoadReport, TfOptimizerTarget } from './load.js';
export { isTfCheckpoint, resolveTfCheckpointPrefix } from './paths.js';
