import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import '../../src/train/index.js';
import { ModelCheckpoint } from '../../src/train/callbacks.js';
import { Adam } from '../../src/train/optimizers.js';
import { DataSource } from '../../src/train/source.js';
import { NonFiniteError } from '../../src/train/step.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { smallCnn } from './helpers.js';

test('a NaN stops training, names the step and the first bad layer, and keeps the last checkpoint', async () => {
  const model = smallCnn(5, { bn: false });
  model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy' });
  let calls = 0;
  // Clean data for the first epoch (2 steps), then a pixel turns NaN.
  const source: DataSource = {
    size: 8,
    take(indices) {
      const x = Tensor.randomUniform([indices.length, 12, 12, 3]);
      if (++calls > 2) x.data[7] = NaN;
      return { x, y: Int32Array.from(indices, (i) => i % 10) };
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'nan-'));
  const path = join(dir, 'ckpt.safetensors');
  const before: Float32Array[] = [];
  await assert.rejects(
    () => model.fit(source, undefined, { batchSize: 4, epochs: 3, verbose: 0, callbacks: [new ModelCheckpoint({ filepath: path }), { onEpochEnd: () => before.splice(0, before.length, ...model.weights.map((w) => w.data.slice() as Float32Array)) } as never] }),
    // Max-pooling may drop the NaN before the loss, so either the loss or a gradient reports it.
    (e: Error) => e instanceof NonFiniteError && /^epoch 2, step 1: (loss is NaN|the gradient of 'conv2d\/kernel' is not finite .*); first non-finite output at Conv2D 'conv2d'$/.test(e.message),
  );
  const ck = readCheckpoint(path);
  assert.equal(ck.state.epoch, 1, 'the checkpoint of the last good epoch is intact');
  model.weights.forEach((w, i) => assert.deepEqual(Array.from(w.data), Array.from(before[i]), `${w.name} was not updated by the bad step`));
});
