import { Shape, formatShape, shapesEqual } from './shape.js';
import { FloatArray, Tensor } from './tensor.js';

/**
 * A named, mutable tensor owned by a layer: a kernel, a bias, a moving statistic. Optimizers update its
 * values in place; autograd treats it as a leaf.
 */
export class Variable extends Tensor {
  /** Keras-style path, for example `conv_dw_1/depthwise_kernel`. */
  name: string;
  trainable: boolean;
  /**
   * Bumped by every change of the values through the library (assign, optimizer steps, batch norm's moving
   * statistics, loading weights): what an inference plan checks to know that its folded copy is stale. Code
   * that writes `data` directly must call markChanged().
   */
  version = 0;

  /**
   * Variables made so far in this process. A training step compares it before and after: only a step that
   * made some (the first, building weights lazily from its arena) needs the model's weights walked to keep
   * their arrays out of the arena.
   */
  static created = 0;

  /**
   * Changes of any variable's values so far in this process (the sum of every version bump): a plan that saw
   * this count when it last checked its weights knows, without walking them, that none changed.
   */
  static changes = 0;

  constructor(name: string, data: FloatArray, shape: Shape, trainable = true) {
    super(data, shape);
    Variable.created++;
    this.name = name;
    this.trainable = trainable;
    this.requiresGrad = trainable;
  }

  /** Records that the values changed (see version). */
  markChanged(): void {
    this.version++;
    Variable.changes++;
  }

  /** Copies values in; the shape must match exactly. */
  assign(values: Tensor | ArrayLike<number>): void {
    if (values instanceof Tensor) {
      if (!shapesEqual(values.shape, this.shape)) {
        throw new Error(`Variable ${this.name}: expected shape ${formatShape(this.shape)}, received ${formatShape(values.shape)}`);
      }
      this.data.set(values.data);
      this.markChanged();
      return;
    }
    if (values.length !== this.data.length) {
      throw new Error(`Variable ${this.name}: expected ${this.data.length} values, received ${values.length}`);
    }
    this.data.set(values);
    this.markChanged();
  }
}
