import { SymbolicShape, formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Layer, LayerInput } from './layer.js';
import { SymbolicTensor } from './symbolic.js';

/** The source of a functional graph (keras.layers.InputLayer); its call is the identity. */
export class InputLayer extends Layer {
  readonly shape: SymbolicShape;

  constructor(config: { shape: SymbolicShape; name?: string }) {
    super({ name: config.name });
    this.shape = config.shape;
    this.built = true;
  }

  override computeOutputShape(): SymbolicShape {
    return this.shape;
  }

  call(inputs: LayerInput): Tensor {
    const x = this.single(inputs);
    const ok = x.rank === this.shape.length && this.shape.every((d, i) => d === null || d === x.shape[i]);
    if (!ok) this.fail('input', `shape ${formatShape(this.shape)}`, `shape ${formatShape(x.shape)}`);
    return x;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), batchShape: this.shape };
  }
}

/**
 * keras.Input: a symbolic tensor of shape [batchSize ?? null, ...shape] to start a functional model.
 *   const x = Input({ shape: [32, 32, 3] });
 */
export function Input(config: { shape: readonly number[]; batchSize?: number; name?: string }): SymbolicTensor {
  if (!Array.isArray(config.shape) || !config.shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`Input: argument 'shape' expected positive integers (batch excluded), received ${JSON.stringify(config.shape)}`);
  }
  const layer = new InputLayer({ shape: [config.batchSize ?? null, ...config.shape], name: config.name });
  const output = new SymbolicTensor(layer.shape);
  output.node = { layer, inputs: [], output };
  layer.inboundNodes.push(output.node);
  layer.lastOutputShape = layer.shape;
  return output;
}
