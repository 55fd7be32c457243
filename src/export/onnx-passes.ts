import { GraphBuilder, NodeProto, TensorProto } from './onnx-graph.js';

/**
 * Graph rewrites applied after conversion. Both only touch a tensor that exactly one node reads, so what they
 * remove cannot be observed elsewhere in the graph. Initializers left unused are dropped when the model is
 * assembled.
 */

function floatsOf(t: TensorProto): Float32Array {
  const raw = t.rawData as Uint8Array;
  return new Float32Array(new Uint8Array(raw).buffer);
}

function setFloats(t: TensorProto, values: Float32Array): void {
  t.rawData = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function int64sOf(t: TensorProto): number[] {
  const raw = t.rawData as Uint8Array;
  return Array.from(new BigInt64Array(new Uint8Array(raw).buffer), Number);
}

function readers(g: GraphBuilder): Map<string, NodeProto[]> {
  const m = new Map<string, NodeProto[]>();
  for (const n of g.nodes) for (const i of n.input ?? []) m.set(i, [...(m.get(i) ?? []), n]);
  return m;
}

const attr = (n: NodeProto, name: string) => n.attribute?.find((a) => a.name === name);

function remove(g: GraphBuilder, node: NodeProto): void {
  g.nodes.splice(g.nodes.indexOf(node), 1);
}

/**
 * BatchNormalization after a Conv is folded into it: with s = gamma / sqrt(variance + epsilon),
 *   W'[o] = W[o] * s[o],   b'[o] = (b[o] - mean[o]) * s[o] + beta[o]      (b = 0 without a bias)
 * computed in float64 and stored as float32.
 */
export function foldBatchNorm(g: GraphBuilder): void {
  const inits = new Map(g.initializers.map((t) => [t.name as string, t]));
  const producer = new Map(g.nodes.map((n) => [n.output?.[0] as string, n]));
  for (const bn of g.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    const reads = readers(g);
    const x = bn.input?.[0] as string;
    const conv = producer.get(x);
    if (!conv || conv.opType !== 'Conv' || reads.get(x)?.length !== 1) continue;
    const [wName, bName] = [conv.input?.[1] as string, conv.input?.[2]];
    const w = inits.get(wName);
    const params = (bn.input ?? []).slice(1).map((name) => inits.get(name));
    if (!w || reads.get(wName)?.length !== 1 || params.some((p) => !p) || (bName && (!inits.has(bName) || reads.get(bName)?.length !== 1))) continue;
    const [gamma, beta, mean, variance] = params.map((p) => floatsOf(p as TensorProto));
    const eps = attr(bn, 'epsilon')?.f ?? 1e-5;
    const weights = floatsOf(w);
    const outC = gamma.length;
    const per = weights.length / outC;
    const bias = bName ? floatsOf(inits.get(bName) as TensorProto) : new Float32Array(outC);
    const newBias = new Float32Array(outC);
    for (let o = 0; o < outC; o++) {
      const s = gamma[o] / Math.sqrt(variance[o] + eps);
      for (let k = 0; k < per; k++) weights[o * per + k] = weights[o * per + k] * s;
      newBias[o] = (bias[o] - mean[o]) * s + beta[o];
    }
    setFloats(w, weights);
    if (bName) setFloats(inits.get(bName) as TensorProto, newBias);
    else conv.input = [...(conv.input ?? []), g.floats(`${wName.replace(/\/(depthwise_)?kernel$/, '')}/folded_bias`, newBias, [outC])];
    // The conv now writes what the BatchNormalization wrote.
    g.shapes.delete(x);
    conv.output = [bn.output?.[0] as string];
    producer.set(conv.output[0], conv);
    remove(g, bn);
  }
}

/** A zero Pad of the spatial axes feeding only a Conv becomes the Conv's own padding (MobileNet's conv_pad_*). */
export function foldPadIntoConv(g: GraphBuilder): void {
  const inits = new Map(g.initializers.map((t) => [t.name as string, t]));
  for (const pad of g.nodes.filter((n) => n.opType === 'Pad')) {
    const reads = readers(g).get(pad.output?.[0] as string) ?? [];
    const mode = attr(pad, 'mode')?.s;
    const constant = mode === undefined || mode === null || new TextDecoder().decode(mode as Uint8Array) === 'constant';
    const padsInit = inits.get(pad.input?.[1] as string);
    if (reads.length !== 1 || reads[0].opType !== 'Conv' || reads[0].input?.[0] !== pad.output?.[0] || !constant || !padsInit || (pad.input?.length ?? 0) > 2) continue;
    const [n0, c0, t, l, n1, c1, b, r] = int64sOf(padsInit);
    if (n0 || c0 || n1 || c1) continue;
    const conv = reads[0];
    const pads = attr(conv, 'pads');
    const [pt, pl, pb, pr] = (pads?.ints ?? [0, 0, 0, 0]).map(Number);
    const merged = [pt + t, pl + l, pb + b, pr + r];
    if (pads) pads.ints = merged;
    else conv.attribute = [...(conv.attribute ?? []), { name: 'pads', type: 7, ints: merged }];
    g.shapes.delete(pad.output?.[0] as string);
    conv.input = [pad.input?.[0] as string, ...(conv.input ?? []).slice(1)];
    remove(g, pad);
  }
}
