import type { TfCheckpoint } from './bundle.js';
import { decodeProto } from './protos.js';
import type { Fail } from './varint.js';

/**
 * The object graph TensorFlow 2 stores beside the tensors (key `_CHECKPOINTABLE_OBJECT_GRAPH`, a DT_STRING
 * scalar holding a serialized TrackableObjectGraph). Node 0 is the object `save` was called on (the Keras
 * model); its children are the objects it tracks, in tracking order, which for a subclassed Keras model is
 * the order its attributes were assigned (self.c1, self.p1, ...). A variable is a node with a
 * `VARIABLE_VALUE` attribute naming its checkpoint key; an optimizer lists its slot variables (Adam's m and
 * v) by the node ids of the variables they belong to. That is what lets a checkpoint without any
 * architecture load into a model whose layers have other names.
 */
export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';

export interface TfObjectReference {
  nodeId: number;
  localName: string;
}
export interface TfSlotReference {
  originalVariableNodeId: number;
  slotName: string;
  slotVariableNodeId: number;
}
export interface TfTrackable {
  id: number;
  children: TfObjectReference[];
  /** The attribute `name` -> checkpoint key (a variable has just `VARIABLE_VALUE`). */
  attributes: Map<string, string>;
  slotVariables: TfSlotReference[];
}
export interface TfObjectGraph {
  nodes: TfTrackable[];
}

/** Decodes a serialized TrackableObjectGraph, checking every node reference; `what` names it in errors. */
export function decodeObjectGraph(bytes: Uint8Array, what: string, fail: Fail): TfObjectGraph {
  const msg = decodeProto('graph', bytes, what, fail);
  const n = msg.nodes.length;
  if (n === 0) fail(`${what}: expected at least the root node, received an empty graph`);
  const check = (id: number, field: string): number => {
    if (!(Number.isInteger(id) && id >= 0 && id < n)) fail(`${what}: ${field}: expected a node id below ${n}, received ${id}`);
    return id;
  };
  const nodes = msg.nodes.map((node, i): TfTrackable => ({
    id: i,
    children: node.children.map((c, k) => ({ nodeId: check(c.nodeId, `node ${i} child ${k} ('${c.localName}')`), localName: c.localName })),
    attributes: new Map(node.attributes.map((a) => [a.name, a.checkpointKey])),
    slotVariables: node.slotVariables.map((s, k) => ({
      originalVariableNodeId: check(s.originalVariableNodeId, `node ${i} slot variable ${k} original variable`),
      slotName: s.slotName,
      slotVariableNodeId: check(s.slotVariableNodeId, `node ${i} slot variable ${k}`),
    })),
  }));
  return { nodes };
}

/** Reads and decodes the checkpoint's object graph; throws naming the file when it is missing or corrupt. */
export function readObjectGraph(ckpt: TfCheckpoint): TfObjectGraph {
  const entry = ckpt.get(OBJECT_GRAPH_KEY);
  if (!entry) {
    throw new Error(`TF checkpoint index '${ckpt.indexPath}': expected an entry '${OBJECT_GRAPH_KEY}' (the TF2 object graph), received none; a TF1 name-based checkpoint has no object graph and is not supported`);
  }
  const fail: Fail = (w) => {
    throw new Error(`TF checkpoint data '${entry.shard}': tensor '${OBJECT_GRAPH_KEY}': ${w}`);
  };
  if (entry.dtypeName !== 'string' || entry.shape.length !== 0) fail(`expected a string scalar, received ${entry.dtypeName} of shape (${entry.shape.join(', ')})`);
  const [bytes] = entry.read() as Uint8Array[];
  return decodeObjectGraph(bytes, 'object graph', fail);
}

/** The checkpoint key of a variable node (its `VARIABLE_VALUE` attribute), or null for other objects. */
export const variableKey = (node: TfTrackable): string | null => node.attributes.get('VARIABLE_VALUE') ?? null;

/** The root's children: local names in tracking order (for a subclassed Keras model, its attribute names). */
export const rootChildren = (g: TfObjectGraph): TfObjectReference[] => g.nodes[0].children;

/**
 * A layer-like object: a node that is not itself a variable and has variable children, each named by its
 * edge (kernel, bias, gamma, ...).
 */
export interface TfVariableOwner {
  /** The path from the root, e.g. `c1` or `model/c1`. */
  path: string;
  node: TfTrackable;
  variables: { name: string; nodeId: number; key: string }[];
}

/**
 * The objects that own variables, in tracking order: the root's children depth first, descending through
 * objects without variables of their own (containers), each node taken once (Keras tracks some objects under
 * two names, e.g. `layer_with_weights-0` and `c1`). The optimizer (a node with slot variables, or the root's
 * child `optimizer`) and anything under it are not layers and are skipped.
 */
export function variableOwners(g: TfObjectGraph): TfVariableOwner[] {
  const seen = new Set<number>([0]);
  const out: TfVariableOwner[] = [];
  const visit = (ref: TfObjectReference, path: string, depth: number): void => {
    if (seen.has(ref.nodeId) || depth > 64) return;
    seen.add(ref.nodeId);
    const node = g.nodes[ref.nodeId];
    if (variableKey(node) !== null || node.slotVariables.length > 0) return;
    const variables = node.children
      .filter((c) => variableKey(g.nodes[c.nodeId]) !== null && c.nodeId !== ref.nodeId)
      .map((c) => ({ name: c.localName, nodeId: c.nodeId, key: variableKey(g.nodes[c.nodeId]) as string }));
    if (variables.length > 0) {
      for (const v of variables) seen.add(v.nodeId);
      out.push({ path, node, variables });
      return;
    }
    for (const c of node.children) visit(c, `${path}/${c.localName}`, depth + 1);
  };
  for (const c of rootChildren(g)) if (c.localName !== 'optimizer') visit(c, c.localName, 0);
  return out;
}

/** The optimizer node: the root's child `optimizer` (Keras's attribute), else the first node with slots. */
export function optimizerNode(g: TfObjectGraph): TfTrackable | null {
  const ref = rootChildren(g).find((c) => c.localName === 'optimizer');
  return ref ? g.nodes[ref.nodeId] : (g.nodes.find((n) => n.slotVariables.length > 0) ?? null);
}
