import { FloatArray, Tensor } from '../tensor/tensor.js';
import { getBackend } from '../backend/index.js';

/**
 * A dynamic tape. Each op result remembers its inputs and a backward closure written beside its forward
 * (see ops/). `backward` orders the recorded graph from the loss (reverse topological order, which is the
 * tape read backwards), calls each closure once, and sums gradients that reach a tensor along several paths:
 * a ResNet shortcut, or an Inception input feeding four branches.
 */

let gradDepth = 0;

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return gradDepth === 0;
}

/** Runs `fn` without recording: inference, optimizer updates, metrics. */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}

/**
 * Attaches a backward rule to `out` when gradients are on and some input needs one. Ops call this once.
 * Returns `out` so that an op can end with `return record(...)`.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: (dy: Tensor) => (Tensor | null)[]): Tensor {
  if (gradDepth > 0 || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.node = { op, inputs, backward };
  return out;
}

/**
 * What a tensor's entry in computeGradients' `parts` becomes once its gradient is formed: its contributions
 * are let go (they can be collected early) without deleting the entry (a Map shrinking as entries go
 * reallocates its table: garbage every step). Each tensor is visited once, so the entry is never read again.
 */
const CONSUMED = Object.freeze([]) as unknown as Tensor[]; // frozen: a push onto it would throw, not corrupt

/** Tensors reachable from `root` through recorded nodes, inputs before the results that use them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep networks would overflow the call stack with recursion. Tensors and their next input's
  // index in two parallel stacks (a pair per visit was most of the tape's garbage).
  const stack: Tensor[] = [root];
  const next: number[] = [0];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack.length - 1;
    const t = stack[top];
    const i = next[top];
    if (t.node && i < t.node.inputs.length) {
      next[top] = i + 1;
      const input = t.node.inputs[i];
      if (input.requiresGrad && !seen.has(input)) {
        seen.add(input);
        stack.push(input);
        next.push(0);
      }
    } else {
      stack.pop();
      next.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Computes d(output)/d(t) for every tensor on the graph. `seed` defaults to ones (so a scalar loss gets 1).
 * Returns the map of gradients; leaves are not modified.
 */
export function computeGradients(output: Tensor, seed?: Tensor, onLeaf?: (leaf: Tensor, grad: Tensor) => void): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  if (!output.requiresGrad) return grads;
  // Every contribution a tensor receives is kept until its gradient is needed, then summed in one pass
  // (Backend.addN, in arrival order: the same numbers as adding each as it came).
  const parts = new Map<Tensor, Tensor[]>([[output, [seed ?? Tensor.ones(output.shape, output.dtype)]]]);
  // With a listener: how many pending contributions hold each buffer, to tell whether a final leaf gradient
  // shares its buffer with one of them (looking through every pending list per leaf cost O(leaves x pending)).
  const pendingBuffers = onLeaf ? new Map<FloatArray, number>() : null;
  const release = (list: Tensor[]): void => {
    if (!pendingBuffers) return;
    for (let i = 0; i < list.length; i++) {
      const n = pendingBuffers.get(list[i].data) ?? 0;
      if (n <= 1) pendingBuffers.delete(list[i].data);
      else pendingBuffers.set(list[i].data, n - 1);
    }
  };
  const order = topologicalOrder(output);
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const received = parts.get(t);
      if (!received) continue;
      let dy = sumParts(received);
      if (!t.node) {
        // Every contribution has arrived (its readers come later in `order`): final. A listener may hand it to
        // work that writes it in place before this loop ends, so it gets a buffer no pending gradient shares
        // (add passes one dy to both inputs). Its own contributions are released first: counted as "pending",
        // they had every data-parallel step copy every gradient, outside the step's arena (250 KB of fresh
        // buffers a LeNet5 step, and a full collection every ~60 steps on each rank).
        parts.set(t, CONSUMED);
        release(received);
        if (pendingBuffers?.has(dy.data)) dy = dy.clone();
        grads.set(t, dy);
        onLeaf?.(t, dy);
        continue;
      }
      // Intermediate gradients are no longer needed once passed down: free them early.
      parts.set(t, CONSUMED);
      release(received);
      const dxs = t.node.backward(dy);
      const inputs = t.node.inputs;
      for (let i = 0; i < inputs.length; i++) {
        const dx = dxs[i];
        const input = inputs[i];
        if (!dx || !input.requiresGrad) continue;
        const list = parts.get(input);
        if (list) list.push(dx);
        else parts.set(input, [dx]);
        if (pendingBuffers) pendingBuffers.set(dx.data, (pendingBuffers.get(dx.data) ?? 0) + 1);
      }
    }
  });
  return grads;
}

function sumParts(ts: Tensor[]): Tensor {
  if (ts.length === 1) return ts[0];
  const be = getBackend(ts[0].data);
  // At most 8 arrays per pass; more (rare) are folded in groups, still left to right.
  let acc = ts[0];
  for (let i = 1; i < ts.length; i += 7) {
    acc = new Tensor(be.addN([acc, ...ts.slice(i, i + 7)].map((t) => t.data)), acc.shape);
  }
  return acc;
}

/**
 * Gradients of `output` with respect to `wrt` (zeros where `output` does not depend on one). onReady(i, g), if
 * given, is called during the backward pass as soon as wrt[i]'s gradient is final (not for the zeros).
 */
export function gradients(output: Tensor, wrt: readonly Tensor[], seed?: Tensor, onReady?: (i: number, grad: Tensor) => void): Tensor[] {
  const index = onReady ? new Map(wrt.map((t, i) => [t, i])) : null;
  const grads = computeGradients(output, seed, index ? (leaf, g) => {
    const i = index.get(leaf);
    if (i !== undefined) onReady!(i, g);
  } : undefined);
  return wrt.map((t) => grads.get(t) ?? Tensor.zeros(t.shape, t.dtype));
}

/** Accumulates d(output)/d(leaf) into `leaf.grad` for every leaf (variable or input) that requires grad. */
export function backward(output: Tensor, seed?: Tensor): void {
  const grads = computeGradients(output, seed);
  // A backward rule may pass one buffer to several inputs (add gives dy to both, reshape shares dy's values):
  // each leaf gets a buffer of its own, so that an in-place edit of one .grad (clipping) cannot reach another.
  const handedOut = new Set<FloatArray>(seed ? [seed.data] : []);
  for (const [t, g] of grads) {
    if (t.node) continue;
    const own = handedOut.has(g.data) ? g.clone() : g;
    handedOut.add(own.data);
    t.grad = t.grad ? accumulate(t.grad, own) : own;
  }
}

function accumulate(a: Tensor, b: Tensor): Tensor {
  return new Tensor(getBackend(a.data).add(a.data, b.data), a.shape);
}
