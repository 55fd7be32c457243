/**
 * Geometry once: the output-shape and padding rules of convolution and pooling, computed in one place and
 * handed down to the op, the kernel, summary() and the maths tools, so that they can never disagree.
 *
 *   same:  out = ceil(in / s); the total padding is split with the odd pixel at the bottom/right (TensorFlow).
 *   valid: out = floor((in - ((k - 1) * d + 1)) / s) + 1, that is ceil((in - k_eff + 1) / s).
 */
export type Padding = 'valid' | 'same';
/** Explicit padding: [[top, bottom], [left, right]]. */
export type ExplicitPadding = readonly [readonly [number, number], readonly [number, number]];

export interface Conv2DInfo {
  // input [n, h, w, c] (NHWC)
  n: number; h: number; w: number; c: number;
  // kernel [kh, kw, c, outC / depthMultiplier] (HWIO) or depthwise [kh, kw, c, depthMultiplier]
  kh: number; kw: number;
  sh: number; sw: number;
  dh: number; dw: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  // output [n, oh, ow, outC]
  oh: number; ow: number; outC: number;
  /** Output channels per input channel for depthwise convolution; 1 for ordinary convolution. */
  depthMultiplier: number;
}

export type Pool2DInfo = Omit<Conv2DInfo, 'outC' | 'depthMultiplier' | 'dh' | 'dw'>;

export interface WindowArgs {
  /** Input [n, h, w, c]. */
  inputShape: readonly number[];
  kernelSize: readonly [number, number];
  strides: readonly [number, number];
  dilation?: readonly [number, number];
  padding: Padding | ExplicitPadding;
  /** Who asks, for error messages: e.g. "Conv2D 'conv2d_1'". */
  who?: string;
}

/** One spatial axis: output size and padding before/after. */
export function windowAxis(size: number, k: number, s: number, d: number, padding: Padding | readonly [number, number]): { out: number; before: number; after: number } {
  const kEff = (k - 1) * d + 1;
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + kEff - size, 0);
    const before = Math.floor(total / 2);
    return { out, before, after: total - before };
  }
  const [before, after] = padding === 'valid' ? [0, 0] : padding;
  const padded = size + before + after;
  return { out: padded >= kEff ? Math.floor((padded - kEff) / s) + 1 : 0, before, after };
}

function windowInfo(args: WindowArgs): Pool2DInfo & { dh: number; dw: number } {
  const who = args.who ?? 'conv2d';
  const shape = args.inputShape;
  if (shape.length !== 4) {
    throw new Error(`${who}: argument 'input' expected rank 4 [batch, height, width, channels], received shape [${shape.join(', ')}]`);
  }
  // Indexed, not destructured: destructuring a (frozen) shape array goes through its iterator.
  const n = shape[0], h = shape[1], w = shape[2], c = shape[3];
  const kh = args.kernelSize[0], kw = args.kernelSize[1];
  const sh = args.strides[0], sw = args.strides[1];
  const dh = args.dilation ? args.dilation[0] : 1, dw = args.dilation ? args.dilation[1] : 1;
  // Checked one by one (every op call comes here: a list of pairs to loop over was garbage each time).
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${who}: argument '${name}' expected positive integers, received ${v}`);
  };
  positive('kernelSize', kh);
  positive('kernelSize', kw);
  positive('strides', sh);
  positive('strides', sw);
  positive('dilationRate', dh);
  positive('dilationRate', dw);
  const pad = args.padding;
  const rows = windowAxis(h, kh, sh, dh, typeof pad === 'string' ? pad : pad[0]);
  const cols = windowAxis(w, kw, sw, dw, typeof pad === 'string' ? pad : pad[1]);
  if (rows.out <= 0 || cols.out <= 0) {
    throw new Error(
      `${who}: argument 'kernelSize' expected a window no larger than the padded input, received kernel ${kh}x${kw}` +
        (dh > 1 || dw > 1 ? ` (dilation ${dh}x${dw})` : '') +
        ` over input ${h}x${w} with padding ${JSON.stringify(pad)}`,
    );
  }
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, padTop: rows.before, padBottom: rows.after, padLeft: cols.before, padRight: cols.after, oh: rows.out, ow: cols.out };
}

/** Geometry of Conv2D (filters) or DepthwiseConv2D (depthMultiplier, outC = c * depthMultiplier). */
export function conv2dInfo(args: WindowArgs & { filters?: number; depthMultiplier?: number }): Conv2DInfo {
  const g = windowInfo(args);
  const depthMultiplier = args.depthMultiplier ?? 1;
  const outC = args.filters ?? g.c * depthMultiplier;
  return { ...g, outC, depthMultiplier };
}

export function pool2dInfo(args: WindowArgs): Pool2DInfo {
  const { dh: _dh, dw: _dw, ...g } = windowInfo(args);
  return g;
}

/**
 * The geometry as the native kernels take it: 18 numbers in the field order of native/common.h (struct Geom).
 * A pooling window has no dilation (1), and outC = c, depthMultiplier = 1. Used by the native backend's calls
 * and by the inference plan's op records.
 */
export function geometryFields(g: Conv2DInfo | Pool2DInfo): number[] {
  return writeGeometryFields(g, new Array<number>(18));
}

/** geometryFields written into `out` (the native backend's one reused buffer: nothing allocated per call). */
export function writeGeometryFields<T extends number[] | Int32Array>(g: Conv2DInfo | Pool2DInfo, out: T): T {
  const conv = g as Partial<Conv2DInfo>;
  out[0] = g.n; out[1] = g.h; out[2] = g.w; out[3] = g.c; out[4] = g.kh; out[5] = g.kw; out[6] = g.sh; out[7] = g.sw;
  out[8] = conv.dh ?? 1; out[9] = conv.dw ?? 1;
  out[10] = g.padTop; out[11] = g.padBottom; out[12] = g.padLeft; out[13] = g.padRight;
  out[14] = g.oh; out[15] = g.ow; out[16] = conv.outC ?? g.c; out[17] = conv.depthMultiplier ?? 1;
  return out;
}
