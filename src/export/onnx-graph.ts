import onnxProto from 'onnx-proto';
import type { SymbolicShape } from '../tensor/shape.js';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX TensorProto.DataType codes used here. */
export const FLOAT = 1;
export const INT64 = 7;

/**
 * A tensor of the graph being built. `shape` is the Keras shape (channels last, batch null); `layout` says how
 * the ONNX tensor holds it: 'nchw' is a rank-4 tensor transposed to channels-first (what ONNX Conv and pooling
 * take), 'keras' is the Keras order itself.
 */
export interface Value {
  name: string;
  shape: SymbolicShape;
  layout: 'keras' | 'nchw';
}

export type AttrValue = number | number[] | string;

/** Keras NHWC -> ONNX NCHW and back. */
export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** The shape of a value as ONNX holds it. */
export function onnxShape(v: Value): SymbolicShape {
  return v.layout === 'nchw' ? TO_NCHW.map((i) => v.shape[i]) : v.shape;
}

/**
 * Nodes, initializers and shapes of one ONNX graph, in the order they are added (each node after the nodes
 * that produce its inputs, so the graph comes out topologically sorted).
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** ONNX shape of every tensor a node produces (batch null = symbolic). */
  readonly shapes = new Map<string, SymbolicShape>();
  private readonly used = new Set<string>();
  /** Transposed copies already made: value name -> layout -> name. */
  private readonly converted = new Map<string, Value>();

  /** A name not used yet in this graph: `base`, then `base_1`, ... */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    for (let k = 1; this.used.has(name); k++) name = `${clean}_${k}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer (values copied into little-endian bytes). */
  floats(base: string, data: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.unique(base);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: new Uint8Array(f32.buffer.slice(f32.byteOffset, f32.byteOffset + f32.byteLength)) });
    return name;
  }

  /** An int64 initializer (shapes, pads). */
  int64s(base: string, values: readonly number[]): string {
    const name = this.unique(base);
    const b = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }

  /** Adds a node; returns its (single) output name, whose ONNX shape is `shape`. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue>, outBase: string, shape: SymbolicShape): string {
    const out = this.unique(outBase);
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
      return Number.isInteger(v) && !FLOAT_ATTRS.has(name)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
    });
    this.nodes.push({ opType, name: out, input: [...inputs], output: [out], attribute });
    this.shapes.set(out, shape);
    return out;
  }

  /** The value in the wanted layout, adding a Transpose the first time (rank-4 values only). */
  as(v: Value, layout: Value['layout']): Value {
    if (v.layout === layout) return v;
    if (v.shape.length !== 4) throw new Error(`ONNX export: only rank-4 tensors change layout, received '${v.name}' of shape ${JSON.stringify(v.shape)}`);
    const key = `${v.name}->${layout}`;
    const done = this.converted.get(key);
    if (done) return done;
    const target: Value = { name: '', shape: v.shape, layout };
    target.name = this.node('Transpose', [v.name], { perm: layout === 'nchw' ? TO_NCHW : TO_NHWC }, `${v.name}_${layout === 'nchw' ? 'nchw' : 'nhwc'}`, onnxShape(target));
    this.converted.set(key, target);
    return target;
  }

  nchw(v: Value): Value {
    return this.as(v, 'nchw');
  }

  keras(v: Value): Value {
    return v.shape.length === 4 ? this.as(v, 'keras') : v;
  }
}

/** Attributes that ONNX defines as floats even when the value is whole (BatchNormalization's epsilon, say). */
const FLOAT_ATTRS = new Set(['epsilon', 'momentum', 'alpha', 'beta', 'value']);

/** Keras HWIO kernel [kh, kw, cin, cout] -> ONNX OIHW [cout, cin, kh, kw]. */
export function hwioToOihw(k: Float32Array | Float64Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < cin; c++) {
        const src = ((i * kw + j) * cin + c) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + c) * kh + i) * kw + j] = k[src + o];
      }
    }
  }
  return out;
}

/** Keras depthwise kernel [kh, kw, c, m] -> ONNX grouped-conv weight [c * m, 1, kh, kw] (group = c). */
export function depthwiseToOihw(k: Float32Array | Float64Array, kh: number, kw: number, c: number, m: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ch = 0; ch < c; ch++) {
        for (let d = 0; d < m; d++) out[((ch * m + d) * kh + i) * kw + j] = k[((i * kw + j) * c + ch) * m + d];
      }
    }
  }
  return out;
}
