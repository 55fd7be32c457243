/** Gradient checks of whole layers: inputs and every trainable weight, in float64. */
import assert from 'node:assert/strict';
import { setSeed } from '../../src/tensor/random.js';
import { Random } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { CallOptions, Layer } from '../../src/layers/layer.js';
import { GradcheckOptions, GradcheckResult, gradcheck } from './gradcheck.js';
import { withFloat64 } from './tensors.js';

/**
 * Gives every weight a random value of a sensible range (biases and beta are zero at initialisation, which
 * would hide a bias that is added twice or not at all): gamma and variances positive.
 */
export function randomizeWeights(layer: Layer, rng: Random): void {
  for (const w of layer.weights) {
    for (let i = 0; i < w.size; i++) {
      if (/(gamma|moving_variance)$/.test(w.name)) w.data[i] = 0.5 + rng.uniform();
      else w.data[i] = rng.normal() * 0.5;
    }
  }
}

export interface LayerCheckOptions extends GradcheckOptions {
  call?: CallOptions;
  /** Reseeds the global generator before each evaluation (Dropout). */
  seed?: number;
  /** How many trainable weights the layer must have, so that none is skipped by mistake. */
  expectWeights?: number;
  rng?: Random;
}

/**
 * Builds `make()` in float64 on `inputs`, randomises its weights, and gradient-checks its output with respect
 * to the inputs and every trainable weight.
 */
export function checkLayer(make: () => Layer, inputs: readonly Tensor[], opts: LayerCheckOptions = {}): { layer: Layer; result: GradcheckResult } {
  return withFloat64(() => {
    const layer = make();
    const n = inputs.length;
    const run = (xs: readonly Tensor[]): Tensor => {
      if (opts.seed !== undefined) setSeed(opts.seed);
      return layer.apply(n === 1 ? xs[0] : xs, opts.call ?? {});
    };
    run(inputs);
    randomizeWeights(layer, opts.rng ?? new Random(9));
    const weights = layer.trainableWeights;
    if (opts.expectWeights !== undefined) assert.equal(weights.length, opts.expectWeights, `${layer.who}: trainable weights`);
    const names = [...inputs.map((_, i) => `input[${i}]`), ...weights.map((w) => w.name)];
    const result = gradcheck((...ts) => run(ts.slice(0, n)), [...inputs, ...weights], { ...opts, names });
    return { layer, result };
  });
}
