import { SymbolicShape, formatShape } from '../tensor/shape.js';
import type { Layer } from './layer.js';

/** One call of a layer on symbolic inputs: an edge bundle of the functional graph. */
export interface LayerNode {
  readonly layer: Layer;
  readonly inputs: readonly SymbolicTensor[];
  readonly output: SymbolicTensor;
}

/**
 * A Keras tensor: the shape of a value that will flow through a functional model (batch unknown, null),
 * and the layer call that produces it. Holds no values.
 */
export class SymbolicTensor {
  readonly shape: SymbolicShape;
  /** The call that produced this tensor; undefined only while the node is being made. */
  node!: LayerNode;

  constructor(shape: SymbolicShape) {
    this.shape = Object.freeze([...shape]);
  }

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `SymbolicTensor(${formatShape(this.shape)}, from ${this.node?.layer.name ?? '?'})`;
  }
}

export function isSymbolic(x: unknown): x is SymbolicTensor | SymbolicTensor[] {
  return x instanceof SymbolicTensor || (Array.isArray(x) && x.length > 0 && x.every((t) => t instanceof SymbolicTensor));
}
