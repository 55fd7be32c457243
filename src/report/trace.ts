/**
 * Looking inside a composite block (a Layer whose fields are layers: InceptionBlock, ResnetBlock, a user's
 * subclassed model): which sub-layer and which plain op feeds which, with the shapes.
 *
 * How: the block runs once on a zero tensor of batch 1 with gradients on. Every layer in it has its `call`
 * wrapped for the duration, so each call is recorded with its inputs and output, nested as they happen;
 * the autograd tape links the plain ops written in `call` (relu, add, concat). A sub-layer's input is then
 * found by identity: the output of an earlier sibling call, an input of the block, or an op whose own inputs
 * are found the same way. Placeholders cannot do this (ops on placeholders record nothing), so the block
 * really computes, once, at batch 1: milliseconds for the zoo's blocks.
 */
import { isGradEnabled } from '../autograd/tape.js';
import { InputLayer } from '../layers/input.js';
import { Layer, LayerInput } from '../layers/layer.js';
import { Tensor } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';

/** A value inside a block: one of the block's inputs, or the output of a node. */
export type Ref = { kind: 'input'; index: number } | { kind: 'node'; node: TracedNode };

export interface TracedNode {
  /** The sub-layer called, or null for a plain op. */
  layer: Layer | null;
  /** The op's name on the tape ('relu', 'add', 'concat', ...), for plain ops. */
  op: string | null;
  inputs: Ref[];
  /** Shapes without the batch axis. */
  inputShapes: number[][];
  outputShape: number[];
  /** A plain op's weight operands (a raw conv2d's kernel). */
  weightShapes: number[][];
  /** A composite sub-layer: its own inside. */
  inner?: TracedScope;
}

export interface TracedScope {
  /** In call order: every node's inputs come before it. */
  nodes: TracedNode[];
  output: Ref;
}

interface CallRecord {
  layer: Layer;
  inputs: Tensor[];
  output: Tensor | null;
  start: number;
  end: number;
  children: CallRecord[];
}

/** Composite: holds layers of its own (Conv2D and friends hold none). */
export function isComposite(layer: Layer): boolean {
  return layer.layers.length > 0;
}

function allLayers(root: Layer): Layer[] {
  const seen = new Set<Layer>();
  const visit = (l: Layer): void => {
    if (seen.has(l)) return;
    seen.add(l);
    for (const sub of l.layers) visit(sub);
  };
  visit(root);
  return [...seen];
}

const noBatch = (t: Tensor): number[] => t.shape.slice(1);

/** Runs `layer` once on zeros of [1, ...shape] per input and returns what happened inside it. */
export function traceLayer(layer: Layer, inputShapes: readonly (readonly number[])[]): TracedScope {
  if (!isGradEnabled()) {
    throw new Error(`analyzeModel: tracing ${layer.who} needs the gradient tape, which is off inside noGrad(); call the analysis outside noGrad`);
  }
  const batched = inputShapes.map((s) => [null, ...s]);
  if (!layer.built) layer.build(batched.length === 1 ? batched[0] : batched); // outside the wrappers: may run call on placeholders
  let clock = 0;
  const stack: CallRecord[] = [];
  let root: CallRecord | null = null;
  const layers = allLayers(layer);
  const saved = layers.map((l) => Object.getOwnPropertyDescriptor(l, 'call'));
  layers.forEach((l) => {
    const original = l.call;
    Object.defineProperty(l, 'call', {
      configurable: true,
      writable: true,
      value: (inputs: LayerInput, opts: { training?: boolean }) => {
        // Shape inference (a subclassed model's build) runs call on placeholders without the tape: not data flow.
        if (!isGradEnabled()) return original.call(l, inputs, opts);
        const rec: CallRecord = { layer: l, inputs: Array.isArray(inputs) ? [...inputs] : [inputs as Tensor], output: null, start: clock++, end: -1, children: [] };
        if (stack.length > 0) stack[stack.length - 1].children.push(rec);
        else root ??= rec;
        stack.push(rec);
        try {
          rec.output = original.call(l, inputs, opts);
          return rec.output;
        } finally {
          rec.end = clock++;
          stack.pop();
        }
      },
    });
  });
  try {
    const xs = inputShapes.map((s) => {
      const t = Tensor.zeros([1, ...s]);
      t.requiresGrad = true; // so that every op records its inputs on the tape
      return t;
    });
    layer.apply(xs.length === 1 ? xs[0] : xs, { training: false });
  } finally {
    layers.forEach((l, i) => {
      const d = saved[i];
      if (d) Object.defineProperty(l, 'call', d);
      else Reflect.deleteProperty(l, 'call');
    });
  }
  if (!root) throw new Error(`analyzeModel: ${layer.who} was not called while tracing it`);
  return scopeOf(root);
}

/** The nodes of one recorded call: its sub-layer calls and the plain ops between them. */
function scopeOf(rec: CallRecord): TracedScope {
  const nodes: TracedNode[] = [];
  const childRef = new Map<CallRecord, Ref | null>();
  const opRef = new Map<Tensor, Ref>();

  const resolve = (t: Tensor, before: number): Ref | null => {
    // The latest sibling call that returned this very tensor (Dropout in inference returns its input).
    let best: CallRecord | null = null;
    for (const c of rec.children) if (c.output === t && c.end < before && (!best || c.end > best.end)) best = c;
    if (best) return childRef.get(best) ?? null;
    const k = rec.inputs.indexOf(t);
    if (k >= 0) return { kind: 'input', index: k };
    if (t instanceof Variable || !t.node) return null; // a weight or a constant: not data flow
    const known = opRef.get(t);
    if (known) return known;
    const data = t.node.inputs.filter((i) => !(i instanceof Variable));
    const node: TracedNode = {
      layer: null,
      op: t.node.op,
      inputs: data.map((i) => resolve(i, before)).filter((r): r is Ref => r !== null),
      inputShapes: data.map(noBatch),
      outputShape: noBatch(t),
      weightShapes: t.node.inputs.filter((i) => i instanceof Variable).map((i) => [...i.shape]),
    };
    const ref: Ref = { kind: 'node', node };
    opRef.set(t, ref);
    nodes.push(node);
    return ref;
  };

  for (const c of rec.children) {
    const refs = c.inputs.map((t) => resolve(t, c.start));
    if (c.layer instanceof InputLayer) {
      childRef.set(c, refs[0]); // a nested functional model's Input: a pass-through
      continue;
    }
    const node: TracedNode = {
      layer: c.layer,
      op: null,
      inputs: refs.filter((r): r is Ref => r !== null),
      inputShapes: c.inputs.map(noBatch),
      outputShape: noBatch(c.output as Tensor),
      weightShapes: [],
      ...(isComposite(c.layer) ? { inner: scopeOf(c) } : {}),
    };
    childRef.set(c, { kind: 'node', node });
    nodes.push(node);
  }
  const output = resolve(rec.output as Tensor, rec.end + 1);
  if (!output) throw new Error(`analyzeModel: could not find where ${rec.layer.who}'s output comes from`);
  return { nodes, output };
}
