/** Shapes: plain arrays of positive integers, channels-last. */
export type Shape = readonly number[];
/** A shape whose first (batch) dimension may be unknown, as Keras prints it. */
export type SymbolicShape = readonly (number | null)[];

// Indexed loops over shapes: tensors hold frozen shape arrays, and for-of or spread over a frozen array goes
// through the iterator protocol (an object per element), the largest share of a training step's garbage.
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function shapesEqual(a: SymbolicShape, b: SymbolicShape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Keras's printed form: (null, 32, 32, 3). */
export function formatShape(shape: SymbolicShape): string {
  return `(${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')})`;
}

/** Row-major strides. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function assertValidShape(shape: Shape, what: string): void {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: expected a shape of non-negative integers, received ${formatShape(shape)}`);
  }
}
