import { InputLayer } from '../../layers/input.js';
import { Layer } from '../../layers/layer.js';
import type { LayerNode, SymbolicTensor } from '../../layers/symbolic.js';
import { SymbolicShape } from '../../tensor/shape.js';
import { Model } from '../model.js';
import { Sequential } from '../sequential.js';
import { BUILTIN_CODECS } from './builtins.js';
import { registeredFor } from './registry.js';
import { Json, JsonObject, dtypePolicy, kerasObject } from './values.js';

/**
 * A convkit model as Keras 3 writes it in config.json (keras.saving.serialize_keras_object): Sequential and
 * Functional models with Keras 3's key set, inbound nodes as `__keras_tensor__` references, build configs;
 * registered custom layers (convkit's blocks, a user's classes) with their registered name. Nested models are
 * written in place, as Keras does.
 */
export function serializeModel(model: Model): JsonObject {
  if (model instanceof Sequential) return serializeSequential(model);
  if (model.inputs.length > 0) return serializeFunctional(model);
  const reg = registeredFor(model);
  if (reg) return serializeLayer(model, null);
  throw new Error(
    `${model.who}: a subclassed model (its own call(), no functional graph) cannot be written as a config; ` +
      `build it as Sequential or functional, or register its class with registerSerializable(${model.className}) and give it a getConfig()`,
  );
}

const shapeJson = (s: SymbolicShape): Json[] => [...s];

function inputLayerEntry(name: string, shape: SymbolicShape): JsonObject {
  return kerasObject('keras.layers', 'InputLayer', { batch_shape: shapeJson(shape), dtype: 'float32', sparse: false, ragged: false, name });
}

/** JSON-safe copy of a custom layer's getConfig(): functions and regularizer objects are not data. */
function plainConfig(layer: Layer, value: unknown, key: string): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v, i) => plainConfig(layer, v, `${key}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainConfig(layer, v, k);
    return out;
  }
  throw new Error(`${layer.who}: getConfig() entry '${key}' is not plain data (${typeof value}); a saved config holds numbers, strings, booleans, arrays and objects`);
}

/** One layer's entry; `inputShape` (its input, batch null) becomes Keras's build_config. */
export function serializeLayer(layer: Layer, inputShape: SymbolicShape | SymbolicShape[] | null): JsonObject {
  if (layer instanceof Model && !registeredFor(layer)) return serializeModel(layer);
  const build: JsonObject = layer.built && inputShape && layer.weights.length > 0 ? { build_config: { input_shape: inputShape as Json } } : {};
  const reg = registeredFor(layer);
  if (reg) {
    const config = plainConfig(layer, layer.getConfig(), 'config') as JsonObject;
    delete config.batchInputShape;
    return { module: reg.package, class_name: reg.className, config, registered_name: reg.registeredName, ...build };
  }
  const codec = BUILTIN_CODECS[layer.className];
  if (!codec) {
    throw new Error(`${layer.who}: class '${layer.className}' has no saved form; register it with registerSerializable(${layer.className}) and give it a getConfig() returning its constructor's arguments`);
  }
  const config: JsonObject = { name: layer.name, trainable: layer.trainable, dtype: dtypePolicy(), ...codec.toKeras(layer) };
  return { ...kerasObject(codec.module, layer.className, config), ...build };
}

function serializeSequential(model: Sequential): JsonObject {
  const layers: JsonObject[] = [];
  let shape = model.declaredInputShape;
  if (shape) layers.push(inputLayerEntry(`${model.layers[0]?.name ?? model.name}_input`, shape));
  for (const layer of model.layers) {
    layers.push(serializeLayer(layer, shape));
    shape = shape ? layer.lastOutputShape ?? null : null;
  }
  const built: JsonObject = model.declaredInputShape ? { build_config: { input_shape: shapeJson(model.declaredInputShape) } } : {};
  const config: JsonObject = { name: model.name, trainable: model.trainable, dtype: dtypePolicy(), layers };
  if (model.declaredInputShape) config.build_input_shape = shapeJson(model.declaredInputShape);
  return { ...kerasObject('keras', 'Sequential', config), ...built };
}

function serializeFunctional(model: Model): JsonObject {
  const nodes = model.graphNodes;
  // Keras's node index: the how-many-th call of that layer within this model.
  const callIndex = new Map<LayerNode, number>();
  const calls = new Map<Layer, LayerNode[]>();
  for (const n of nodes) {
    const list = calls.get(n.layer) ?? [];
    callIndex.set(n, list.length);
    list.push(n);
    calls.set(n.layer, list);
  }
  const ref = (t: SymbolicTensor): Json[] => [t.node.layer.name, callIndex.get(t.node) ?? 0, 0];
  const kerasTensor = (t: SymbolicTensor): JsonObject => ({ class_name: '__keras_tensor__', config: { shape: shapeJson(t.shape), dtype: 'float32', keras_history: ref(t) } });
  const layers: JsonObject[] = [];
  for (const [layer, list] of calls) {
    const inbound = list
      .filter((n) => !(n.layer instanceof InputLayer))
      .map((n) => ({ args: [n.inputs.length === 1 ? kerasTensor(n.inputs[0]) : n.inputs.map(kerasTensor)], kwargs: {} }));
    const entry =
      layer instanceof InputLayer
        ? inputLayerEntry(layer.name, layer.shape)
        : serializeLayer(layer, list[0].inputs.length === 1 ? list[0].inputs[0].shape : list[0].inputs.map((t) => t.shape));
    layers.push({ ...entry, name: layer.name, inbound_nodes: inbound });
  }
  const config: JsonObject = {
    name: model.name,
    trainable: model.trainable,
    layers,
    input_layers: model.inputs.map(ref),
    output_layers: model.outputs.map(ref),
  };
  return { module: 'keras.src.models.functional', class_name: 'Functional', config, registered_name: 'Functional', build_config: { input_shape: null } };
}
