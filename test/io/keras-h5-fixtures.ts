/**
 * Writes Keras weight files with h5wasm, laid out as Keras writes them (shared/KERAS-H5.md), so the tests need
 * no Python and no network. Each writer works from a plain description that a test can edit first (drop a
 * layer, add one, change a shape) to make a file that must be refused.
 */
import { Layer, toSnakeCase } from '../../src/layers/layer.js';
import { Model } from '../../src/models/model.js';
import { Sequential } from '../../src/models/sequential.js';
import { h5wasmReady } from '../../src/io/h5-file.js';
import { Random } from '../../src/tensor/random.js';
import type { Variable } from '../../src/tensor/variable.js';

export interface ArraySpec {
  name: string;
  shape: number[];
  data: Float32Array;
  trainable: boolean;
}

export interface LegacyLayerSpec {
  name: string;
  weights: ArraySpec[];
}

/**
 * How weight names are spelled: 'tf-keras' `conv_dw_1/depthwise_kernel:0` (Keras 2, the applications files),
 * 'keras3' `conv_dw_1/kernel` (Keras 3 legacy .h5: Variable.path, and a DepthwiseConv2D weight is 'kernel'),
 * 'keras1' `block1_conv1_W_1:0` (no slash: the dataset sits in the layer group).
 */
export type NameStyle = 'tf-keras' | 'keras3' | 'keras1';

const toArray = (v: Variable): Float32Array => Float32Array.from(v.data);

function weightName(style: NameStyle, top: Layer, v: Variable, k: number): string {
  const nested = v.name.startsWith(`${top.name}/`) ? v.name : `${top.name}/${v.name}`;
  if (style === 'tf-keras') return `${nested}:0`;
  if (style === 'keras3') return nested.replace(/depthwise_kernel$/, 'kernel');
  return `${top.name}_${'WbXY'[k] ?? `w${k}`}_1:0`;
}

/** Every layer of model.layers in order (weightless ones too), weights in Keras's legacy order. */
export function legacySpec(model: Layer, style: NameStyle = 'tf-keras'): LegacyLayerSpec[] {
  return model.layers.map((layer) => {
    const vars = [...layer.trainableWeights, ...layer.nonTrainableWeights];
    return { name: layer.name, weights: vars.map((v, k) => ({ name: weightName(style, layer, v, k), shape: [...v.shape], data: toArray(v), trainable: v.trainable })) };
  });
}

/**
 * The course's subclassed models hold blocks in a container (`self.blocks = Sequential()`): save_weights
 * writes it as one layer with every block's trainable weights, then every block's non-trainable ones.
 */
export function containerize(spec: LegacyLayerSpec[], first: number, count: number, name = 'sequential'): LegacyLayerSpec[] {
  const run = spec.slice(first, first + count);
  const all = run.flatMap((l) => l.weights.map((w) => ({ ...w, name: `${name}/${w.name}` })));
  const merged = { name, weights: [...all.filter((w) => w.trainable), ...all.filter((w) => !w.trainable)] };
  return [...spec.slice(0, first), merged, ...spec.slice(first + count)];
}

type H5 = Awaited<ReturnType<typeof h5wasmReady>>['api'];
type Group = ReturnType<InstanceType<H5['File']>['create_group']>;

/** Fixed-length byte strings, as h5py stores Python bytes (np.array of b'...'). */
function bytesAttr(g: Group, name: string, values: string[]): void {
  if (values.length === 0) {
    g.create_attribute(name, new Float64Array(0)); // what Keras 2 wrote for an empty list
    return;
  }
  const width = Math.max(1, ...values.map((v) => Buffer.byteLength(v)));
  g.create_attribute(name, values, [values.length], `S${width}`);
}

function ensureGroup(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/').filter(Boolean)) {
    const next = g.get(part);
    g = (next ?? g.create_group(part)) as Group;
  }
  return g;
}

/** The legacy layout: `layer_names`, per-layer `weight_names`, datasets at `<layer>/<weight name>`. */
export async function writeLegacyH5(
  path: string,
  layers: LegacyLayerSpec[],
  opts: { kerasVersion?: string | null; backend?: string; underModelWeights?: boolean } = {},
): Promise<void> {
  const { api } = await h5wasmReady();
  const f = new api.File(path, 'w');
  try {
    const root = (opts.underModelWeights ? f.create_group('model_weights') : f) as Group;
    if (opts.underModelWeights) f.create_attribute('model_config', '{"class_name": "Functional"}');
    bytesAttr(root, 'layer_names', layers.map((l) => l.name));
    if (opts.kerasVersion !== null) root.create_attribute('keras_version', opts.kerasVersion ?? '2.0.6', null, `S${(opts.kerasVersion ?? '2.0.6').length}`);
    root.create_attribute('backend', opts.backend ?? 'tensorflow');
    for (const l of layers) {
      const g = root.create_group(l.name);
      bytesAttr(g, 'weight_names', l.weights.map((w) => w.name));
      for (const w of l.weights) {
        const parts = w.name.split('/');
        ensureGroup(g, parts.slice(0, -1).join('/')).create_dataset({ name: parts[parts.length - 1], data: w.data, shape: w.shape });
      }
    }
  } finally {
    f.close();
  }
}

export interface Keras3Entry {
  /** Group path, e.g. `layers/conv2d_1` or `layers/resnet_block/down_c1`. */
  path: string;
  /** The layer name Keras >= 3.6 stores on `vars`. */
  name: string;
  vars: { shape: number[]; data: Float32Array }[];
}

/**
 * Keras 3 `.weights.h5` entries: Functional/Sequential layers under `layers/<snake class>[_k]` (k per class, in
 * model order), sub-layers of a composite under their attribute names, own variables trainable first.
 */
export function keras3Spec(model: Layer): Keras3Entry[] {
  const out: Keras3Entry[] = [];
  const visit = (layer: Layer, path: string): void => {
    const nested = new Set(layer.layers.flatMap((l) => l.weights));
    const own = layer.weights.filter((v) => !nested.has(v));
    const ordered = [...own.filter((v) => v.trainable), ...own.filter((v) => !v.trainable)];
    out.push({ path, name: layer.name, vars: ordered.map((v) => ({ shape: [...v.shape], data: toArray(v) })) });
    if (layer instanceof Sequential || (layer instanceof Model && layer.inputs.length > 0)) {
      const seen = new Map<string, number>();
      for (const l of layer.layers) {
        const base = toSnakeCase(l.className);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        visit(l, `${path ? `${path}/` : ''}layers/${n === 0 ? base : `${base}_${n}`}`);
      }
    } else {
      for (const [field, value] of Object.entries(layer)) if (value instanceof Layer) visit(value, `${path}/${toSnakeCase(field)}`);
    }
  };
  visit(model, '');
  return out;
}

/**
 * Writes entries as Keras 3 does. `withNames` (Keras >= 3.6): every entry gets a `vars` group with a `name`
 * attribute; without it (Keras 3.0-3.5) only entries holding variables get one. An optimizer group is added
 * too, which a weight loader must ignore.
 */
export async function writeKeras3H5(path: string, entries: Keras3Entry[], opts: { withNames?: boolean } = {}): Promise<void> {
  const { api } = await h5wasmReady();
  const f = new api.File(path, 'w');
  try {
    const root = f as unknown as Group;
    for (const e of entries) {
      if (e.vars.length === 0 && !opts.withNames && e.path !== '') continue;
      const vars = ensureGroup(root, `${e.path}/vars`);
      if (opts.withNames && e.path !== '') vars.create_attribute('name', e.name);
      e.vars.forEach((v, i) => vars.create_dataset({ name: String(i), data: v.data, shape: v.shape }));
    }
    ensureGroup(root, 'optimizer/vars').create_dataset({ name: '0', data: new Float32Array([42]), shape: [] });
  } finally {
    f.close();
  }
}

/**
 * Gives every weight seeded random values that keep activations in range: kernels around +-0.5/sqrt(fan-in),
 * BN statistics away from identity (so folding and loading are really exercised).
 */
export function randomizeWeights(model: Layer, seed: number): void {
  const rng = new Random(seed);
  for (const v of model.weights) {
    const last = v.name.split('/').pop() ?? '';
    const fanIn = v.shape.length > 1 ? v.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    for (let i = 0; i < v.data.length; i++) {
      const u = rng.uniform();
      if (last === 'moving_variance') v.data[i] = 0.5 + u;
      else if (last === 'gamma') v.data[i] = 0.75 + 0.5 * u;
      else if (last === 'moving_mean' || last === 'beta' || last === 'bias') v.data[i] = 0.2 * (u - 0.5);
      else v.data[i] = (2 * u - 1) * Math.sqrt(3 / fanIn);
    }
  }
}
