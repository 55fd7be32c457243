import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { Checkpoint, describeModel, readCheckpoint, renameSlots, restoreWeights, saveCheckpoint } from '../io/checkpoint.js';
import { loadKerasWeights } from '../io/keras-h5.js';
import { encodeKeras3Weights, OptimizerRecord } from '../io/keras-h5-write.js';
import { openKerasModelFile, readOptimizerVars } from '../io/keras-model.js';
import { writeZip } from '../io/zip.js';
import { modelFromConfig } from '../models/keras-config/index.js';
import type { JsonObject } from '../models/keras-config/values.js';
import { Model } from '../models/model.js';
import { createModel } from '../zoo/index.js';
import { compileFromKeras, compileToKeras } from './compile-config.js';
import { compile, getCompiledOrNull } from './fit.js';
import { Adam, Optimizer } from './optimizers.js';

/**
 * Whole models in and out, as keras.models.load_model / model.save:
 *   loadModel(path)   a .keras file (Keras 3, or tf.keras 2.13-2.15), a legacy full-model .h5 (any Keras), or a
 *                     convkit checkpoint (.safetensors, or a training folder); compiled from the file's training
 *                     settings when it has them, with the optimizer's state where the file keeps it.
 *   model.save(path)  .keras (Keras 3's layout: what Keras itself writes) or .safetensors (a convkit checkpoint
 *                     carrying the config, the optimizer state and the compile settings).
 */
declare module '../models/model.js' {
  interface Model {
    /** Writes the whole model: '.keras' (Keras 3 archive) or '.safetensors' (convkit checkpoint). Atomic. */
    save(path: string): Promise<void>;
  }
}

/** The layout Keras 3 gives .keras files; Keras reads keras_version to choose its loader. */
const KERAS_LAYOUT_VERSION = '3.10.0';

export interface LoadModelOptions {
  /** Compile from the file's training settings when present (default true). */
  compile?: boolean;
  /** What convkit loads but does not apply or restore; default console.warn. */
  onWarning?: (message: string) => void;
}

const CHECKPOINT_FILES = ['best.safetensors', 'checkpoint.safetensors'];

export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<Model> {
  const warn = opts.onWarning ?? ((m: string) => console.warn(`convkit: ${m}`));
  if (!existsSync(path)) throw new Error(`loadModel: '${path}' does not exist`);
  let file = path;
  if (statSync(path).isDirectory()) {
    const found = CHECKPOINT_FILES.map((f) => join(path, f)).find((f) => existsSync(f));
    if (!found) throw new Error(`loadModel: folder '${path}' holds neither ${CHECKPOINT_FILES.join(' nor ')}`);
    file = found;
  }
  if (/\.safetensors$/i.test(file)) return loadCheckpointModel(file, opts, warn);
  const src = await openKerasModelFile(file);
  try {
    // The weights must fit in the file (2 bytes a value at the least, bfloat16): a config asking for more is
    // refused before it allocates.
    const maxWeights = Math.floor(statSync(src.weightsPath).size / 2) + 1024;
    const model = modelFromConfig(src.modelConfig, { source: `'${file}'`, onWarning: warn, maxWeights });
    if (model.weights.length === 0 && model.layers.length > 0 && !model.built) {
      throw new Error(`loadModel: '${file}': the model config gives no input shape, so its weights cannot be placed`);
    }
    // By the names the file records: the config's names are the file's.
    await loadKerasWeights(model, src.weightsPath, { match: 'auto' });
    if (opts.compile !== false && src.compileConfig) {
      const compiled = tryCompile(model, src.compileConfig, `'${file}'`, warn);
      if (compiled && src.format !== 'h5') await restoreKerasOptimizer(model, compiled, src.weightsPath, `'${file}'`, warn);
    }
    return model;
  } finally {
    src.close();
  }
}

function tryCompile(model: Model, cfg: Record<string, unknown>, source: string, warn: (m: string) => void): Optimizer | null {
  try {
    const c = compileFromKeras(cfg);
    compile(model, c);
    return getCompiledOrNull(model)!.optimizer;
  } catch (e) {
    warn(`${source}: not compiled (its ${(e as Error).message}); call model.compile() before fit or evaluate`);
    return null;
  }
}

/**
 * Slot names in the order Keras 3 keeps each optimizer's per-variable state: Adam's m and v interleaved per
 * variable (add_optimizer_variables with two names), the others one list per slot.
 */
function kerasSlotOrder(opt: Optimizer): { names: string[]; interleaved: boolean } {
  return { names: opt.slotNames(), interleaved: opt instanceof Adam };
}

/** optimizer/vars of a Keras 3 weights file: iterations, learning rate, then the slots (Adam's interleaved m, v). */
async function restoreKerasOptimizer(model: Model, opt: Optimizer, weightsPath: string, source: string, warn: (m: string) => void): Promise<void> {
  const vars = await readOptimizerVars(weightsPath);
  if (vars.length === 0) return;
  const trainable = model.trainableWeights;
  const { names, interleaved } = kerasSlotOrder(opt);
  const iterations = vars[0].values[0];
  // Keras 3 keeps iterations and the learning rate first; tf.keras 2.11-2.15 iterations alone.
  const head = vars.length - names.length * trainable.length;
  if (vars.length <= 2) {
    opt.setState({ className: opt.className, iterations, config: opt.getConfig(), slots: {} }, trainable);
    return;
  }
  const slots: Record<string, Record<string, Float32Array>> = Object.fromEntries(names.map((n) => [n, {}]));
  const fits = (head === 1 || head === 2) && trainable.every((v, i) => names.every((n, k) => {
    const a = vars[head + (interleaved ? i * names.length + k : k * trainable.length + i)];
    if (a.values.length !== v.size) return false;
    slots[n][v.name] = Float32Array.from(a.values);
    return true;
  }));
  if (!fits || !Number.isInteger(iterations) || iterations < 0) {
    warn(`${source}: optimizer state not restored (${vars.length} variables do not match ${opt.className} over ${trainable.length} trainable weights); fit starts the optimizer afresh`);
    return;
  }
  opt.setState({ className: opt.className, iterations, config: opt.getConfig(), slots }, trainable);
}

async function loadCheckpointModel(file: string, opts: LoadModelOptions, warn: (m: string) => void): Promise<Model> {
  const ckpt: Checkpoint = readCheckpoint(file);
  const spec = ckpt.state.model;
  let model: Model;
  if (spec?.config) model = modelFromConfig(spec.config, { source: `checkpoint '${file}'`, onWarning: warn, maxWeights: Math.floor(statSync(file).size / 4) + 1024 });
  else if (spec?.zoo) model = createModel(spec.zoo, spec.options ?? {});
  else throw new Error(`loadModel: checkpoint '${file}' records no model config (saved from a subclassed model): build the model in code and call loadWeights`);
  const names = restoreWeights(model, ckpt, `checkpoint '${file}'`);
  if (opts.compile !== false) compileFromCheckpoint(model, ckpt, names, `checkpoint '${file}'`, warn);
  return model;
}

/**
 * Compiles a model restored from a checkpoint as the checkpoint's compile settings say, with the optimizer's
 * state (`names`: checkpoint variable name -> model variable name, from restoreWeights). Nothing happens when
 * the checkpoint has no compile settings; settings convkit cannot apply are reported through `warn`.
 */
export function compileFromCheckpoint(model: Model, ckpt: Checkpoint, names: Map<string, string>, source: string, warn: (m: string) => void): void {
  const compileCfg = ckpt.state.compile;
  if (!compileCfg) return;
  const opt = tryCompile(model, compileCfg, source, warn);
  const s = ckpt.state.optimizer;
  if (opt && s && s.className === opt.className) opt.setState({ ...s, slots: renameSlots(ckpt.slots, names) }, model.trainableWeights);
}

function optimizerRecord(model: Model): OptimizerRecord | null {
  const c = getCompiledOrNull(model);
  if (!c) return null;
  const opt = c.optimizer;
  const trainable = model.trainableWeights;
  const state = opt.getState(trainable);
  const vars: OptimizerRecord['vars'] = [
    { shape: [], data: BigInt64Array.of(BigInt(state.iterations)) },
    { shape: [], data: Float32Array.of(opt.learningRate) },
  ];
  const { names, interleaved } = kerasSlotOrder(opt);
  const has = trainable.length > 0 && names.every((n) => trainable.every((v) => state.slots[n]?.[v.name]));
  if (has) {
    const slot = (n: string, i: number): OptimizerRecord['vars'][number] => ({ shape: trainable[i].shape, data: state.slots[n][trainable[i].name] });
    if (interleaved) trainable.forEach((_, i) => names.forEach((n) => vars.push(slot(n, i))));
    else names.forEach((n) => trainable.forEach((_, i) => vars.push(slot(n, i))));
  }
  return { name: opt.className.toLowerCase(), vars };
}

function dateSaved(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

Model.prototype.save = async function (this: Model, path: string): Promise<void> {
  const c = getCompiledOrNull(this);
  const compileConfig = c ? compileToKeras(c.config, c.optimizer) : null;
  if (/\.safetensors$/i.test(path)) {
    const state = {
      model: describeModel(this),
      ...(c ? { optimizer: { className: c.optimizer.className, iterations: c.optimizer.iterations, config: c.optimizer.getConfig() } } : {}),
      ...(compileConfig ? { compile: compileConfig } : {}),
    };
    if (!state.model.config) this.toConfig(); // throws the reason this model has no config
    saveCheckpoint(path, this, state, c ? c.optimizer.getState(this.trainableWeights).slots : {}, 'full');
    return;
  }
  if (!/\.keras$/i.test(path)) throw new Error(`${this.who}.save: argument 'path' expected a name ending in .keras or .safetensors, received '${path}'`);
  const config: JsonObject = { ...this.toConfig(), ...(compileConfig ? { compile_config: compileConfig } : {}) };
  const now = new Date();
  const weights = await encodeKeras3Weights(this, optimizerRecord(this));
  const enc = new TextEncoder();
  const zip = writeZip(
    [
      ['metadata.json', enc.encode(JSON.stringify({ keras_version: KERAS_LAYOUT_VERSION, date_saved: dateSaved(now) }))],
      ['config.json', enc.encode(JSON.stringify(config))],
      ['model.weights.h5', weights],
    ],
    now,
  );
  writeFileAtomic(path, [zip]);
};
