import { Model } from '../model.js';
import { modelFromConfig } from './deserialize.js';
import { serializeModel } from './serialize.js';
import type { JsonObject } from './values.js';

/**
 * Keras model configs (config.json of a .keras file, model_config of an .h5): a model to its Keras 3 config and
 * back, for either schema generation. The model classes stay unaware of the format: toConfig is attached here.
 */
declare module '../model.js' {
  interface Model {
    /** The model as Keras 3 serializes it (config.json): { module, class_name, config, registered_name, build_config }. */
    toConfig(): JsonObject;
  }
}

Model.prototype.toConfig = function (this: Model) {
  return serializeModel(this);
};

export { modelFromConfig, parseJson, type FromConfigOptions } from './deserialize.js';
export { registerSerializable, type SerializableClass } from './registry.js';
export { serializeModel } from './serialize.js';
export { ConfigError, type Json, type JsonObject } from './values.js';
