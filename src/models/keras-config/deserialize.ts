import { Input, InputLayer } from '../../layers/input.js';
import { Layer, LayerConfig, withWeightBudget } from '../../layers/layer.js';
import { SymbolicTensor } from '../../layers/symbolic.js';
import { SymbolicShape } from '../../tensor/shape.js';
import { Model } from '../model.js';
import { Sequential } from '../sequential.js';
import { ALIASES, BUILTIN_CODECS, ReadContext } from './builtins.js';
import { lookupRegistered, registeredNames } from './registry.js';
import { ConfigError, JsonObject, bad, isObject, readBatchShape, readBool, readDtype, readString } from './values.js';

/**
 * A model from a Keras model config, either generation of the schema:
 *   Keras 2: { class_name: 'Sequential', config: [layers] | { name, layers } } with `batch_input_shape` on the first
 *            layer or an InputLayer entry; { class_name: 'Model', config: { layers (name, inbound_nodes
 *            [[[name, node, tensor, kwargs]]]), input_layers, output_layers } }.
 *   Keras 3: `batch_shape`, DTypePolicy dtypes, module / registered_name / build_config, Functional models whose
 *            inbound nodes are { args: [__keras_tensor__ { keras_history: [name, node, tensor] }], kwargs }.
 * A channels_first model is converted to convkit's channels-last (input shape permuted, channel axes mapped;
 * what cannot be converted is refused by name). The model is built completely before it is returned: an
 * unknown layer class or a bad argument throws, naming the layer, its class and the source, and no model is
 * handed out half-built.
 */
export interface FromConfigOptions {
  /** Names the source in errors, e.g. the file path. */
  source?: string;
  /** Receives what convkit loads but does not apply (constraints, activity regularizers); default console.warn. */
  onWarning?: (message: string) => void;
  /** Most weight values the model may have (a file's weights bound it); default 2^30 (4 GiB of float32). */
  maxWeights?: number;
}

const MAX_LAYERS = 100_000;
const MAX_DEPTH = 64;

export function modelFromConfig(config: unknown, opts: FromConfigOptions = {}): Model {
  const source = opts.source ?? 'model config';
  const json = typeof config === 'string' ? parseJson(config, source) : config;
  const warnings = new Set<string>();
  const reader = new Reader(source, /"channels_first"/.test(JSON.stringify(json) ?? ''), (m) => warnings.add(m));
  const limit = opts.maxWeights ?? 2 ** 30;
  const model = withWeightBudget(limit, opts.maxWeights ? `the weights ${source} holds` : 'modelFromConfig allows 2^30', () => reader.model(json, 0));
  const warn = opts.onWarning ?? ((m: string) => console.warn(`convkit: ${m}`));
  for (const w of warnings) warn(w);
  return model;
}

/** JSON.parse with a depth bound checked first, so a hostile file cannot exhaust the stack. */
export function parseJson(text: string, source: string): unknown {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++;
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 || ch === 91) max = Math.max(max, ++depth);
    else if (ch === 125 || ch === 93) depth--;
  }
  if (max > 256) throw new ConfigError(`${source}: the model config nests ${max} levels deep (at most 256 expected); the file is corrupt or hostile`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: the model config is not valid JSON (${(e as Error).message})`);
  }
}

class Reader {
  private layerCount = 0;

  constructor(
    readonly source: string,
    readonly channelsFirst: boolean,
    readonly warn: (m: string) => void,
  ) {}

  model(json: unknown, depth: number): Model {
    if (depth > MAX_DEPTH) throw new ConfigError(`${this.source}: models nested more than ${MAX_DEPTH} deep`);
    if (!isObject(json) || typeof json.class_name !== 'string') bad(this.source, 'config', 'a model config { class_name, config }', json);
    const cls = json.class_name as string;
    if (cls === 'Sequential') return this.sequential(json.config, depth);
    if (cls === 'Functional' || cls === 'Model') return this.functional(json.config, depth);
    const layer = this.layer(json, null, depth);
    if (!(layer instanceof Model)) bad(this.source, 'class_name', "a model ('Sequential', 'Functional', 'Model' or a registered model class)", cls);
    return layer;
  }

  private ctx(className: string, name: string, inputShape: SymbolicShape | SymbolicShape[] | null): ReadContext {
    return { where: `${className} '${name}' in ${this.source}`, channelsFirst: this.channelsFirst, inputShape, warn: this.warn };
  }

  /** A Keras batch shape in convkit's layout: [null, C, H, W] becomes [null, H, W, C] in a channels_first model. */
  private batchShape(v: unknown, where: string, arg: string): SymbolicShape {
    const s = readBatchShape(v, where, arg);
    return this.channelsFirst && s.length === 4 ? [s[0], s[2], s[3], s[1]] : s;
  }

  /** One layer entry (a nested model included), built for `inputShape` when it is known. */
  layer(entry: unknown, inputShape: SymbolicShape | SymbolicShape[] | null, depth: number, allowInputShape = false): Layer {
    if (++this.layerCount > MAX_LAYERS) throw new ConfigError(`${this.source}: more than ${MAX_LAYERS} layers`);
    if (!isObject(entry) || typeof entry.class_name !== 'string') return bad(this.source, 'layers', 'layer entries { class_name, config }', entry);
    const className = entry.class_name;
    if (['Sequential', 'Functional', 'Model'].includes(className)) return this.model(entry, depth + 1);
    const cfg = entry.config;
    if (!isObject(cfg)) return bad(`${className} in ${this.source}`, 'config', 'an object', cfg);
    const name = readString(cfg.name ?? entry.name, `${className} in ${this.source}`, 'name');
    const ctx = this.ctx(className, name, inputShape);
    readDtype(cfg.dtype, ctx.where);
    const base: LayerConfig = { name, trainable: readBool(cfg.trainable, ctx.where, 'trainable', true) };
    if (allowInputShape && cfg.batch_input_shape !== undefined && cfg.batch_input_shape !== null) {
      base.inputShape = this.batchShape(cfg.batch_input_shape, ctx.where, 'batch_input_shape').slice(1) as number[];
    }
    const custom = lookupRegistered(entry.registered_name, className);
    if (custom) {
      try {
        return custom.fromConfig({ ...cfg, name, trainable: base.trainable });
      } catch (e) {
        throw new ConfigError(`${ctx.where}: the registered class ${custom.registeredName} could not be rebuilt from its config: ${(e as Error).message}`);
      }
    }
    const codec = BUILTIN_CODECS[ALIASES[className] ?? className];
    if (!codec) {
      const known = [...Object.keys(BUILTIN_CODECS), 'InputLayer', 'Sequential', 'Functional', ...registeredNames()].join(', ');
      throw new ConfigError(
        `${ctx.where}: layer class '${className}' is not supported by convkit (supported: ${known}); ` +
          `a class of your own can be registered with registerSerializable(Class, { package })`,
      );
    }
    try {
      return codec.fromKeras(cfg, base, ctx);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      // A layer constructor's own check ("Conv2D 'c1': argument 'filters' expected ..."): add the source.
      throw new ConfigError(`${(e as Error).message} (in ${this.source})`);
    }
  }

  private inputLayer(entry: JsonObject, fallbackName: string): SymbolicTensor {
    const cfg = isObject(entry.config) ? entry.config : {};
    const name = readString(cfg.name ?? entry.name ?? fallbackName, `InputLayer in ${this.source}`, 'name');
    const where = `InputLayer '${name}' in ${this.source}`;
    if (cfg.sparse === true || cfg.ragged === true) bad(where, cfg.sparse === true ? 'sparse' : 'ragged', 'false (dense inputs only)', true);
    const shape = this.batchShape(cfg.batch_shape ?? cfg.batch_input_shape, where, cfg.batch_shape !== undefined ? 'batch_shape' : 'batch_input_shape');
    return Input({ shape: shape.slice(1) as number[], name });
  }

  private sequential(cfg: unknown, depth: number): Sequential {
    const list = Array.isArray(cfg) ? cfg : isObject(cfg) && Array.isArray(cfg.layers) ? cfg.layers : bad(this.source, 'Sequential config', 'a list of layers or { name, layers }', cfg);
    const name = isObject(cfg) && typeof cfg.name === 'string' ? cfg.name : 'sequential';
    const model = new Sequential([], { name, trainable: isObject(cfg) ? readBool(cfg.trainable, `Sequential '${name}' in ${this.source}`, 'trainable', true) : true });
    let shape: SymbolicShape | null = null;
    list.forEach((entry, i) => {
      if (isObject(entry) && entry.class_name === 'InputLayer') {
        if (i !== 0) bad(`Sequential '${name}' in ${this.source}`, 'layers', 'an InputLayer only first', `InputLayer at position ${i}`);
        const t = this.inputLayer(entry, `${name}_input`);
        model.add(t);
        shape = t.shape;
        return;
      }
      // Only the first layer's batch_input_shape counts: Keras 2 files can carry stale ones further down.
      const layer = this.layer(entry, shape, depth, i === 0);
      model.add(layer);
      shape = model.declaredInputShape ? layer.lastOutputShape ?? null : null;
    });
    if (!model.declaredInputShape && isObject(cfg) && cfg.build_input_shape) model.build(this.batchShape(cfg.build_input_shape, `Sequential '${name}' in ${this.source}`, 'build_input_shape'));
    return model;
  }

  /**
   * Keras's functional reconstruction: layers are made when their first call's inputs exist (so each knows its
   * input shape), and each inbound node is applied in turn until every node has run.
   */
  private functional(cfg: unknown, depth: number): Model {
    if (!isObject(cfg) || !Array.isArray(cfg.layers)) return bad(this.source, 'Functional config', '{ name, layers, input_layers, output_layers }', cfg);
    const name = typeof cfg.name === 'string' ? cfg.name : 'model';
    const where = `Model '${name}' in ${this.source}`;
    const tensors = new Map<string, SymbolicTensor>();
    const key = (layer: string, node: number): string => `${layer}#${node}`;
    type Pending = { entry: JsonObject; name: string; nodes: Ref[][]; done: number; layer: Layer | null };
    const pending: Pending[] = [];
    const names = new Set<string>();
    for (const entry of cfg.layers) {
      if (!isObject(entry)) bad(where, 'layers', 'layer entries', entry);
      const layerName = readString(entry.name ?? (isObject(entry.config) ? entry.config.name : undefined), where, 'layers[].name');
      if (names.has(layerName)) bad(where, 'layers', 'unique layer names', layerName);
      names.add(layerName);
      if (entry.class_name === 'InputLayer') tensors.set(key(layerName, 0), this.inputLayer(entry, layerName));
      else pending.push({ entry, name: layerName, nodes: readInboundNodes(entry.inbound_nodes, `${String(entry.class_name)} '${layerName}' in ${this.source}`), done: 0, layer: null });
    }
    let progress = true;
    while (progress) {
      progress = false;
      for (const p of pending) {
        while (p.done < p.nodes.length) {
          const refs = p.nodes[p.done];
          const inputs = refs.map((r) => tensors.get(key(r[0], r[1])));
          if (inputs.some((t) => !t)) break;
          const xs = inputs as SymbolicTensor[];
          p.layer ??= this.layer(p.entry, xs.length === 1 ? xs[0].shape : xs.map((t) => t.shape), depth);
          const y = p.layer.apply(xs.length === 1 ? xs[0] : xs);
          tensors.set(key(p.name, p.done), y);
          p.done++;
          progress = true;
        }
      }
    }
    const stuck = pending.find((p) => p.done < p.nodes.length);
    if (stuck) {
      const missing = stuck.nodes[stuck.done].filter((r) => !tensors.has(key(r[0], r[1]))).map((r) => `${r[0]}[${r[1]}]`);
      bad(where, `layer '${stuck.name}' inbound_nodes`, 'inputs produced by layers of the model', `${missing.join(', ')}, which no layer produces (or a cycle)`);
    }
    const endpoints = (v: unknown, arg: string): SymbolicTensor[] => {
      const refs = readRefList(v, where, arg);
      return refs.map((r) => tensors.get(key(r[0], r[1])) ?? bad(where, arg, 'layers of the model', `${r[0]}[${r[1]}]`));
    };
    const inputs = endpoints(cfg.input_layers, 'input_layers');
    const outputs = endpoints(cfg.output_layers, 'output_layers');
    for (const t of inputs) if (!(t.node.layer instanceof InputLayer)) bad(where, 'input_layers', 'InputLayer names', t.node.layer.name);
    return new Model({ inputs: inputs.length === 1 ? inputs[0] : inputs, outputs: outputs.length === 1 ? outputs[0] : outputs, name });
  }
}

/** [layer name, node index]: one input of a layer call. */
type Ref = [string, number];

function readRef(v: unknown, where: string, arg: string): Ref {
  // Keras 2: [name, node, tensor, kwargs?]; Keras 3: { class_name: '__keras_tensor__', config: { keras_history } }.
  const h = isObject(v) && isObject(v.config) ? v.config.keras_history : v;
  if (!Array.isArray(h) || h.length < 3 || typeof h[0] !== 'string' || !Number.isInteger(h[1]) || (h[1] as number) < 0) {
    return bad(where, arg, 'a tensor reference [layer name, node index, tensor index]', v);
  }
  if (h[2] !== 0) bad(where, arg, 'tensor index 0 (convkit layers have one output)', h[2]);
  return [h[0], h[1] as number];
}

function readInboundNodes(v: unknown, where: string): Ref[][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return bad(where, 'inbound_nodes', 'a list of layer calls', v);
  return v.map((node): Ref[] => {
    if (isObject(node)) {
      // Keras 3: the call's first argument is a tensor or a list of them.
      const args = node.args;
      if (!Array.isArray(args) || args.length < 1) return bad(where, 'inbound_nodes[].args', 'the call arguments', node);
      const first = args[0];
      const list = Array.isArray(first) ? first : [first];
      return list.map((t) => readRef(t, where, 'inbound_nodes'));
    }
    if (!Array.isArray(node) || node.length === 0) return bad(where, 'inbound_nodes', 'lists of tensor references', node);
    return node.map((t) => readRef(t, where, 'inbound_nodes'));
  });
}

/** input_layers / output_layers: [[name, node, tensor], ...] or, for one, [name, node, tensor]. */
function readRefList(v: unknown, where: string, arg: string): Ref[] {
  if (!Array.isArray(v) || v.length === 0) return bad(where, arg, 'a list of [layer name, node index, tensor index]', v);
  if (typeof v[0] === 'string') return [readRef(v, where, arg)];
  return v.map((r) => readRef(r, where, arg));
}
