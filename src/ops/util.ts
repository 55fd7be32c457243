import { getBackend, Backend } from '../backend/index.js';
import { Shape, formatShape, shapesEqual } from '../tensor/shape.js';
import { FloatArray, Tensor } from '../tensor/tensor.js';

/** The backend for an op's inputs (float64 runs on the reference backend). */
export function backendFor(t: Tensor): Backend {
  return getBackend(t.data);
}

/** When any input is a placeholder, an op returns a placeholder of its output shape and computes nothing. */
export function anyPlaceholder(inputs: readonly Tensor[]): boolean {
  return inputs.some((t) => t.isPlaceholder);
}

export function tensorOf(data: FloatArray, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

export function assertSameDtype(who: string, inputs: readonly Tensor[]): void {
  const d = inputs[0].dtype;
  for (const t of inputs) {
    if (t.dtype !== d) throw new Error(`${who}: expected inputs of one dtype, received ${inputs.map((i) => i.dtype).join(' and ')}`);
  }
}

export function assertSameShape(who: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new Error(`${who}: expected '${names[0]}' and '${names[1]}' of the same shape, received ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
}

export function assertRank(who: string, arg: string, t: Tensor, rank: number, layout = ''): void {
  if (t.rank !== rank) {
    throw new Error(`${who}: argument '${arg}' expected rank ${rank}${layout ? ` ${layout}` : ''}, received shape ${formatShape(t.shape)}`);
  }
}

/** Rows and channels of a channels-last tensor: [..., c] -> (size / c, c). */
export function rowsAndChannels(t: Tensor): [number, number] {
  const c = t.shape[t.rank - 1];
  return [c === 0 ? 0 : t.size / c, c];
}
