// Training images/s of fit, alone or under mpirun (data-parallel), on the embedded set:
//   CONVKIT_THREADS=1 node dist/bench/dist-throughput.js lenet5 4096 64 3
//   mpirun -np 2 -x CONVKIT_THREADS=1 node dist/bench/dist-throughput.js lenet5 4096 64 3
// Arguments: model, training images, global batch, epochs. Rank 0 prints each epoch's images/s after the first
// (the first warms the arena and the kernels' packing) and their median. BENCH_UNFUSED=1 times the former reduction. No callbacks, no validation, no files.
import '../src/index.js';
import { embeddedDataset } from '../src/data/embedded.js';
import { toTensor } from '../src/data/dataset.js';
import { initDistributed } from '../src/dist/index.js';
import { Callback } from '../src/train/callbacks.js';
import { setSeed } from '../src/tensor/random.js';
import { createModel } from '../src/zoo/index.js';

const [name = 'lenet5', n = '4096', batch = '64', epochs = '3'] = process.argv.slice(2);
const group = initDistributed();
// BENCH_UNFUSED=1: the JavaScript packing path with gather-to-rank-0 + broadcast (the reduction before the fused one).
if (group && process.env.BENCH_UNFUSED) (group as { reduceGradients?: unknown }).reduceGradients = undefined;
const { train } = embeddedDataset({ seed: 1, trainSize: Number(n), testSize: 0 });
const t = toTensor(train);
setSeed(1);
const model = createModel(name, { inputShape: [train.height, train.width, train.channels], numClasses: 10 });
model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
const rates: number[] = [];
let t0 = 0n;
class Timer extends Callback {
  override onEpochBegin(): void {
    t0 = process.hrtime.bigint();
  }
  override onEpochEnd(): void {
    rates.push(Number(n) / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
}
await model.fit(t.x, t.y, { batchSize: Number(batch), epochs: Number(epochs), verbose: 0, callbacks: [new Timer()] });
const timed = rates.slice(1).sort((a, b) => a - b);
if ((group?.rank ?? 0) === 0) {
  console.log(JSON.stringify({ model: name, ranks: group?.size ?? 1, threads: process.env.CONVKIT_THREADS ?? 'all', batch: Number(batch), imagesPerS: rates.map((r) => Math.round(r)), median: Math.round(timed[timed.length >> 1]) }));
}
