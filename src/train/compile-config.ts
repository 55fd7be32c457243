import type { JsonObject } from '../models/keras-config/values.js';
import { isObject } from '../models/keras-config/values.js';
import type { CompileConfig } from './fit.js';
import type { LossName } from './losses.js';
import { Adam, Optimizer, RMSprop, SGD } from './optimizers.js';

/**
 * Keras's compile settings, both ways: Keras 3's `compile_config` (config.json) and Keras 2's
 * `training_config` (an .h5 root attribute) into a convkit CompileConfig, and a compiled model's settings into
 * Keras 3's form. What convkit cannot compile (another optimizer, another loss) is reported, not guessed.
 */

const LOSSES: Record<string, LossName> = {
  categorical_crossentropy: 'categorical_crossentropy',
  sparse_categorical_crossentropy: 'sparse_categorical_crossentropy',
  mean_squared_error: 'mean_squared_error',
  mse: 'mean_squared_error',
};

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function readLoss(v: unknown): CompileConfig['loss'] {
  // 'categorical_crossentropy' | { class_name: 'function', config: 'categorical_crossentropy' } (Keras 2.14)
  // | { class_name: 'CategoricalCrossentropy', config: { from_logits } } (Keras 3 loss objects).
  let name: unknown = v;
  let fromLogits = false;
  if (isObject(v)) {
    name = typeof v.config === 'string' ? v.config : v.class_name;
    if (isObject(v.config) && v.config.from_logits === true) fromLogits = true;
  }
  const key = typeof name === 'string' ? LOSSES[snake(name)] : undefined;
  if (!key) throw new Error(`loss ${JSON.stringify(v)?.slice(0, 80)} (convkit has ${Object.keys(LOSSES).join(', ')})`);
  return fromLogits ? { name: key, fromLogits } : key;
}

function readMetrics(v: unknown): string[] {
  // ['accuracy'] | [['accuracy']] (per output) | [{ class_name: 'MeanMetricWrapper', config: { name: 'accuracy' } }].
  const flat = (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]).flat(3);
  const out: string[] = [];
  for (const m of flat) {
    const name = typeof m === 'string' ? m : isObject(m) && isObject(m.config) && typeof m.config.name === 'string' ? m.config.name : isObject(m) ? m.class_name : m;
    const n = typeof name === 'string' ? snake(name) : '';
    if (['accuracy', 'acc', 'categorical_accuracy', 'sparse_categorical_accuracy'].includes(n)) out.push(n);
    else throw new Error(`metric ${JSON.stringify(m)?.slice(0, 80)} (convkit has accuracy)`);
  }
  return out;
}

function readOptimizer(v: unknown): Optimizer {
  const className = typeof v === 'string' ? v : isObject(v) && typeof v.class_name === 'string' ? v.class_name : '';
  const c = isObject(v) && isObject(v.config) ? v.config : {};
  const num = (k: string): number | undefined => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
  const lr = num('learning_rate') ?? num('lr');
  // Keras 2's legacy decay and Keras 3's clipping, weight decay and EMA change the update rule: refuse them.
  for (const k of ['decay', 'weight_decay', 'clipnorm', 'global_clipnorm', 'clipvalue']) {
    if (num(k)) throw new Error(`optimizer ${className} with ${k} ${num(k)} (not supported)`);
  }
  if (c.use_ema === true || c.amsgrad === true || c.centered === true) throw new Error(`optimizer ${className} with ${c.use_ema ? 'use_ema' : c.amsgrad ? 'amsgrad' : 'centered'} (not supported)`);
  switch (className.toLowerCase()) {
    case 'adam':
      return new Adam({ learningRate: lr, beta1: num('beta_1'), beta2: num('beta_2'), epsilon: num('epsilon') });
    case 'sgd':
      return new SGD({ learningRate: lr, momentum: num('momentum'), nesterov: c.nesterov === true });
    case 'rmsprop':
      return new RMSprop({ learningRate: lr, rho: num('rho'), momentum: num('momentum'), epsilon: num('epsilon') });
    default:
      throw new Error(`optimizer ${JSON.stringify(className)} (convkit has Adam, SGD, RMSprop)`);
  }
}

/** A convkit CompileConfig from a Keras file's compile_config or training_config; throws naming what does not fit. */
export function compileFromKeras(cfg: Record<string, unknown>): CompileConfig {
  const optimizer = cfg.optimizer_config ?? cfg.optimizer ?? 'adam';
  if (cfg.loss === null || cfg.loss === undefined) throw new Error('no loss');
  if (isObject(cfg.loss) && !('class_name' in cfg.loss)) throw new Error('a loss per output (convkit models have one output)');
  return { optimizer: readOptimizer(optimizer), loss: readLoss(cfg.loss), metrics: readMetrics(cfg.metrics) };
}

/** Keras 3's compile_config for a compiled convkit model, or null when its loss is a function of the user's. */
export function compileToKeras(config: CompileConfig, optimizer: Optimizer): JsonObject | null {
  const loss = typeof config.loss === 'string' ? config.loss : typeof config.loss === 'function' ? null : config.loss.fromLogits ? null : config.loss.name;
  if (!loss) return null;
  const c = optimizer.getConfig();
  const common = { learning_rate: optimizer.learningRate, weight_decay: null, clipnorm: null, global_clipnorm: null, clipvalue: null, use_ema: false, ema_momentum: 0.99, ema_overwrite_frequency: null, loss_scale_factor: null, gradient_accumulation_steps: null };
  const specific: JsonObject =
    optimizer instanceof Adam ? { beta_1: c.beta1 as number, beta_2: c.beta2 as number, epsilon: c.epsilon as number, amsgrad: false }
    : optimizer instanceof SGD ? { momentum: c.momentum as number, nesterov: c.nesterov as boolean }
    : optimizer instanceof RMSprop ? { rho: c.rho as number, momentum: c.momentum as number, epsilon: c.epsilon as number, centered: false }
    : {};
  const className = optimizer.className;
  return {
    optimizer: { module: 'keras.optimizers', class_name: className, config: { name: className.toLowerCase(), ...common, ...specific }, registered_name: null },
    loss,
    loss_weights: null,
    metrics: [...(config.metrics ?? [])],
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}
