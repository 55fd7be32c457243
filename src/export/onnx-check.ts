import type onnxProto from 'onnx-proto';
import { onnx } from './onnx-graph.js';

// Decoded messages are classes whose repeated fields default to [] and strings to ''.
type GraphProto = onnxProto.onnx.GraphProto;
type NodeProto = onnxProto.onnx.NodeProto;
type TensorProto = onnxProto.onnx.TensorProto;
type ValueInfoProto = onnxProto.onnx.ValueInfoProto;

/**
 * The ONNX checker's rules that can be applied in JavaScript, plus shape inference for the operators convkit
 * writes. A model passes when:
 *   - it declares an IR version and an opset for the default domain ('' or 'ai.onnx');
 *   - every tensor name is produced once (graph input, initializer or node output: static single assignment);
 *   - nodes are topologically sorted: each input exists before the node that reads it;
 *   - every graph output is produced, and every initializer is read by some node;
 *   - every initializer holds as many bytes as its dims and type say;
 *   - shapes are consistent: inferring each node's output shape from its inputs agrees with every shape the
 *     file declares (graph inputs, outputs, value_info), and operator arguments fit (Conv channels, Gemm sizes).
 */
type Dim = number | null;
type Shape = Dim[];

export interface OnnxCheckReport {
  irVersion: number;
  opset: number;
  inputs: { name: string; shape: Shape }[];
  outputs: { name: string; shape: Shape }[];
  nodes: number;
  initializers: number;
  /** How many nodes of each operator. */
  ops: Record<string, number>;
}

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 6: 4, 7: 8, 10: 2, 11: 8 };

function declared(v: onnxProto.onnx.IValueInfoProto): Shape {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : null));
}

const fmt = (s: Shape): string => `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]`;

/** Decodes an ONNX model and applies the checks; throws listing every problem found. */
export function checkOnnxModel(bytes: Uint8Array): OnnxCheckReport {
  const model = onnx.ModelProto.decode(bytes);
  const problems: string[] = [];
  const irVersion = Number(model.irVersion);
  if (!(irVersion >= 3)) problems.push(`ir_version expected >= 3, received ${irVersion}`);
  const opsetEntry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const opset = Number(opsetEntry?.version ?? 0);
  if (!opsetEntry || !(opset >= 1)) problems.push('opset_import expected an entry for the default domain, found none');
  const graph = model.graph as GraphProto | null;
  if (!graph) throw new Error('ONNX model: no graph');
  const gInputs = graph.input as ValueInfoProto[];
  const gOutputs = graph.output as ValueInfoProto[];
  const gValueInfo = graph.valueInfo as ValueInfoProto[];
  const gInits = graph.initializer as TensorProto[];
  const gNodes = graph.node as NodeProto[];
  const inits = new Map<string, TensorProto>();
  const shapes = new Map<string, Shape>();
  const produce = (name: string, shape: Shape, what: string): void => {
    if (!name) problems.push(`${what}: empty tensor name`);
    else if (shapes.has(name)) problems.push(`tensor '${name}' is produced twice (again by ${what})`);
    shapes.set(name, shape);
  };
  for (const v of gInputs) produce(v.name, declared(v), `graph input '${v.name}'`);
  for (const t of gInits) {
    const dims = t.dims.map(Number);
    inits.set(t.name, t);
    if (!shapes.has(t.name)) produce(t.name, dims, `initializer '${t.name}'`);
    const bytesPer = ELEMENT_BYTES[t.dataType];
    const size = dims.reduce((a, b) => a * b, 1);
    const stored = t.rawData?.length ? t.rawData.length : (t.floatData.length || t.int64Data.length || t.int32Data.length || t.doubleData.length) * (bytesPer ?? 0);
    if (bytesPer && stored !== size * bytesPer) problems.push(`initializer '${t.name}': dims ${fmt(dims)} need ${size * bytesPer} bytes, it holds ${stored}`);
  }
  const read = new Set<string>();
  const ops: Record<string, number> = {};
  gNodes.forEach((n, k) => {
    const who = `node #${k} ${n.opType} '${n.name}'`;
    ops[n.opType] = (ops[n.opType] ?? 0) + 1;
    if (n.domain && n.domain !== 'ai.onnx') problems.push(`${who}: domain '${n.domain}' is not the default domain`);
    const ins = n.input.map((i) => {
      if (i === '') return null;
      read.add(i);
      const s = shapes.get(i);
      if (!s) problems.push(`${who}: input '${i}' is not produced before this node (graph not topologically sorted, or missing)`);
      return s ?? null;
    });
    let out: Shape[];
    try {
      out = ins.every((s, j) => s !== null || n.input[j] === '') ? infer(n, ins, inits) : n.output.map(() => []);
    } catch (e) {
      problems.push(`${who}: ${(e as Error).message}`);
      out = n.output.map(() => []);
    }
    n.output.forEach((o, j) => produce(o, out[j] ?? [], who));
  });
  for (const t of gInits) if (!read.has(t.name)) problems.push(`initializer '${t.name}' is never used`);
  const compare = (v: ValueInfoProto, what: string): void => {
    const inferred = shapes.get(v.name);
    if (!inferred) {
      problems.push(`${what} '${v.name}' is not produced by the graph`);
      return;
    }
    const d = declared(v);
    const ok = inferred.length === 0 || (d.length === inferred.length && d.every((x, i) => x === null || inferred[i] === null || x === inferred[i]));
    if (!ok) problems.push(`${what} '${v.name}': declared shape ${fmt(d)}, inferred ${fmt(inferred)}`);
  };
  for (const v of gOutputs) compare(v, 'graph output');
  for (const v of gValueInfo) compare(v, 'value_info');
  if (gInputs.length === 0) problems.push('the graph has no input');
  if (gOutputs.length === 0) problems.push('the graph has no output');
  if (problems.length > 0) throw new Error(`ONNX model '${graph.name}' is not valid (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
  return {
    irVersion,
    opset,
    inputs: gInputs.map((v) => ({ name: v.name, shape: declared(v) })),
    outputs: gOutputs.map((v) => ({ name: v.name, shape: shapes.get(v.name) ?? [] })),
    nodes: gNodes.length,
    initializers: gInits.length,
    ops,
  };
}

const ints = (n: NodeProto, name: string, fallback: number[]): number[] => (n.attribute?.find((a) => a.name === name)?.ints ?? fallback).map(Number);
const int = (n: NodeProto, name: string, fallback: number): number => {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? Number(a.i) : fallback;
};

function int64Values(t: TensorProto | undefined, what: string): number[] {
  if (!t) throw new Error(`${what} must be an initializer`);
  if (t.rawData?.length) return Array.from(new BigInt64Array(new Uint8Array(t.rawData).buffer), Number);
  return (t.int64Data ?? []).map(Number);
}

function window(x: Shape, k: number[], s: number[], d: number[], pads: number[]): Shape {
  const r = k.length;
  return k.map((kk, i) => {
    const size = x[2 + i];
    if (size === null) return null;
    const out = Math.floor((size + pads[i] + pads[i + r] - ((kk - 1) * (d[i] ?? 1) + 1)) / s[i]) + 1;
    if (out <= 0) throw new Error(`window ${kk} over ${size} (pads ${pads[i]}, ${pads[i + r]}) gives no output`);
    return out;
  });
}

function expectRank(x: Shape, r: number, what: string): void {
  if (x.length !== r) throw new Error(`${what} expected rank ${r}, received ${fmt(x)}`);
}

function same(a: Dim, b: Dim, what: string): void {
  if (a !== null && b !== null && a !== b) throw new Error(`${what}: ${a} vs ${b}`);
}

/** Output shapes of one node (numpy broadcasting for Add). */
function infer(n: NodeProto, ins: (Shape | null)[], inits: Map<string, TensorProto>): Shape[] {
  const [x, w] = ins as Shape[];
  switch (n.opType) {
    case 'Identity': case 'Relu': case 'Sigmoid': case 'Tanh': case 'Clip': case 'Softmax':
      return [x];
    case 'Transpose':
      return [ints(n, 'perm', x.map((_, i) => x.length - 1 - i)).map((p) => x[p])];
    case 'BatchNormalization':
      for (const p of ins.slice(1) as Shape[]) same(p[0], x[1], 'BatchNormalization parameter length vs channels');
      return [x];
    case 'Conv': {
      expectRank(x, 4, 'Conv input');
      const group = int(n, 'group', 1);
      same(x[1], (w[1] as number) * group, 'Conv input channels vs weight channels x group');
      if (ins[2]) same((ins[2] as Shape)[0], w[0], 'Conv bias length vs output channels');
      const k = ints(n, 'kernel_shape', w.slice(2) as number[]);
      return [[x[0], w[0], ...window(x, k, ints(n, 'strides', [1, 1]), ints(n, 'dilations', [1, 1]), ints(n, 'pads', [0, 0, 0, 0]))]];
    }
    case 'MaxPool': case 'AveragePool': {
      expectRank(x, 4, `${n.opType} input`);
      const k = ints(n, 'kernel_shape', []);
      return [[x[0], x[1], ...window(x, k, ints(n, 'strides', [1, 1]), [1, 1], ints(n, 'pads', [0, 0, 0, 0]))]];
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool':
      return [[x[0], x[1], ...x.slice(2).map(() => 1)]];
    case 'Flatten': {
      const axis = int(n, 'axis', 1);
      const prod = (s: Shape): Dim => (s.some((d) => d === null) ? null : (s as number[]).reduce((a, b) => a * b, 1));
      return [[prod(x.slice(0, axis)), prod(x.slice(axis))]];
    }
    case 'Reshape': {
      const target = int64Values(inits.get(n.input[1]), 'Reshape shape');
      const out: Shape = target.map((t, i) => (t === 0 ? x[i] : t === -1 ? null : t));
      const known = x.slice(1);
      if (x[0] !== null || target[0] !== 0 || known.some((d) => d === null)) return [out];
      const total = (known as number[]).reduce((a, b) => a * b, 1);
      const rest = target.slice(1).filter((t) => t !== -1).reduce((a, b) => a * b, 1);
      const filled = out.map((d, i) => (i > 0 && d === null ? total / rest : d));
      if (filled.some((d) => d !== null && !Number.isInteger(d)) || (filled.slice(1) as number[]).reduce((a, b) => a * b, 1) !== total) {
        throw new Error(`Reshape of ${fmt(x)} to ${JSON.stringify(target)} changes the number of values`);
      }
      return [filled];
    }
    case 'Pad': {
      const pads = int64Values(inits.get(n.input[1]), 'Pad pads');
      return [x.map((d, i) => (d === null ? null : d + pads[i] + pads[i + x.length]))];
    }
    case 'Concat': {
      const all = ins as Shape[];
      const axis = (int(n, 'axis', 0) + x.length) % x.length;
      all.forEach((s) => s.forEach((d, i) => i !== axis && same(d, x[i], 'Concat inputs on non-concatenated axes')));
      return [x.map((d, i) => (i !== axis ? d : all.some((s) => s[i] === null) ? null : all.reduce((a, s) => a + (s[i] as number), 0)))];
    }
    case 'Add': {
      const r = Math.max(x.length, w.length);
      const a = [...Array(r - x.length).fill(1), ...x];
      const b = [...Array(r - w.length).fill(1), ...w];
      return [a.map((d, i) => {
        if (d === 1) return b[i];
        if (b[i] === 1) return d;
        same(d, b[i], 'Add broadcasting');
        return d ?? b[i];
      })];
    }
    case 'Gemm': {
      expectRank(x, 2, 'Gemm A');
      const a = int(n, 'transA', 0) ? [x[1], x[0]] : x;
      const b = int(n, 'transB', 0) ? [w[1], w[0]] : w;
      same(a[1], b[0], 'Gemm inner dimension');
      if (ins[2]) same((ins[2] as Shape)[(ins[2] as Shape).length - 1], b[1], 'Gemm C length vs N');
      return [[a[0], b[1]]];
    }
    case 'MatMul':
      same(x[x.length - 1], w[0], 'MatMul inner dimension');
      return [[...x.slice(0, -1), w[w.length - 1]]];
    default:
      throw new Error(`operator '${n.opType}' is not one this checker infers shapes for`);
  }
}
