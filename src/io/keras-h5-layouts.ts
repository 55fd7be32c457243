import { H5Array, H5Reader } from './h5-file.js';

/**
 * The two HDF5 layouts Keras writes weights in, read into plain trees (no values yet; each array reads on
 * demand). See shared/KERAS-H5.md for the layouts, written from Keras's source.
 *
 * Legacy (keras.applications files, Keras 2 `save_weights('x.h5')`, Keras 3 `.h5`, full-model `.h5` under
 * `/model_weights`): root attribute `layer_names` lists every layer in model order; each layer's group has a
 * `weight_names` attribute giving its weights in load order (trainable, then non-trainable), each a dataset at
 * `<layer group>/<weight name>`, weight names containing `/` resolving to subgroups.
 *
 * Keras 3 `.weights.h5`: the model object tree; an object's variables are datasets `0`, `1`, ... of a `vars`
 * group, the layers of a Functional or Sequential model sit under `layers/<snake_case class>[_k]`, the
 * sub-layers of a subclassed layer under their attribute names. From Keras 3.6 each `vars` group carries the
 * layer's name in a `name` attribute.
 */

export interface LegacyWeight {
  /** As listed in `weight_names`, e.g. `conv_dw_1/depthwise_kernel:0`. */
  name: string;
  array: H5Array;
}

export interface LegacyLayer {
  name: string;
  weights: LegacyWeight[];
}

export interface LegacyFile {
  layout: 'legacy';
  /** `/`, or `/model_weights` in a full-model file. */
  root: string;
  kerasVersion: string | null;
  backend: string | null;
  /** Every layer of `layer_names`, in model order, with or without weights. */
  layers: LegacyLayer[];
}

export interface Keras3Node {
  /** HDF5 path of the object's group, e.g. `/layers/conv2d_1`. */
  path: string;
  /** The layer name stored on `vars` (Keras >= 3.6), else null. */
  name: string | null;
  /** Datasets `vars/0`, `vars/1`, ... in order. */
  vars: H5Array[];
  children: Map<string, Keras3Node>;
}

export interface Keras3File {
  layout: 'keras3';
  /** The model's own group (the file root), whose `layers` child holds the layers. */
  root: Keras3Node;
}

export type KerasWeightFile = LegacyFile | Keras3File;

/** Reads whichever layout the file has, by its contents (not its name). */
export function readKerasLayout(r: H5Reader): KerasWeightFile {
  const legacyRoot = hasLayerNames(r, '/') ? '/' : r.group('/model_weights') && hasLayerNames(r, '/model_weights') ? '/model_weights' : null;
  if (legacyRoot) return readLegacy(r, legacyRoot);
  if (r.group('/layers') || r.group('/_layer_checkpoint_dependencies') || r.group('/vars')) return { layout: 'keras3', root: readKeras3(r) };
  throw new Error(
    `Keras weights '${r.path}': not a Keras weight file: no 'layer_names' attribute (legacy .h5 layout) and no 'layers' group (Keras 3 .weights.h5 layout)`,
  );
}

function hasLayerNames(r: H5Reader, path: string): boolean {
  return r.hasAttr(path, 'layer_names') || r.hasAttr(path, 'layer_names0');
}

const join = (a: string, b: string): string => (a === '/' ? `/${b}` : `${a}/${b}`);

function readLegacy(r: H5Reader, root: string): LegacyFile {
  const names = r.chunkedStringsAttr(root, 'layer_names') ?? [];
  const layers = names.map((name): LegacyLayer => {
    const path = join(root, name);
    if (!r.group(path)) throw new Error(`Keras weights '${r.path}': layer '${name}' is listed in 'layer_names' but the file has no group '${path}'`);
    const weightNames = r.chunkedStringsAttr(path, 'weight_names') ?? [];
    return { name, weights: weightNames.map((w) => ({ name: w, array: r.array(join(path, w)) })) };
  });
  return {
    layout: 'legacy',
    root,
    kerasVersion: r.stringsAttr(root, 'keras_version')?.[0] ?? r.stringsAttr('/', 'keras_version')?.[0] ?? null,
    backend: r.stringsAttr(root, 'backend')?.[0] ?? r.stringsAttr('/', 'backend')?.[0] ?? null,
    layers,
  };
}

/**
 * The model tree from the root: its own `vars` and its `layers` (Keras 2.13-era files call that group
 * `_layer_checkpoint_dependencies`; Keras reads those under the same name). A subclassed model (the course's
 * `class ResNet18(Model)`) has no `layers` group: its layers sit under their attribute names at the root. The
 * optimizer, metrics and losses, and private trackers ('_...'), hold no weights of the model and are left out.
 */
function readKeras3(r: H5Reader): Keras3Node {
  const root = readNode(r, '/', false);
  const layers = ['layers', '_layer_checkpoint_dependencies'].find((k) => r.group(join('/', k)));
  if (layers) {
    const node = readNode(r, join('/', layers), true);
    // tf.keras 2.13-2.15 keys a model's layers by layer name (not by class and position) and records no
    // name attribute: the key is the name, so layers are found by it.
    if (layers === '_layer_checkpoint_dependencies') for (const [key, child] of node.children) child.name ??= key;
    root.children.set('layers', node);
  }
  else {
    for (const sub of r.subgroups('/')) {
      if (sub === 'vars' || sub === 'optimizer' || sub.startsWith('_') || /metric|loss/.test(sub)) continue;
      root.children.set(sub, readNode(r, join('/', sub), true));
    }
  }
  return root;
}

function readNode(r: H5Reader, path: string, recurse: boolean): Keras3Node {
  const varsPath = join(path, 'vars');
  const hasVars = r.group(varsPath) !== null;
  const indices = hasVars ? r.datasets(varsPath).map(Number) : [];
  indices.sort((a, b) => a - b);
  indices.forEach((n, i) => {
    if (n !== i) throw new Error(`Keras weights '${r.path}': '${varsPath}' expected datasets 0..${indices.length - 1}, received ${r.datasets(varsPath).join(', ')}`);
  });
  const node: Keras3Node = {
    path,
    name: hasVars ? (r.stringsAttr(varsPath, 'name')?.[0] ?? null) : null,
    vars: indices.map((i) => r.array(join(varsPath, String(i)))),
    children: new Map(),
  };
  if (recurse) for (const sub of r.subgroups(path)) if (sub !== 'vars') node.children.set(sub, readNode(r, join(path, sub), true));
  return node;
}

/** How many arrays a Keras 3 subtree holds. */
export function countArrays(node: Keras3Node): number {
  let n = node.vars.length;
  for (const c of node.children.values()) n += countArrays(c);
  return n;
}
