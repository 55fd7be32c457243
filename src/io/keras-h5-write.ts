import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Group } from 'h5wasm';
import type { Layer } from '../layers/layer.js';
import type { Shape } from '../tensor/shape.js';
import { h5wasmReady } from './h5-file.js';
import { childEntries, ownVariables } from './keras-h5.js';

/**
 * model.weights.h5 in Keras 3's layout (saving_lib.H5IOStore), the reverse of what keras-h5.ts reads: the
 * model's own `vars`, its layers under `layers/<snake_case class>[_k]` (a Sequential without its InputLayer, a
 * functional model with it), a composite layer's sub-layers under their attribute names, each object's
 * variables as datasets `vars/0..n` (trainable first) and, as Keras >= 3.6 writes, the object's name in a
 * `name` attribute of its `vars` group. Optimizer variables go to `optimizer/vars/0..n`.
 */
export interface OptimizerVar {
  shape: Shape;
  data: Float32Array | Float64Array | BigInt64Array;
}

export interface OptimizerRecord {
  /** Keras's optimizer name attribute, e.g. 'adam'. */
  name: string;
  vars: OptimizerVar[];
}

let counter = 0;

/** Writes the weights file into bytes (through a temporary file, which h5wasm needs) and returns them. */
export async function encodeKeras3Weights(model: Layer, optimizer: OptimizerRecord | null): Promise<Uint8Array> {
  const h5 = await h5wasmReady();
  const path = resolve(join(tmpdir(), `convkit-${process.pid}-${Date.now()}-${counter++}.weights.h5`));
  try {
    const file = new h5.api.File(path, 'w');
    try {
      writeObject(file, model);
      const opt = file.create_group('optimizer').create_group('vars');
      if (optimizer) {
        opt.create_attribute('name', optimizer.name);
        optimizer.vars.forEach((v, i) => opt.create_dataset({ name: String(i), data: v.data, shape: [...v.shape] }));
      }
    } finally {
      file.close();
    }
    return new Uint8Array(readFileSync(path));
  } finally {
    if (existsSync(path)) unlinkSync(path);
  }
}

function writeObject(group: Group, layer: Layer): void {
  const vars = group.create_group('vars');
  vars.create_attribute('name', layer.name);
  ownVariables(layer).forEach((v, i) => vars.create_dataset({ name: String(i), data: v.data, shape: [...v.shape] }));
  for (const child of childEntries(layer)) {
    let g = group;
    for (const k of child.key) g = (g.get(k) as Group | null) ?? g.create_group(k);
    writeObject(g, child.layer);
  }
}
