import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Activation, Backend, FloatArray } from '../backend.js';
import { type Conv2DInfo, type Pool2DInfo, writeGeometryFields } from '../geometry.js';
import { cacheLineAllocator, outputF32, setFloat32Allocator, zerosF32 } from '../arena.js';
import { registerBackend, registerPlanRunner } from '../index.js';
import { referenceBackend as ref } from '../reference/index.js';
import type { NativeAddon, NativeInfo } from './addon.js';
import type { PlanRunner } from '../index.js';

export type { NativeAddon, NativeInfo } from './addon.js';

/**
 * The native backend: the C++ addon of native/ (built by scripts/build-native.mjs at install), wrapped into a
 * Backend that overrides what C++ implements and inherits the rest from the reference backend.
 *
 * Zero-copy: Float32Arrays go to C++ as they are; outputs are allocated here and written in place by C++.
 * Anything that is not float32 (float64 gradient checks) is handed to the reference backend, so the
 * addon only ever sees Float32Array.
 *
 * Importing this module loads the addon and makes it the active backend (unless CONVKIT_BACKEND=reference).
 * When the addon is missing it warns once and the reference backend stays active.
 */

/** Activation codes of native/kernels.h (enum class Act). */
const ACTIVATION_CODE: Record<Activation, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4 };

/**
 * Geometry goes to C++ as 18 int32 in the field order of native/common.h (struct Geom). One buffer is
 * reused: calls are synchronous and C++ copies the fields before doing anything else.
 */
const geomBuf = new Int32Array(18);
function packGeom(g: Conv2DInfo | Pool2DInfo): Int32Array {
  return writeGeometryFields(g, geomBuf);
}

const isF32 = (a: FloatArray | null): a is Float32Array => a instanceof Float32Array;
// Outputs: `f32` for kernels that write every element (all of native/, as kernels.h promises and
// test/native/layout.test.ts checks on NaN-filled recycled arrays), `z32` where only part is written (the
// border of pad2d). Both come from the step's BufferArena when one is active (src/backend/arena.ts).
const f32 = outputF32;
const z32 = zerosF32;

function makeBackend(addon: NativeAddon): Backend {
  return {
    ...ref,
    name: 'native',

    add(a, b) {
      if (!isF32(a) || !isF32(b)) return ref.add(a, b);
      const out = f32(a.length);
      addon.add(a, b, out);
      return out;
    },
    addN(parts) {
      if (parts.length < 2 || parts.length > 8 || !parts.every(isF32)) return ref.addN(parts);
      const out = f32(parts[0].length);
      addon.addN(parts as Float32Array[], out);
      return out;
    },
    sub(a, b) {
      if (!isF32(a) || !isF32(b)) return ref.sub(a, b);
      const out = f32(a.length);
      addon.sub(a, b, out);
      return out;
    },
    mul(a, b) {
      if (!isF32(a) || !isF32(b)) return ref.mul(a, b);
      const out = f32(a.length);
      addon.mul(a, b, out);
      return out;
    },
    scale(a, s) {
      if (!isF32(a)) return ref.scale(a, s);
      const out = f32(a.length);
      addon.scale(a, s, out);
      return out;
    },
    sum: (a) => (isF32(a) ? addon.sum(a) : ref.sum(a)),
    sumSquares: (a) => (isF32(a) ? addon.sumSquares(a) : ref.sumSquares(a)),
    allFinite: (a) => (isF32(a) ? addon.allFinite(a) : ref.allFinite(a)),
    dropout(x, rate, seed) {
      if (!isF32(x)) return ref.dropout(x, rate, seed);
      const y = f32(x.length);
      addon.dropout(x, rate, seed, y);
      return y;
    },

    biasAdd(x, bias, c) {
      if (!isF32(x) || !isF32(bias)) return ref.biasAdd(x, bias, c);
      const y = f32(x.length);
      addon.biasAdd(x, bias, y, c);
      return y;
    },
    sumRows(x, c) {
      if (!isF32(x)) return ref.sumRows(x, c);
      const y = f32(c);
      addon.sumRows(x, y, c);
      return y;
    },
    channelAffine(x, scale, shift, c, act = 'linear') {
      if (!isF32(x) || !isF32(scale) || !isF32(shift)) return ref.channelAffine(x, scale, shift, c, act);
      const y = f32(x.length);
      addon.channelAffine(x, scale, shift, y, c, ACTIVATION_CODE[act]);
      return y;
    },

    activation(kind, x) {
      const code = ACTIVATION_CODE[kind];
      if (code === undefined || !isF32(x)) return ref.activation(kind, x);
      const y = f32(x.length);
      addon.activation(code, x, y);
      return y;
    },
    activationBackward(kind, x, y, dy) {
      const code = ACTIVATION_CODE[kind];
      if (code === undefined || !isF32(x) || !isF32(y) || !isF32(dy)) return ref.activationBackward(kind, x, y, dy);
      const dx = f32(dy.length);
      addon.activationBackward(code, x, y, dy, dx);
      return dx;
    },
    softmax(x, c) {
      if (!isF32(x)) return ref.softmax(x, c);
      const y = f32(x.length);
      addon.softmax(x, y, c);
      return y;
    },
    softmaxBackward(y, dy, c) {
      if (!isF32(y) || !isF32(dy)) return ref.softmaxBackward(y, dy, c);
      const dx = f32(dy.length);
      addon.softmaxBackward(y, dy, dx, c);
      return dx;
    },

    // Layout ops are strided row copies (copyRows); a subarray per row cost more than the copy itself.
    concatLastAxis(parts, widths, rows) {
      if (!parts.every(isF32)) return ref.concatLastAxis(parts, widths, rows);
      const total = widths.reduce((a, b) => a + b, 0);
      const y = f32(rows * total);
      let col = 0;
      parts.forEach((p, k) => {
        addon.copyRows(p as Float32Array, 0, widths[k], 0, y, col, total, 0, 1, rows, widths[k]);
        col += widths[k];
      });
      return y;
    },
    splitLastAxis(x, widths, rows) {
      if (!isF32(x)) return ref.splitLastAxis(x, widths, rows);
      const total = widths.reduce((a, b) => a + b, 0);
      let col = 0;
      return widths.map((wk) => {
        const p = f32(rows * wk);
        addon.copyRows(x, col, total, 0, p, 0, wk, 0, 1, rows, wk);
        col += wk;
        return p;
      });
    },
    gatherRows(src, rowLength, indices, dst) {
      if (!isF32(src) || !isF32(dst) || !(indices instanceof Int32Array)) return ref.gatherRows(src, rowLength, indices, dst);
      addon.gatherRows(src, rowLength, indices, dst);
    },
    pad2d(x, n, h, w, c, top, bottom, left, right) {
      if (!isF32(x)) return ref.pad2d(x, n, h, w, c, top, bottom, left, right);
      const oh = h + top + bottom;
      const ow = w + left + right;
      const y = z32(n * oh * ow * c);
      addon.copyRows(x, 0, w * c, h * w * c, y, (top * ow + left) * c, ow * c, oh * ow * c, n, h, w * c);
      return y;
    },
    crop2d(x, n, h, w, c, top, bottom, left, right) {
      if (!isF32(x)) return ref.crop2d(x, n, h, w, c, top, bottom, left, right);
      const oh = h - top - bottom;
      const ow = w - left - right;
      const y = f32(n * oh * ow * c);
      addon.copyRows(x, (top * w + left) * c, w * c, h * w * c, y, 0, ow * c, oh * ow * c, n, oh, ow * c);
      return y;
    },

    matmul(a, b, m, k, n, transA, transB) {
      if (!isF32(a) || !isF32(b)) return ref.matmul(a, b, m, k, n, transA, transB);
      const out = f32(m * n);
      addon.matmul(a, b, out, m, k, n, transA, transB);
      return out;
    },

    conv2d(x, w, g, bias) {
      if (!isF32(x) || !isF32(w) || (bias && !isF32(bias))) return ref.conv2d(x, w, g, bias);
      const y = f32(g.n * g.oh * g.ow * g.outC);
      addon.conv2d(x, w, y, packGeom(g), bias ?? null);
      return y;
    },
    conv2dBackpropInput(dy, w, g) {
      if (!isF32(dy) || !isF32(w)) return ref.conv2dBackpropInput(dy, w, g);
      const dx = f32(g.n * g.h * g.w * g.c);
      addon.conv2dBackpropInput(dy, w, dx, packGeom(g));
      return dx;
    },
    conv2dBackpropFilter(x, dy, g) {
      if (!isF32(x) || !isF32(dy)) return ref.conv2dBackpropFilter(x, dy, g);
      const dw = f32(g.kh * g.kw * g.c * g.outC);
      addon.conv2dBackpropFilter(x, dy, dw, packGeom(g));
      return dw;
    },
    depthwiseConv2d(x, w, g) {
      if (!isF32(x) || !isF32(w)) return ref.depthwiseConv2d(x, w, g);
      const y = f32(g.n * g.oh * g.ow * g.outC);
      addon.depthwiseConv2d(x, w, y, packGeom(g));
      return y;
    },
    depthwiseConv2dBackpropInput(dy, w, g) {
      if (!isF32(dy) || !isF32(w)) return ref.depthwiseConv2dBackpropInput(dy, w, g);
      const dx = f32(g.n * g.h * g.w * g.c);
      addon.depthwiseConv2dBackpropInput(dy, w, dx, packGeom(g));
      return dx;
    },
    depthwiseConv2dBackpropFilter(x, dy, g) {
      if (!isF32(x) || !isF32(dy)) return ref.depthwiseConv2dBackpropFilter(x, dy, g);
      const dw = f32(g.kh * g.kw * g.outC);
      addon.depthwiseConv2dBackpropFilter(x, dy, dw, packGeom(g));
      return dw;
    },

    maxPool(x, g) {
      if (!isF32(x)) return ref.maxPool(x, g);
      const y = f32(g.n * g.oh * g.ow * g.c);
      addon.maxPool(x, y, packGeom(g));
      return y;
    },
    maxPoolBackward(x, dy, g) {
      if (!isF32(x) || !isF32(dy)) return ref.maxPoolBackward(x, dy, g);
      const dx = f32(x.length);
      addon.maxPoolBackward(x, dy, dx, packGeom(g));
      return dx;
    },
    avgPool(x, g) {
      if (!isF32(x)) return ref.avgPool(x, g);
      const y = f32(g.n * g.oh * g.ow * g.c);
      addon.avgPool(x, y, packGeom(g));
      return y;
    },
    avgPoolBackward(dy, g) {
      if (!isF32(dy)) return ref.avgPoolBackward(dy, g);
      const dx = f32(g.n * g.h * g.w * g.c);
      addon.avgPoolBackward(dy, dx, packGeom(g));
      return dx;
    },
    globalAvgPool(x, n, hw, c) {
      if (!isF32(x)) return ref.globalAvgPool(x, n, hw, c);
      const y = f32(n * c);
      addon.globalAvgPool(x, y, n, hw, c);
      return y;
    },
    globalAvgPoolBackward(dy, n, hw, c) {
      if (!isF32(dy)) return ref.globalAvgPoolBackward(dy, n, hw, c);
      const dx = f32(n * hw * c);
      addon.globalAvgPoolBackward(dy, dx, n, hw, c);
      return dx;
    },
    globalMaxPool(x, n, hw, c) {
      if (!isF32(x)) return ref.globalMaxPool(x, n, hw, c);
      const y = f32(n * c);
      addon.globalMaxPool(x, y, n, hw, c);
      return y;
    },
    globalMaxPoolBackward(x, dy, n, hw, c) {
      if (!isF32(x) || !isF32(dy)) return ref.globalMaxPoolBackward(x, dy, n, hw, c);
      const dx = f32(n * hw * c);
      addon.globalMaxPoolBackward(x, dy, dx, n, hw, c);
      return dx;
    },

    batchNormTrain(x, gamma, beta, c, eps, act = 'linear') {
      if (!isF32(x) || !isF32(gamma) || !isF32(beta)) return ref.batchNormTrain(x, gamma, beta, c, eps, act);
      const y = f32(x.length);
      const mean = f32(c);
      const variance = f32(c);
      addon.batchNormTrain(x, gamma, beta, y, mean, variance, c, eps, ACTIVATION_CODE[act]);
      return { y, mean, variance };
    },
    batchNormTrainBackward(x, dy, gamma, mean, variance, c, eps, act = 'linear', beta) {
      if (act !== 'linear' && !beta) return ref.batchNormTrainBackward(x, dy, gamma, mean, variance, c, eps, act, beta);
      const shift = beta ?? gamma; // read only when an activation is fused
      if (!isF32(x) || !isF32(dy) || !isF32(gamma) || !isF32(mean) || !isF32(variance) || !isF32(shift)) {
        return ref.batchNormTrainBackward(x, dy, gamma, mean, variance, c, eps, act, beta);
      }
      const dx = f32(x.length);
      const dgamma = f32(c);
      const dbeta = f32(c);
      addon.batchNormTrainBackward(x, dy, shift, gamma, mean, variance, dx, dgamma, dbeta, c, eps, ACTIVATION_CODE[act]);
      return { dx, dgamma, dbeta };
    },

    adamUpdate(param, grad, m, v, lr, beta1, beta2, epsilon, step) {
      if (!isF32(param) || !isF32(grad) || !isF32(m) || !isF32(v)) return ref.adamUpdate(param, grad, m, v, lr, beta1, beta2, epsilon, step);
      // The bias correction exactly as the reference computes it (keras/src/optimizers/adam.py).
      const alpha = (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step));
      addon.adamUpdate(param, grad, m, v, alpha, beta1, beta2, epsilon);
    },
    sgdUpdate(param, grad, velocity, lr, momentum, nesterov) {
      if (!isF32(param) || !isF32(grad) || (velocity !== null && !isF32(velocity))) return ref.sgdUpdate(param, grad, velocity, lr, momentum, nesterov);
      addon.sgdUpdate(param, grad, velocity, lr, momentum, nesterov);
    },
  };
}

let addon: NativeAddon | null = null;
let backend: Backend | null = null;
let tried = false;

/** Where the addon may be: CONVKIT_NATIVE_PATH, else build/Release under the package root seen from dist/ or src/. */
function candidatePaths(): string[] {
  const rel = ['../../../../build/Release/convkit_native.node', '../../../build/Release/convkit_native.node'];
  const found = rel.map((r) => fileURLToPath(new URL(r, import.meta.url)));
  return process.env.CONVKIT_NATIVE_PATH ? [process.env.CONVKIT_NATIVE_PATH, ...found] : found;
}

const WARNED = Symbol.for('convkit.native.warned');

function warnOnce(reason: string): void {
  const g = globalThis as { [WARNED]?: boolean };
  if (g[WARNED] || process.env.CONVKIT_BACKEND === 'reference' || process.env.CONVKIT_QUIET_NATIVE === '1') return;
  g[WARNED] = true;
  const script = fileURLToPath(new URL('../../../../scripts/build-native.mjs', import.meta.url));
  console.warn(
    `convkit: native backend not loaded (${reason}); running on the slower TypeScript backend. ` +
      `Build it with \`npx convkit build-native --verbose\` (or \`node ${script} --verbose\`); CONVKIT_QUIET_NATIVE=1 silences this.`,
  );
}

/**
 * Loads the addon once and registers the native backend (active unless CONVKIT_BACKEND=reference).
 * Returns whether it is available. Safe to call again: later calls return the first result.
 */
export function loadNativeBackend(): boolean {
  if (tried) return addon !== null;
  tried = true;
  const require = createRequire(import.meta.url);
  const file = candidatePaths().find((p) => existsSync(p));
  if (!file) {
    warnOnce('build/Release/convkit_native.node was not built');
    return false;
  }
  try {
    addon = require(file) as NativeAddon;
  } catch (e) {
    warnOnce(`loading ${file} failed: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
  backend = makeBackend(addon);
  registerBackend(backend);
  if (typeof addon.alignOffset === 'function') setFloat32Allocator(cacheLineAllocator(addon.alignOffset.bind(addon)));
  if (typeof addon.planCreate === 'function') registerPlanRunner(backend.name, addon as unknown as PlanRunner);
  return true;
}

export function nativeAvailable(): boolean {
  return addon !== null;
}

/** The native Backend object (for tests and benchmarks), or null when the addon is absent. */
export function nativeBackend(): Backend | null {
  return backend;
}

/** The raw addon, for tests of its test-only entries (convForwardEx, depthwiseForwardEx); null when absent. */
export function nativeAddon(): NativeAddon | null {
  return addon;
}

/** A geometry as the addon takes it (18 int32, native/common.h Geom), in a fresh array. */
export function nativeGeom(g: Conv2DInfo | Pool2DInfo): Int32Array {
  return packGeom(g).slice();
}

/**
 * The machine's FP32 multiply-add peak in GFLOP/s, measured by the addon with the active ISA's widest FMAs
 * on `threads` pool threads (default: all) for `milliseconds`; null when the addon is absent.
 */
export function nativeFmaPeak(milliseconds = 200, threads?: number): number | null {
  return addon ? addon.fmaPeak(milliseconds, threads ?? addon.info().threads) : null;
}

/** ISA and thread count of the loaded addon, or null. */
export function nativeInfo(): NativeInfo | null {
  return addon ? addon.info() : null;
}

/** Thread count of the native kernels (default CONVKIT_THREADS, else all cores). */
export function setNativeThreads(n: number): void {
  addon?.setThreads(n);
}

/** Forces a kernel ISA ('portable', 'avx2', 'avx512'); false if the CPU lacks it or the addon is absent. */
export function setNativeIsa(isa: string): boolean {
  return addon ? addon.setIsa(isa) : false;
}

loadNativeBackend();
