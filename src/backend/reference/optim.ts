import { FloatArray } from '../../tensor/tensor.js';

/** Keras Adam (keras/src/optimizers/adam.py): bias correction folded into the step size, epsilon outside sqrt(v). */
export function adamUpdate(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number, beta2: number, epsilon: number, step: number): void {
  const alpha = (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step));
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] += (g - m[i]) * (1 - beta1);
    v[i] += (g * g - v[i]) * (1 - beta2);
    param[i] -= (alpha * m[i]) / (Math.sqrt(v[i]) + epsilon);
  }
}

/** Keras SGD (keras/src/optimizers/sgd.py): v = momentum * v - lr * g; w += v, or w += momentum * v - lr * g (Nesterov). */
export function sgdUpdate(param: FloatArray, grad: FloatArray, velocity: FloatArray | null, lr: number, momentum: number, nesterov: boolean): void {
  if (!velocity || momentum === 0) {
    for (let i = 0; i < param.length; i++) param[i] -= lr * grad[i];
    return;
  }
  for (let i = 0; i < param.length; i++) {
    velocity[i] = momentum * velocity[i] - lr * grad[i];
    param[i] += nesterov ? momentum * velocity[i] - lr * grad[i] : velocity[i];
  }
}
