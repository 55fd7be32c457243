import { describeModel, readCheckpoint, restoreWeights, saveCheckpoint } from '../io/checkpoint.js';
import { LoadKerasWeightsOptions, isKerasWeightFile, loadKerasWeights } from '../io/keras-h5.js';
import { isTfCheckpoint, loadTfCheckpoint } from '../io/tf-checkpoint/index.js';
import { Model } from '../models/model.js';
import { Tensor } from '../tensor/tensor.js';
import type { Logs } from './callbacks.js';
import { CompileConfig, FitOptions, compile, evaluate, fit, getCompiled } from './fit.js';
import type { History } from './history.js';
import type { Targets } from './losses.js';
import type { Optimizer } from './optimizers.js';
import type { DataSource } from './source.js';

export interface LoadWeightsOptions extends LoadKerasWeightsOptions {
  /**
   * TF checkpoints only: also restore the compiled optimizer's slots (Adam's m and v), step count and learning
   * rate, as Keras's load_weights does, so that fit resumes where Keras stopped. Needs compile() first.
   */
  optimizer?: boolean;
}

/**
 * Keras's training methods on Model. They live here, in train/, and are attached to the Model prototype so
 * that models/ does not depend on training (imports point down; see DESIGN.md).
 */
declare module '../models/model.js' {
  interface Model {
    compile(config: CompileConfig): void;
    fit(x: Tensor | DataSource, y?: Targets, opts?: FitOptions): Promise<History>;
    evaluate(x: Tensor | DataSource, y?: Targets, opts?: { batchSize?: number }): Logs;
    /** Writes every weight to a convkit checkpoint (safetensors), atomically. */
    saveWeights(path: string): void;
    /**
     * Loads weights from a TensorFlow 2 checkpoint (a prefix whose `.index` exists, the `.index` file, or a
     * folder with TF's `checkpoint` file; see io/tf-checkpoint/load.ts), a Keras HDF5 file (told by its content
     * or a .h5/.hdf5 name; both Keras layouts, see io/keras-h5.ts) or else a convkit checkpoint (by variable
     * name); nothing changes unless every weight fits. Await it: HDF5 reading is asynchronous (a checkpoint is
     * already loaded when the call returns).
     */
    loadWeights(path: string, opts?: LoadWeightsOptions): Promise<void>;
  }
}

Model.prototype.compile = function (this: Model, config: CompileConfig) {
  compile(this, config);
};
Model.prototype.fit = function (this: Model, x: Tensor | DataSource, y?: Targets, opts?: FitOptions) {
  return fit(this, x, y, opts);
};
Model.prototype.evaluate = function (this: Model, x: Tensor | DataSource, y?: Targets, opts?: { batchSize?: number }) {
  return evaluate(this, x, y, opts);
};
Model.prototype.saveWeights = function (this: Model, path: string) {
  saveCheckpoint(path, this, { model: describeModel(this) }, {}, 'weights');
};
function compiledOptimizer(model: Model): Optimizer {
  try {
    return getCompiled(model).optimizer;
  } catch {
    throw new Error(`${model.who}.loadWeights: option 'optimizer' restores into the compiled optimizer; call compile({ optimizer, loss }) first`);
  }
}

Model.prototype.loadWeights = function (this: Model, path: string, opts?: LoadWeightsOptions) {
  try {
    // Checked first: a TF prefix is no file, and a folder would fail the HDF5 signature read (EISDIR).
    if (isTfCheckpoint(path)) {
      loadTfCheckpoint(this, path, opts?.optimizer ? { optimizer: compiledOptimizer(this) } : {});
      return Promise.resolve();
    }
    if (opts?.optimizer) throw new Error(`${this.who}.loadWeights: option 'optimizer' applies to TF checkpoints only, '${path}' is not one`);
    if (isKerasWeightFile(path)) return loadKerasWeights(this, path, opts).then(() => undefined);
    restoreWeights(this, readCheckpoint(path), `checkpoint '${path}'`);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
};
