import { Layer, toSnakeCase } from '../layers/layer.js';
import { Model } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Variable } from '../tensor/variable.js';
import { H5Array, H5Reader, isHdf5File } from './h5-file.js';
import { Keras3Node, LegacyFile, LegacyLayer, readKerasLayout } from './keras-h5-layouts.js';

/**
 * Keras HDF5 weights into a convkit model: both layouts (legacy `.h5`, Keras 3 `.weights.h5`), chosen by the
 * file's contents. Every weight is checked (count and shape, per layer) before any is assigned: a file that does
 * not fit changes nothing and the error lists every problem, naming the layer, the weight, the expected shape and
 * the file's shape.
 *
 * Legacy layout. Keras's own `load_weights` pairs the k-th file layer holding weights with the k-th model layer
 * holding weights (names ignored); `by_name=True` pairs them by name. convkit's default ('auto') pairs by name
 * when every name fits, else by order, so keras.applications files (Keras's layer names, which the zoo uses)
 * and files saved from models whose auto-generated names differ (conv2d_7 here, conv2d there) both load.
 * Within a layer, weights go in `weight_names` order = Keras's legacy order, trainable weights then
 * non-trainable ones, nested layers included (a composite block is one layer whose weight names read
 * `resnet_block/conv2d_3/kernel:0`).
 * The course's subclassed models keep some blocks in a container (`self.blocks = Sequential()`); save_weights
 * writes that container as ONE layer holding the trainable weights of all its blocks, then their non-trainable
 * ones. Matching by order therefore lets one file layer cover a run of consecutive model layers (the zoo's
 * functional ResNet18 and Inception10 list their blocks individually), in that combined order.
 *
 * Keras 3 layout. The layers of a Functional or Sequential model are `layers/<snake_case class name>[_k]` in
 * model order (k counts per class); a composite layer's sub-layers are under their attribute names (convkit's
 * camelCase field `downC1` is Keras's `down_c1`); a layer's own variables are `vars/0..n`, trainable first.
 * When the file records layer names (Keras >= 3.6), a layer is found by name instead, anywhere in the file if
 * need be: that is how a file saved from the course's subclassed models (layers under attribute names, blocks in
 * `blocks/layers/...`) loads into the zoo's functional ones.
 */
export interface LoadKerasWeightsOptions {
  /** Legacy layout only: pair layers by 'name', by 'order' (as Keras's load_weights), or 'auto' (default). */
  match?: 'auto' | 'name' | 'order';
}

export interface KerasLoadReport {
  path: string;
  layout: 'legacy' | 'keras3';
  /** How file layers were paired with model layers. */
  matchedBy: 'name' | 'order' | 'path';
  kerasVersion: string | null;
  backend: string | null;
  /** Model variables assigned. */
  arrays: number;
}

interface Pair {
  variable: Variable;
  array: H5Array;
}

/** True for a file to read as Keras weights: HDF5 content, or a .h5/.hdf5/.keras name (which then must be HDF5). */
export function isKerasWeightFile(path: string): boolean {
  return /\.(h5|hdf5|keras)$/i.test(path) || isHdf5File(path);
}

/** Loads a Keras HDF5 weight file into `model`; nothing changes unless every weight fits. */
export async function loadKerasWeights(model: Layer, path: string, opts: LoadKerasWeightsOptions = {}): Promise<KerasLoadReport> {
  const match = opts.match ?? 'auto';
  if (!['auto', 'name', 'order'].includes(match)) throw new Error(`loadKerasWeights: argument 'match' expected 'auto', 'name' or 'order', received '${String(match)}'`);
  if (model.weights.length === 0) throw new Error(`Keras weights '${path}': model '${model.name}' has no weights yet; build it (call it once) before loading`);
  return H5Reader.with(path, (r) => {
    const file = readKerasLayout(r);
    let pairs: Pair[];
    let matchedBy: KerasLoadReport['matchedBy'];
    if (file.layout === 'legacy') [pairs, matchedBy] = pairLegacy(model, file, match, path);
    else [pairs, matchedBy] = pairKeras3(model, file.root, path);
    for (const { variable, array } of pairs) variable.assign(array.read());
    const meta = file.layout === 'legacy' ? file : { kerasVersion: null, backend: null };
    return { path, layout: file.layout, matchedBy, kerasVersion: meta.kerasVersion, backend: meta.backend, arrays: pairs.length };
  });
}

function fail(path: string, layout: string, model: Layer, how: string, problems: string[]): never {
  const n = problems.length;
  const shown = n > 30 ? [...problems.slice(0, 25), `... and ${n - 25} more`] : problems;
  throw new Error(`Keras weights '${path}' (${layout}) do not fit model '${model.name}' (${n} problem${n > 1 ? 's' : ''}, ${how}):\n  ${shown.join('\n  ')}`);
}

const describeVars = (vs: readonly Variable[]): string => vs.map((v) => `${v.name} ${formatShape(v.shape)}`).join(', ');
const describeArrays = (as: readonly { name: string; array: H5Array }[]): string => as.map((a) => `${a.name} ${formatShape(a.array.shape)}`).join(', ');
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** A layer's weights in Keras's legacy order: trainable ones, then the rest (a frozen layer: all, in order). */
export function legacyWeightOrder(layers: readonly Layer[]): Variable[] {
  return [...layers.flatMap((l) => l.trainableWeights), ...layers.flatMap((l) => l.nonTrainableWeights)];
}

// ---- Legacy layout ----

interface Unit {
  name: string;
  className: string;
  vars: Variable[];
}

function pairLegacy(model: Layer, file: LegacyFile, match: 'auto' | 'name' | 'order', path: string): [Pair[], 'name' | 'order'] {
  const layout = `legacy HDF5 layout${file.kerasVersion ? `, Keras ${file.kerasVersion}` : ''}`;
  const layers = model.layers.filter((l) => l.weights.length > 0);
  const units = layers.map((l): Unit => ({ name: l.name, className: l.className, vars: legacyWeightOrder([l]) }));
  const fileLayers = file.layers.filter((l) => l.weights.length > 0);
  if (match !== 'order') {
    const byName = pairByName(units, file.layers);
    if (byName.problems.length === 0) return [byName.pairs, 'name'];
    if (match === 'name') fail(path, layout, model, 'matching layers by name', byName.problems);
    const byOrder = pairByOrder(layers, fileLayers);
    if (byOrder.problems.length === 0) return [byOrder.pairs, 'order'];
    // Report what explains the file best: by name when most model layers found their name in it.
    const named = units.filter((u) => fileLayers.some((f) => f.name === u.name)).length;
    if (named * 2 >= units.length) fail(path, layout, model, 'matching layers by name', byName.problems);
    fail(path, layout, model, 'matching layers by order, as names did not match', byOrder.problems);
  }
  const byOrder = pairByOrder(layers, fileLayers);
  if (byOrder.problems.length > 0) fail(path, layout, model, 'matching layers by order', byOrder.problems);
  return [byOrder.pairs, 'order'];
}

/** Checks one model layer (or run of layers) against one file layer; pushes pairs or problems. */
function compareLegacy(unit: Unit, f: LegacyLayer, pairs: Pair[], problems: string[]): boolean {
  const where = f.name === unit.name ? `layer '${unit.name}'` : `layer '${unit.name}' (file layer '${f.name}')`;
  if (unit.vars.length !== f.weights.length) {
    problems.push(`${where} (${unit.className}): expected ${plural(unit.vars.length, 'weight')} [${describeVars(unit.vars)}], the file has ${f.weights.length} [${describeArrays(f.weights)}]`);
    return false;
  }
  let ok = true;
  unit.vars.forEach((v, i) => {
    const w = f.weights[i];
    if (shapesEqual(v.shape, w.array.shape)) pairs.push({ variable: v, array: w.array });
    else {
      problems.push(`${where} weight '${v.name}': expected shape ${formatShape(v.shape)}, file shape ${formatShape(w.array.shape)} (dataset '${w.array.path}')`);
      ok = false;
    }
  });
  return ok;
}

function pairByName(units: Unit[], fileLayers: LegacyLayer[]): { pairs: Pair[]; problems: string[] } {
  const pairs: Pair[] = [];
  const problems: string[] = [];
  const byName = new Map(fileLayers.map((l) => [l.name, l]));
  const used = new Set<string>();
  for (const u of units) {
    const f = byName.get(u.name);
    if (!f) {
      problems.push(`missing layer '${u.name}' (${u.className}, ${plural(u.vars.length, 'weight')}: ${describeVars(u.vars)}): not in the file`);
      continue;
    }
    used.add(u.name);
    if (f.weights.length === 0) problems.push(`layer '${u.name}' (${u.className}): expected ${plural(u.vars.length, 'weight')} [${describeVars(u.vars)}], the file lists it without weights`);
    else compareLegacy(u, f, pairs, problems);
  }
  for (const f of fileLayers) {
    if (f.weights.length > 0 && !used.has(f.name)) problems.push(`extra layer '${f.name}' in the file (${plural(f.weights.length, 'weight')}: ${describeArrays(f.weights)}): the model has no layer of that name`);
  }
  return { pairs, problems };
}

/**
 * Keras's order pairing, extended so that one file layer may hold a run of consecutive model layers (a
 * container such as the course's `self.blocks`), in the container's legacy order.
 */
function pairByOrder(layers: Layer[], fileLayers: LegacyLayer[]): { pairs: Pair[]; problems: string[] } {
  const pairs: Pair[] = [];
  const problems: string[] = [];
  let j = 0;
  let i = 0;
  for (; i < fileLayers.length && j < layers.length; i++) {
    const f = fileLayers[i];
    let taken = 0;
    for (let k = 1; j + k <= layers.length; k++) {
      const vars = legacyWeightOrder(layers.slice(j, j + k));
      if (vars.length > f.weights.length) break;
      if (vars.length === f.weights.length) {
        if (vars.every((v, n) => shapesEqual(v.shape, f.weights[n].array.shape))) taken = k;
        break;
      }
    }
    if (taken === 0) {
      const l = layers[j];
      compareLegacy({ name: l.name, className: l.className, vars: legacyWeightOrder([l]) }, f, [], problems);
      problems.push(`(matching by order stopped at file layer #${i + 1} '${f.name}' and model layer #${j + 1} '${l.name}')`);
      return { pairs, problems };
    }
    const run = layers.slice(j, j + taken);
    compareLegacy({ name: run.map((l) => l.name).join('+'), className: run.map((l) => l.className).join('+'), vars: legacyWeightOrder(run) }, f, pairs, problems);
    j += taken;
  }
  for (; i < fileLayers.length; i++) {
    const f = fileLayers[i];
    problems.push(`extra layer '${f.name}' in the file (${plural(f.weights.length, 'weight')}: ${describeArrays(f.weights)}): the model has no layer left to take it`);
  }
  for (; j < layers.length; j++) {
    const l = layers[j];
    problems.push(`missing layer '${l.name}' (${l.className}, ${plural(l.weights.length, 'weight')}: ${describeVars(legacyWeightOrder([l]))}): the file has no layer left for it`);
  }
  return { pairs, problems };
}

// ---- Keras 3 layout ----

/** A layer's own variables (not its sub-layers'), in Keras's save order: trainable, then non-trainable. */
export function ownVariables(layer: Layer): Variable[] {
  const nested = new Set(layer.layers.flatMap((l) => l.weights));
  const own = layer.weights.filter((v) => !nested.has(v));
  return [...own.filter((v) => v.trainable), ...own.filter((v) => !v.trainable)];
}

/** Sub-layers with the path Keras 3 saves them under, relative to the parent's group. */
export function childEntries(layer: Layer): { key: string[]; layer: Layer }[] {
  const counted = (list: readonly Layer[], prefix: string[]): { key: string[]; layer: Layer }[] => {
    const seen = new Map<string, number>();
    return list.map((l) => {
      const base = toSnakeCase(l.className);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      return { key: [...prefix, n === 0 ? base : `${base}_${n}`], layer: l };
    });
  };
  if (layer instanceof Sequential || (layer instanceof Model && layer.inputs.length > 0)) return counted(layer.layers, ['layers']);
  const out: { key: string[]; layer: Layer }[] = [];
  for (const [field, value] of Object.entries(layer)) {
    if (value instanceof Layer) out.push({ key: [toSnakeCase(field)], layer: value });
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Layer)) out.push(...counted(value, [toSnakeCase(field)]));
  }
  return out;
}

function pairKeras3(model: Layer, root: Keras3Node, path: string): [Pair[], 'name' | 'path'] {
  const pairs: Pair[] = [];
  const problems: string[] = [];
  const used = new Set<Keras3Node>([root]);
  let byName = false;
  const everyNode: Keras3Node[] = [];
  const collect = (node: Keras3Node): void => {
    everyNode.push(node);
    for (const c of node.children.values()) collect(c);
  };
  collect(root);
  const visit = (layer: Layer, node: Keras3Node | null, where: string): void => {
    const own = ownVariables(layer);
    if (own.length > 0) {
      if (!node || node.vars.length === 0) {
        problems.push(`missing layer '${layer.name}' (${layer.className}, ${plural(own.length, 'weight')}: ${describeVars(own)}): the file has no '${where}/vars'`);
      } else if (node.vars.length !== own.length) {
        problems.push(`layer '${layer.name}' (${layer.className}): expected ${plural(own.length, 'weight')} [${describeVars(own)}], '${node.path}/vars' has ${node.vars.length} [${node.vars.map((a) => formatShape(a.shape)).join(', ')}]`);
      } else {
        own.forEach((v, i) => {
          const a = node.vars[i];
          if (shapesEqual(v.shape, a.shape)) pairs.push({ variable: v, array: a });
          else problems.push(`layer '${layer.name}' weight '${v.name}': expected shape ${formatShape(v.shape)}, file shape ${formatShape(a.shape)} (dataset '${a.path}')`);
        });
      }
    }
    for (const child of childEntries(layer)) {
      if (child.layer.weights.length === 0) continue;
      let n: Keras3Node | null = node;
      for (const k of child.key.slice(0, -1)) n = n?.children.get(k) ?? null;
      const siblings = n ? [...n.children.values()] : [];
      // Keras >= 3.6 names every layer's group: find it by name (robust to class-order differences), among
      // the siblings first, else anywhere (a subclassed model keeps layers under attribute names we cannot know).
      const free = (s: Keras3Node): boolean => s.name === child.layer.name && !used.has(s);
      const named = siblings.find(free) ?? (n?.children.has(child.key[child.key.length - 1]) ? undefined : everyNode.find(free));
      if (named) byName = true;
      const found = named ?? n?.children.get(child.key[child.key.length - 1]) ?? null;
      if (found) used.add(found);
      visit(child.layer, found, found?.path ?? `${node?.path ?? where}/${child.key.join('/')}`.replace(/^\/\//, '/'));
    }
  };
  visit(model, root, '');
  const extras = (node: Keras3Node): void => {
    if (node.vars.length > 0 && !used.has(node)) {
      problems.push(`extra weights in the file: '${node.path}/vars'${node.name ? ` (layer '${node.name}')` : ''} holds ${node.vars.length} [${node.vars.map((a) => formatShape(a.shape)).join(', ')}], matching no layer of the model`);
    }
    for (const c of node.children.values()) extras(c);
  };
  extras(root);
  const how = byName ? 'finding layers by the names the file records' : 'finding layers by their Keras 3 paths';
  if (problems.length > 0) fail(path, 'Keras 3 .weights.h5 layout', model, how, problems);
  return [pairs, byName ? 'name' : 'path'];
}
