import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../src/tensor/tensor.js';

/**
 * The real Keras files in ../shared/data/real-keras (made by other people; see its README), found from the
 * compiled test's path (dist/test/io -> the repository root -> ../shared), and real MNIST digits from the
 * `mnist` devDependency.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const REAL_KERAS = [join(root, '..', 'shared', 'data', 'real-keras'), join(root, 'shared', 'data', 'real-keras')].find((d) => existsSync(d)) ?? null;
export const realFile = (name: string): string => join(REAL_KERAS ?? '.', name);
export const SKIP_REAL = REAL_KERAS ? false : 'shared/data/real-keras is not beside the repository';

/** perClass digits of each class (the first ones of the package's per-digit lists), as [n, 28, 28, 1] in [0, 1]. */
export function mnistDigits(perClass: number): { x: Tensor; labels: Int32Array } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { range(a: number, b: number): number[][] }>;
  const xs = new Float32Array(10 * perClass * 784);
  const labels = new Int32Array(10 * perClass);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    // range(a, b) is inclusive of b.
    for (const img of mnist[d].range(0, perClass - 1)) {
      xs.set(img, k * 784);
      labels[k++] = d;
    }
  }
  return { x: new Tensor(xs, [10 * perClass, 28, 28, 1]), labels };
}

export function accuracy(probs: Tensor, labels: Int32Array): number {
  const c = probs.shape[1];
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (probs.data[i * c + j] > probs.data[i * c + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}
