import { add as addOp } from '../ops/elementwise.js';
import { concat } from '../ops/layout.js';
import { zeroPad2d } from '../ops/layout.js';
import { SymbolicShape, formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Layer, LayerConfig, LayerInput } from './layer.js';

function list(layer: Layer, shapes: SymbolicShape | SymbolicShape[]): SymbolicShape[] {
  if (!Array.isArray(shapes[0]) || (shapes as SymbolicShape[]).length < 2) {
    throw new Error(`${layer.who}: argument 'inputs' expected a list of at least 2 tensors, received ${Array.isArray(shapes[0]) ? `${shapes.length} tensor` : 'a single tensor'}`);
  }
  return shapes as SymbolicShape[];
}

function tensors(layer: Layer, inputs: LayerInput): readonly Tensor[] {
  if (!Array.isArray(inputs) || inputs.length < 2) {
    throw new Error(`${layer.who}: argument 'inputs' expected a list of at least 2 tensors, received ${Array.isArray(inputs) ? `${inputs.length} tensor` : 'a single tensor'}`);
  }
  return inputs;
}

/** Add (keras.layers.Add): the elementwise sum of inputs of identical shape (a ResNet shortcut). */
export class Add extends Layer {
  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const shapes = list(this, inputShape);
    for (const s of shapes.slice(1)) {
      if (!shapesEqual(s, shapes[0])) throw new Error(`${this.who}: argument 'inputs' expected tensors of one shape, received ${shapes.map(formatShape).join(' and ')}`);
    }
    return shapes[0];
  }

  call(inputs: LayerInput): Tensor {
    const xs = tensors(this, inputs);
    this.computeOutputShape(xs.map((t) => t.shape));
    return xs.slice(1).reduce((acc, x) => addOp(acc, x), xs[0]);
  }
}

/** Concatenate (keras.layers.Concatenate) along the channel (last) axis, as Inception joins its branches. */
export class Concatenate extends Layer {
  constructor(config: LayerConfig & { axis?: number } = {}) {
    super(config);
    if (config.axis !== undefined && config.axis !== -1) this.fail('axis', '-1 (the channel axis; other axes are not supported)', config.axis);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const shapes = list(this, inputShape);
    const lead = shapes[0].slice(0, -1);
    for (const s of shapes) {
      if (s.length !== shapes[0].length || !shapesEqual(s.slice(0, -1), lead)) {
        throw new Error(`${this.who}: argument 'inputs' expected shapes that agree on every axis but the last, received ${shapes.map(formatShape).join(', ')}`);
      }
    }
    const last = shapes.map((s) => s[s.length - 1]);
    return [...lead, last.some((d) => d === null) ? null : last.reduce<number>((a, b) => a + (b as number), 0)];
  }

  call(inputs: LayerInput): Tensor {
    const xs = tensors(this, inputs);
    this.computeOutputShape(xs.map((t) => t.shape));
    return concat(xs, this.who);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: -1 };
  }
}

/** ZeroPadding2D (keras.layers.ZeroPadding2D): padding = p, [ph, pw], or [[top, bottom], [left, right]]. */
export class ZeroPadding2D extends Layer {
  readonly padding: [[number, number], [number, number]];

  constructor(config: LayerConfig & { padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]] } = {}) {
    super(config);
    const p = config.padding ?? 1;
    const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
    if (ok(p)) this.padding = [[p, p], [p, p]];
    else if (Array.isArray(p) && p.length === 2 && ok(p[0]) && ok(p[1])) this.padding = [[p[0], p[0]], [p[1], p[1]]];
    else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(ok))) {
      const [[t, b], [l, r]] = p as [[number, number], [number, number]];
      this.padding = [[t, b], [l, r]];
    } else this.fail('padding', 'a non-negative integer, a pair, or [[top, bottom], [left, right]]', p);
  }

  override computeOutputShape(inputShape: SymbolicShape | SymbolicShape[]): SymbolicShape {
    const s = this.singleShape(inputShape);
    this.expectInput(s, 4, '[batch, height, width, channels]');
    const [[t, b], [l, r]] = this.padding;
    return [s[0], s[1] === null ? null : s[1] + t + b, s[2] === null ? null : s[2] + l + r, s[3]];
  }

  call(inputs: LayerInput): Tensor {
    return zeroPad2d(this.single(inputs), this.padding, this.who);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), padding: this.padding };
  }
}
