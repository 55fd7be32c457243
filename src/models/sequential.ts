import { CallOptions, Layer, LayerConfig, LayerInput } from '../layers/layer.js';
import { InputLayer } from '../layers/input.js';
import { applyFusedPair } from '../layers/fusion.js';
import { SymbolicTensor } from '../layers/symbolic.js';
import { SymbolicShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Model } from './model.js';

/**
 * A plain stack of layers (keras.Sequential). Given an input shape (an `inputShape` on the first layer, or an
 * Input() first), it builds as layers are added, so a wrong shape fails at `add`, naming the layer.
 */
export class Sequential extends Model {
  private readonly stack: Layer[] = [];
  private inputShape: SymbolicShape | null = null;
  private outputShape: SymbolicShape | null = null;

  constructor(layers: readonly (Layer | SymbolicTensor)[] = [], config: LayerConfig = {}) {
    super(config);
    for (const l of layers) this.add(l);
  }

  add(item: Layer | SymbolicTensor): this {
    if (item instanceof SymbolicTensor) {
      if (!(item.node.layer instanceof InputLayer) || this.stack.length > 0) {
        throw new Error(`Sequential '${this.name}': an Input() may only come first, received it after ${this.stack.length} layer(s)`);
      }
      this.inputShape = item.shape;
      this.outputShape = item.shape;
      return this;
    }
    if (!(item instanceof Layer)) throw new Error(`Sequential '${this.name}': argument 'layer' expected a Layer, received ${String(item)}`);
    if (this.stack.length === 0 && !this.inputShape && item.batchInputShape) {
      this.inputShape = item.batchInputShape;
      this.outputShape = item.batchInputShape;
    }
    this.stack.push(item);
    if (this.outputShape) this.outputShape = this.propagate(item, this.outputShape);
    return this;
  }

  /** Removes the last layer (keras Sequential.pop). */
  pop(): Layer {
    const l = this.stack.pop();
    if (!l) throw new Error(`Sequential '${this.name}': pop() on an empty model`);
    this.outputShape = this.inputShape;
    if (this.inputShape) for (const layer of this.stack) this.outputShape = layer.lastOutputShape ?? this.outputShape;
    return l;
  }

  override get layers(): Layer[] {
    return [...this.stack];
  }

  /** The batch input shape the model was given or built with (batch null), or null before either. */
  get declaredInputShape(): SymbolicShape | null {
    return this.inputShape;
  }

  private propagate(layer: Layer, shape: SymbolicShape): SymbolicShape {
    if (!layer.built) layer.build(shape);
    const out = layer.computeOutputShape(shape);
    layer.lastOutputShape = out;
    return out;
  }

  /** Builds every layer for this input shape (batch may be null), as keras Model.build. */
  override build(inputShape: SymbolicShape | SymbolicShape[]): void {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as SymbolicShape[])[0] : inputShape) as SymbolicShape;
    this.inputShape = [null, ...s.slice(1)];
    let shape: SymbolicShape = this.inputShape;
    for (const layer of this.stack) shape = this.propagate(layer, shape);
    this.outputShape = shape;
    this.built = true;
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    let shape = (Array.isArray(inputShape[0]) ? (inputShape as SymbolicShape[])[0] : inputShape) as SymbolicShape;
    for (const layer of this.stack) shape = layer.computeOutputShape(shape);
    return shape;
  }

  override call(inputs: LayerInput, opts: CallOptions = {}): Tensor {
    if (this.stack.length === 0) throw new Error(`Sequential '${this.name}': cannot call a model with no layers`);
    let x = this.single(inputs);
    for (let i = 0; i < this.stack.length; i++) {
      // BatchNormalization then ReLU / ReLU6, ZeroPadding2D then a convolution: one op (layers/fusion.ts).
      const fused = i + 1 < this.stack.length ? applyFusedPair(this.stack[i], this.stack[i + 1], x, opts) : null;
      if (fused) {
        x = fused;
        i++;
      } else {
        x = this.stack[i].apply(x, opts);
      }
    }
    return x;
  }
}
