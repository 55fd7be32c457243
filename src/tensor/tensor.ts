import { Random, globalRandom } from './random.js';
import { Shape, assertValidShape, formatShape, sizeOf } from './shape.js';

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** What autograd records about the op that produced a tensor (see autograd/tape.ts). */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given dL/d(output), returns dL/d(input) for each input (null where an input needs none). */
  readonly backward: (dy: Tensor) => (Tensor | null)[];
}

/**
 * A tensor is a plain value: a shape and a typed array, row-major, channels-last for images.
 * float32 is the working type; float64 exists for gradient checks on the reference backend.
 * A placeholder tensor has a shape and no values: ops run on placeholders to infer shapes (this is how
 * user-written blocks get their output shape without computing anything).
 */
export class Tensor {
  readonly shape: Shape;
  readonly data: FloatArray;
  readonly isPlaceholder: boolean;
  /** True for trainable variables and for any op result that depends on one. */
  requiresGrad = false;
  /** Set by autograd on op results; null on leaves. */
  node: GradNode | null = null;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;

  constructor(data: FloatArray, shape: Shape, placeholder = false) {
    assertValidShape(shape, 'Tensor');
    if (!placeholder && data.length !== sizeOf(shape)) {
      throw new Error(`Tensor: data length ${data.length} does not match shape ${formatShape(shape)} (${sizeOf(shape)} values)`);
    }
    // A frozen shape (another tensor's) is shared: it cannot change under either tensor.
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
    this.data = data;
    this.isPlaceholder = placeholder;
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? 'float64' : 'float32';
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }

  static zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    assertValidShape(shape, 'Tensor.zeros');
    return new Tensor(allocate(sizeOf(shape), dtype), shape);
  }
  static full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    t.data.fill(value);
    return t;
  }
  static ones(shape: Shape, dtype: DType = 'float32'): Tensor {
    return Tensor.full(shape, 1, dtype);
  }
  /** A shape without values, for shape inference. */
  static placeholder(shape: Shape, dtype: DType = 'float32'): Tensor {
    return new Tensor(allocate(0, dtype), shape, true);
  }
  static scalar(value: number, dtype: DType = 'float32'): Tensor {
    return Tensor.from([value], [], dtype);
  }
  /** From flat or nested numbers; the shape is inferred from nesting when not given. */
  static from(values: ArrayLike<number> | NestedArray, shape?: Shape, dtype: DType = 'float32'): Tensor {
    const inferred = shape ?? inferShape(values);
    const flat = flatten(values);
    const data = allocate(flat.length, dtype);
    data.set(flat);
    return new Tensor(data, inferred);
  }
  static randomNormal(shape: Shape, mean = 0, stddev = 1, rng: Random = globalRandom, dtype: DType = 'float32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    for (let i = 0; i < t.data.length; i++) t.data[i] = mean + stddev * rng.normal();
    return t;
  }
  static randomUniform(shape: Shape, min = 0, max = 1, rng: Random = globalRandom, dtype: DType = 'float32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    for (let i = 0; i < t.data.length; i++) t.data[i] = min + (max - min) * rng.uniform();
    return t;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`Tensor.item: expected a tensor of one value, received shape ${formatShape(this.shape)}`);
    return this.data[0];
  }

  /** Nested JavaScript arrays, for printing and tests. */
  toArray(): NestedArray | number {
    if (this.rank === 0) return this.data[0];
    const build = (dim: number, offset: number): NestedArray => {
      const n = this.shape[dim];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray = [];
      for (let i = 0; i < n; i++) {
        out.push(dim === this.rank - 1 ? this.data[offset + i] : build(dim + 1, offset + i * stride));
      }
      return out;
    };
    return build(0, 0);
  }

  /** A copy detached from autograd, optionally cast. */
  clone(dtype: DType = this.dtype): Tensor {
    const data = allocate(this.data.length, dtype);
    data.set(this.data);
    return new Tensor(data, this.shape, this.isPlaceholder);
  }

  /** Same values, no autograd history. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.isPlaceholder);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype})`;
  }
}

export type NestedArray = (number | NestedArray)[];

export function allocate(n: number, dtype: DType): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** An array of the same type as `like`. */
export function allocLike(like: FloatArray, n: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

function inferShape(values: ArrayLike<number> | NestedArray): number[] {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const arr = v as ArrayLike<unknown>;
    shape.push(arr.length);
    v = arr[0];
  }
  return shape;
}

function flatten(values: ArrayLike<number> | NestedArray): number[] {
  if (!Array.isArray(values)) return Array.from(values as ArrayLike<number>);
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else out.push(v as number);
  };
  walk(values);
  return out;
}
