import { Conv2D, DepthwiseConv2D } from '../../layers/conv.js';
import { Activation, Dense, Dropout, Flatten, ReLU, Reshape } from '../../layers/core.js';
import type { InitializerLike } from '../../layers/initializers.js';
import { Layer, LayerConfig } from '../../layers/layer.js';
import { Add, Concatenate, ZeroPadding2D } from '../../layers/merge.js';
import { BatchNormalization } from '../../layers/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../../layers/pooling.js';
import type { Regularizer } from '../../layers/regularizers.js';
import { SymbolicShape, formatShape } from '../../tensor/shape.js';
import {
  JsonObject, bad, initializerConfig, isObject, readActivation, readBool, readInitializer, readNumber, readPair, readRegularizer, regularizerConfig,
} from './values.js';

/**
 * Keras's built-in layers, both ways: the arguments of each layer's Keras config (snake_case, Keras 3's key set,
 * which is what the real Keras 3 files hold) from a convkit layer, and a convkit layer from a Keras 2 or 3
 * config. name, trainable and dtype are handled by the caller (model-config.ts).
 */

export interface ReadContext {
  /** Prefix of every error: "Conv2D 'conv2d' in 'model.h5'". */
  where: string;
  /** The model was written channels_first: shapes and axes are converted to convkit's channels-last. */
  channelsFirst: boolean;
  /** The layer's input shape(s) in convkit's NHWC, when known (Sequential and functional models know it). */
  inputShape: SymbolicShape | SymbolicShape[] | null;
  /** Something convkit does not do that the model still runs without (constraints, activity regularizers). */
  warn: (message: string) => void;
}

export interface LayerCodec {
  module: string;
  toKeras(layer: Layer): JsonObject;
  fromKeras(cfg: JsonObject, base: LayerConfig, ctx: ReadContext): Layer;
}

const cfgOf = (layer: Layer): Record<string, unknown> => layer.getConfig();

function readDataFormat(cfg: JsonObject, ctx: ReadContext): void {
  const f = cfg.data_format;
  if (f === undefined || f === null || f === 'channels_last') return;
  if (f !== 'channels_first') bad(ctx.where, 'data_format', "'channels_last' or 'channels_first'", f);
}

/** Constraints and activity regularizers shape training only; the model runs without them, so load and say so. */
function noteUnsupported(cfg: JsonObject, keys: string[], ctx: ReadContext): void {
  for (const k of keys) if (cfg[k] !== null && cfg[k] !== undefined) ctx.warn(`${ctx.where}: '${k}' is not applied by convkit (the model loads and predicts as saved; training ignores it)`);
}

const windowArgs = (cfg: JsonObject, ctx: ReadContext) => ({
  kernelSize: readPair(cfg.kernel_size, ctx.where, 'kernel_size'),
  strides: readPair(cfg.strides ?? 1, ctx.where, 'strides'),
  padding: readPadding(cfg.padding, ctx),
  dilationRate: readPair(cfg.dilation_rate ?? 1, ctx.where, 'dilation_rate'),
  activation: readActivation(cfg.activation, ctx.where),
  useBias: readBool(cfg.use_bias, ctx.where, 'use_bias', true),
  biasInitializer: readInitializer(cfg.bias_initializer, ctx.where, 'bias_initializer'),
  biasRegularizer: readRegularizer(cfg.bias_regularizer, ctx.where, 'bias_regularizer'),
});

function readPadding(v: unknown, ctx: ReadContext): 'valid' | 'same' {
  const p = v ?? 'valid';
  if (p !== 'valid' && p !== 'same') bad(ctx.where, 'padding', "'valid' or 'same' (Keras's 'causal' is for 1-D layers)", v);
  return p;
}

const single = (ctx: ReadContext): SymbolicShape | null => (ctx.inputShape && !Array.isArray(ctx.inputShape[0]) ? (ctx.inputShape as SymbolicShape) : null);

/**
 * A channel axis from the file (an int, or a one-entry list as Keras 2 writes BatchNormalization's) to -1, or
 * an error naming what the axis is: convkit's channel-wise layers work on the last axis only. In a
 * channels_first model the file's axis 1 is the channels.
 */
function readChannelAxis(v: unknown, ctx: ReadContext, arg: string, fallback: number): -1 {
  const raw = v ?? fallback;
  const axis = typeof raw === 'number' ? raw : Array.isArray(raw) && raw.length === 1 ? raw[0] : undefined;
  if (!Number.isInteger(axis)) bad(ctx.where, arg, 'one integer axis, or a list of one', raw);
  const s = single(ctx) ?? (Array.isArray(ctx.inputShape?.[0]) ? (ctx.inputShape as SymbolicShape[])[0] : null);
  if (!s) {
    if (axis !== -1) bad(ctx.where, arg, '-1 (the channel axis) when the input shape is unknown', raw);
    return -1;
  }
  const rank = s.length;
  const a = (axis as number) < 0 ? (axis as number) + rank : (axis as number);
  const channel = ctx.channelsFirst && rank > 2 ? 1 : rank - 1;
  if (a !== channel) {
    const names = ctx.channelsFirst && rank === 4 ? ['batch', 'channel', 'height', 'width'] : rank === 4 ? ['batch', 'height', 'width', 'channel'] : [];
    const what = names[a] ? `the ${names[a]} axis` : `axis ${a}`;
    bad(ctx.where, arg, `the channel axis (${channel}${ctx.channelsFirst ? ' in this channels_first model' : ''}): convkit normalises and joins over channels only`, `${JSON.stringify(raw)}, ${what} of the input ${formatShape(s)}`);
  }
  return -1;
}

/** Conv2D's and DepthwiseConv2D's Keras 3 arguments, in Keras's order; `w` names the kernel ('kernel' or 'depthwise'). */
function windowToKeras(layer: Layer, w: 'kernel' | 'depthwise', first: JsonObject, afterPadding: JsonObject): JsonObject {
  const c = cfgOf(layer);
  return {
    ...first,
    kernel_size: c.kernelSize as number[],
    strides: c.strides as number[],
    padding: c.padding as string,
    ...afterPadding,
    data_format: 'channels_last',
    dilation_rate: c.dilationRate as number[],
    ...(w === 'kernel' ? { groups: 1 } : {}),
    activation: c.activation as string,
    use_bias: c.useBias as boolean,
    ...weightArgsToKeras(c, w, true),
  };
}

/** A kernel's and bias's initializers, regularizers and (never set) constraints, as Conv2D, DepthwiseConv2D and Dense write them. */
function weightArgsToKeras(c: Record<string, unknown>, w: 'kernel' | 'depthwise', activityRegularizer: boolean): JsonObject {
  return {
    [`${w}_initializer`]: initializerConfig(c[`${w}Initializer`] as InitializerLike, 'glorotUniform'),
    bias_initializer: initializerConfig(c.biasInitializer as InitializerLike, 'zeros'),
    [`${w}_regularizer`]: regularizerConfig(c[`${w}Regularizer`] as Regularizer | null),
    bias_regularizer: regularizerConfig(c.biasRegularizer as Regularizer | null),
    ...(activityRegularizer ? { activity_regularizer: null } : {}),
    [`${w}_constraint`]: null,
    bias_constraint: null,
  };
}

const conv: LayerCodec = {
  module: 'keras.layers',
  toKeras: (layer) => windowToKeras(layer, 'kernel', { filters: cfgOf(layer).filters as number }, {}),
  fromKeras(cfg, base, ctx) {
    readDataFormat(cfg, ctx);
    if (cfg.groups !== undefined && cfg.groups !== 1) bad(ctx.where, 'groups', '1 (grouped convolutions are not supported)', cfg.groups);
    noteUnsupported(cfg, ['activity_regularizer', 'kernel_constraint', 'bias_constraint'], ctx);
    return new Conv2D({
      ...base,
      ...windowArgs(cfg, ctx),
      filters: readNumber(cfg.filters, ctx.where, 'filters', NaN),
      kernelInitializer: readInitializer(cfg.kernel_initializer, ctx.where, 'kernel_initializer'),
      kernelRegularizer: readRegularizer(cfg.kernel_regularizer, ctx.where, 'kernel_regularizer'),
    });
  },
};

const depthwise: LayerCodec = {
  module: 'keras.layers',
  toKeras: (layer) => windowToKeras(layer, 'depthwise', {}, { depth_multiplier: cfgOf(layer).depthMultiplier as number }),
  fromKeras(cfg, base, ctx) {
    readDataFormat(cfg, ctx);
    noteUnsupported(cfg, ['activity_regularizer', 'depthwise_constraint', 'bias_constraint'], ctx);
    return new DepthwiseConv2D({
      ...base,
      ...windowArgs(cfg, ctx),
      depthMultiplier: readNumber(cfg.depth_multiplier, ctx.where, 'depth_multiplier', 1),
      depthwiseInitializer: readInitializer(cfg.depthwise_initializer, ctx.where, 'depthwise_initializer'),
      depthwiseRegularizer: readRegularizer(cfg.depthwise_regularizer, ctx.where, 'depthwise_regularizer'),
    });
  },
};

const dense: LayerCodec = {
  module: 'keras.layers',
  toKeras(layer) {
    const c = cfgOf(layer);
    return {
      units: c.units as number,
      activation: c.activation as string,
      use_bias: c.useBias as boolean,
      // Keras 3's Dense writes no activity_regularizer (the real files' configs show it).
      ...weightArgsToKeras(c, 'kernel', false),
    };
  },
  fromKeras(cfg, base, ctx) {
    const s = single(ctx);
    if (ctx.channelsFirst && s && s.length > 2) bad(ctx.where, 'input', 'a rank-2 input in a channels_first model (a Dense over an image axis cannot be converted to channels-last)', formatShape(s));
    noteUnsupported(cfg, ['activity_regularizer', 'kernel_constraint', 'bias_constraint'], ctx);
    return new Dense({
      ...base,
      units: readNumber(cfg.units, ctx.where, 'units', NaN),
      activation: readActivation(cfg.activation, ctx.where),
      useBias: readBool(cfg.use_bias, ctx.where, 'use_bias', true),
      kernelInitializer: readInitializer(cfg.kernel_initializer, ctx.where, 'kernel_initializer'),
      biasInitializer: readInitializer(cfg.bias_initializer, ctx.where, 'bias_initializer'),
      kernelRegularizer: readRegularizer(cfg.kernel_regularizer, ctx.where, 'kernel_regularizer'),
      biasRegularizer: readRegularizer(cfg.bias_regularizer, ctx.where, 'bias_regularizer'),
    });
  },
};

const batchNorm: LayerCodec = {
  module: 'keras.layers',
  toKeras(layer) {
    const c = cfgOf(layer);
    return {
      axis: -1,
      momentum: c.momentum as number,
      epsilon: c.epsilon as number,
      center: c.center as boolean,
      scale: c.scale as boolean,
      beta_initializer: initializerConfig(c.betaInitializer as InitializerLike, 'zeros'),
      gamma_initializer: initializerConfig(c.gammaInitializer as InitializerLike, 'ones'),
      moving_mean_initializer: initializerConfig(c.movingMeanInitializer as InitializerLike, 'zeros'),
      moving_variance_initializer: initializerConfig(c.movingVarianceInitializer as InitializerLike, 'ones'),
      beta_regularizer: regularizerConfig(c.betaRegularizer as Regularizer | null),
      gamma_regularizer: regularizerConfig(c.gammaRegularizer as Regularizer | null),
      beta_constraint: null,
      gamma_constraint: null,
      synchronized: false,
    };
  },
  fromKeras(cfg, base, ctx) {
    noteUnsupported(cfg, ['beta_constraint', 'gamma_constraint'], ctx);
    if (cfg.renorm === true) bad(ctx.where, 'renorm', 'false (batch renormalization is not supported)', cfg.renorm);
    const w = ctx.where;
    return new BatchNormalization({
      ...base,
      axis: readChannelAxis(cfg.axis, ctx, 'axis', -1),
      momentum: readNumber(cfg.momentum, w, 'momentum', 0.99),
      epsilon: readNumber(cfg.epsilon, w, 'epsilon', 1e-3),
      center: readBool(cfg.center, w, 'center', true),
      scale: readBool(cfg.scale, w, 'scale', true),
      betaInitializer: readInitializer(cfg.beta_initializer, w, 'beta_initializer'),
      gammaInitializer: readInitializer(cfg.gamma_initializer, w, 'gamma_initializer'),
      movingMeanInitializer: readInitializer(cfg.moving_mean_initializer, w, 'moving_mean_initializer'),
      movingVarianceInitializer: readInitializer(cfg.moving_variance_initializer, w, 'moving_variance_initializer'),
      betaRegularizer: readRegularizer(cfg.beta_regularizer, w, 'beta_regularizer'),
      gammaRegularizer: readRegularizer(cfg.gamma_regularizer, w, 'gamma_regularizer'),
    });
  },
};

function pooling(Cls: typeof MaxPooling2D | typeof AveragePooling2D): LayerCodec {
  return {
    module: 'keras.layers',
    toKeras(layer) {
      const c = cfgOf(layer);
      return { pool_size: c.poolSize as number[], padding: c.padding as string, strides: c.strides as number[], data_format: 'channels_last' };
    },
    fromKeras(cfg, base, ctx) {
      readDataFormat(cfg, ctx);
      const poolSize = readPair(cfg.pool_size ?? 2, ctx.where, 'pool_size');
      return new Cls({ ...base, poolSize, strides: cfg.strides === null || cfg.strides === undefined ? poolSize : readPair(cfg.strides, ctx.where, 'strides'), padding: readPadding(cfg.padding, ctx) });
    },
  };
}

function globalPooling(Cls: typeof GlobalAveragePooling2D | typeof GlobalMaxPooling2D): LayerCodec {
  return {
    module: 'keras.layers',
    toKeras: (layer) => ({ data_format: 'channels_last', keepdims: cfgOf(layer).keepdims as boolean }),
    fromKeras(cfg, base, ctx) {
      readDataFormat(cfg, ctx);
      const keepdims = readBool(cfg.keepdims, ctx.where, 'keepdims', false);
      if (keepdims && ctx.channelsFirst) bad(ctx.where, 'keepdims', 'false in a channels_first model', keepdims);
      return new Cls({ ...base, keepdims });
    },
  };
}

/** Layers without arguments beyond a few plain ones. */
const simple = (make: (cfg: JsonObject, base: LayerConfig, ctx: ReadContext) => Layer, toKeras: (layer: Layer) => JsonObject = () => ({})): LayerCodec => ({
  module: 'keras.layers',
  toKeras,
  fromKeras: make,
});

export const BUILTIN_CODECS: Record<string, LayerCodec> = {
  Conv2D: conv,
  DepthwiseConv2D: depthwise,
  Dense: dense,
  BatchNormalization: batchNorm,
  MaxPooling2D: pooling(MaxPooling2D),
  AveragePooling2D: pooling(AveragePooling2D),
  GlobalAveragePooling2D: globalPooling(GlobalAveragePooling2D),
  GlobalMaxPooling2D: globalPooling(GlobalMaxPooling2D),
  Activation: simple(
    (cfg, base, ctx) => new Activation({ ...base, activation: readActivation(cfg.activation, ctx.where) }),
    (layer) => ({ activation: cfgOf(layer).activation as string }),
  ),
  ReLU: simple(
    (cfg, base, ctx) => {
      for (const k of ['negative_slope', 'threshold'] as const) if (readNumber(cfg[k], ctx.where, k, 0) !== 0) bad(ctx.where, k, '0 (leaky or thresholded ReLU is not supported)', cfg[k]);
      return new ReLU({ ...base, maxValue: cfg.max_value === null || cfg.max_value === undefined ? null : readNumber(cfg.max_value, ctx.where, 'max_value', 6) });
    },
    (layer) => ({ max_value: cfgOf(layer).maxValue as number | null, negative_slope: 0, threshold: 0 }),
  ),
  Dropout: simple(
    (cfg, base, ctx) => {
      if (cfg.noise_shape !== null && cfg.noise_shape !== undefined) ctx.warn(`${ctx.where}: 'noise_shape' is not applied by convkit (dropout is elementwise in training; inference is unaffected)`);
      return new Dropout({ ...base, rate: readNumber(cfg.rate, ctx.where, 'rate', NaN) });
    },
    (layer) => ({ rate: cfgOf(layer).rate as number, seed: null, noise_shape: null }),
  ),
  // Keras's Flatten with channels_first first moves channels last, so its order is channels-last order.
  Flatten: simple((cfg, base, ctx) => (readDataFormat(cfg, ctx), new Flatten(base)), () => ({ data_format: 'channels_last' })),
  Reshape: simple(
    (cfg, base, ctx) => {
      const t = cfg.target_shape;
      if (ctx.channelsFirst && Array.isArray(t) && t.length > 1) bad(ctx.where, 'target_shape', 'a flat shape in a channels_first model', t);
      return new Reshape({ ...base, targetShape: t as number[] });
    },
    (layer) => ({ target_shape: [...(cfgOf(layer).targetShape as number[])] }),
  ),
  ZeroPadding2D: simple(
    (cfg, base, ctx) => {
      readDataFormat(cfg, ctx);
      return new ZeroPadding2D({ ...base, padding: cfg.padding as never });
    },
    (layer) => ({ padding: (cfgOf(layer).padding as number[][]).map((p) => [...p]), data_format: 'channels_last' }),
  ),
  Concatenate: simple(
    (cfg, base, ctx) => new Concatenate({ ...base, axis: readChannelAxis(cfg.axis, ctx, 'axis', -1) }),
    () => ({ axis: -1 }),
  ),
  Add: simple((_cfg, base) => new Add(base)),
};

/** Other names Keras files use for the same classes. */
export const ALIASES: Record<string, string> = {
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D',
  GlobalMaxPool2D: 'GlobalMaxPooling2D',
  BatchNormalizationV1: 'BatchNormalization',
  BatchNormalizationV2: 'BatchNormalization',
};

