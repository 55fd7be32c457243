// Run by the tests of test/dist, alone or under mpirun: `node worker.js train|allreduce|resume|killed|dropout ...`. Rank 0
// prints one JSON line.
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedDataset } from '../../src/data/embedded.js';
import { toTensor } from '../../src/data/dataset.js';
import { initDistributed } from '../../src/dist/index.js';
import '../../src/index.js'; // the native backend, as users get it
import { CIFAR_AUGMENT } from '../../src/data/augment.js';
import { Conv2D } from '../../src/layers/conv.js';
import { Dense, Dropout, Flatten } from '../../src/layers/core.js';
import { MaxPooling2D } from '../../src/layers/pooling.js';
import { Sequential } from '../../src/models/sequential.js';
import { setSeed } from '../../src/tensor/random.js';
import { ModelCheckpoint } from '../../src/train/callbacks.js';
import { imageSource } from '../../src/train/source.js';
import { createModel, resnet18 } from '../../src/zoo/index.js';

const mode = process.argv[2];
const group = initDistributed();
const rank = group?.rank ?? 0;

if (mode === 'allreduce') {
  // Known inputs whose sums are exact in float32 (multiples of 1/4, small): any correct reduction gives them.
  const n = 3_000_017; // above the 1 MiB chunk, not a multiple of it
  const a = Float32Array.from({ length: n }, (_, i) => ((i % 13) - 6) * 0.25 + rank);
  const b = Float64Array.from([rank + 0.5, 2 ** -rank]);
  group!.allreduceSum(a);
  group!.allreduceSum(b);
  // The fused gradient reduction: arrays streamed across chunk boundaries (one empty), each rank scaled by its
  // weight (rank r: 1 / 2^(r+1)), the extra Float64Array summed as is.
  const lengths = [5, 0, 300_001, 7, 262_144];
  const arrays = lengths.map((len, k) => Float32Array.from({ length: len }, (_, i) => (i % 7) + k + rank));
  const extra = Float64Array.from([rank + 0.125, 1]);
  group!.reduceGradients!(arrays, 2 ** -(rank + 1), extra);
  let fusedBad = -1;
  arrays.forEach((arr, k) => {
    for (let i = 0; i < arr.length && fusedBad < 0; i++) {
      let want = 0;
      for (let r = 0; r < group!.size; r++) want += ((i % 7) + k + r) * 2 ** -(r + 1);
      if (arr[i] !== want) fusedBad = k * 1e7 + i;
    }
  });
  const order = Int32Array.from({ length: 5 }, (_, i) => (rank === 0 ? 10 + i : -1));
  group!.broadcast(order, 0);
  const size = group!.size;
  const offset = (size * (size - 1)) / 2;
  let bad = -1;
  for (let i = 0; i < n && bad < 0; i++) if (a[i] !== ((i % 13) - 6) * 0.25 * size + offset) bad = i;
  // Inexact sums (pseudo-random floats): the fixed summation order of reduceGradients, emulated here. Every rank
  // generates every rank's values; in each chunk of the stream (1 MiB for 2 ranks, N MiB for N > 2), segment k of
  // N ([k n / N, (k + 1) n / N)) is summed from rank k on: ((x_k + x_{k+1}) + ...) + x_{k-1}. (Two ranks: x_0 +
  // x_1 = x_1 + x_0.)
  const valuesOf = (r: number, len: number): Float32Array => {
    let state = (r + 1) * 2654435761;
    return Float32Array.from({ length: len }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state / 2 ** 32 - 0.5) * (1 + r);
    });
  };
  const ringLength = 2_600_011; // more than two chunks for 2, 3 and 4 ranks
  const mine = valuesOf(rank, ringLength);
  group!.reduceGradients!([mine], 1);
  const all = Array.from({ length: size }, (_, r) => valuesOf(r, ringLength));
  const chunk = 262_144 * (size > 2 ? size : 1);
  let ringBad = -1;
  for (let c0 = 0; c0 < ringLength && ringBad < 0; c0 += chunk) {
    const len = Math.min(chunk, ringLength - c0);
    for (let k = 0; k < size && ringBad < 0; k++) {
      for (let o = Math.floor((len * k) / size); o < Math.floor((len * (k + 1)) / size); o++) {
        let sum = all[k][c0 + o];
        for (let j = 1; j < size; j++) sum = Math.fround(sum + all[(k + j) % size][c0 + o]);
        if (!Object.is(mine[c0 + o], sum)) {
          ringBad = c0 + o;
          break;
        }
      }
    }
  }
  const digest = createHash('sha256').update(new Uint8Array(a.buffer)).update(new Uint8Array(mine.buffer)).digest('hex');
  // Every rank reports, so the test sees the same bits everywhere.
  // What Open MPI was told about waiting (set by the addon before MPI_Init unless the user set it).
  const yieldWhenIdle = process.env.OMPI_MCA_mpi_yield_when_idle ?? null;
  process.stdout.write(JSON.stringify({ rank, size, bad, fusedBad, ringBad, extra: Array.from(extra), b: Array.from(b), order: Array.from(order), digest, yieldWhenIdle }) + '\n');
} else {
  // 197 = 6 x 32 + 5: the last global batch splits 2 + 3 over two ranks (the shard-size-weighted mean).
  // `dropout [augment]`: 193 = 6 x 32 + 1: in the last batch rank 0 has no sample, so it makes none of the
  // step's random draws (and must take rank 1's generator for the next epoch).
  const dropoutCnn = mode === 'dropout';
  const { train, test } = embeddedDataset({ seed: 5, trainSize: mode === 'syncbn' ? 70 : dropoutCnn ? 193 : 197, testSize: mode === 'syncbn' ? 20 : 61 });
  const t = toTensor(train);
  const v = toTensor(test);
  setSeed(11);
  // `syncbn [off]`: a small ResNet18 (batch norm everywhere), with --sync-bn semantics unless `off`.
  const resnet = mode === 'syncbn';
  const inputShape: [number, number, number] = [train.height, train.width, train.channels];
  // `dropout [augment]`: a small CNN with two Dropout(0.5) layers, trained on randomly cropped and flipped
  // images when `augment`: every random draw of training matters to its curve.
  const model = resnet
    ? resnet18({ inputShape, numClasses: 10, blockList: [1, 1], initialFilters: 8 })
    : dropoutCnn
      ? new Sequential([
          new Conv2D({ filters: 8, kernelSize: 3, activation: 'relu', inputShape }),
          new MaxPooling2D({ poolSize: 2 }),
          new Dropout({ rate: 0.5 }),
          new Flatten(),
          new Dense({ units: 32, activation: 'relu' }),
          new Dropout({ rate: 0.5 }),
          new Dense({ units: 10, activation: 'softmax' }),
        ])
      : createModel('lenet5', { inputShape, numClasses: 10 });
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  // `resume EPOCHS CKPT FROM`: train to EPOCHS writing a full checkpoint to CKPT every epoch, resuming from FROM
  // when given (a checkpoint written by another number of processes).
  // `killed CKPT DIR`: the same, for ever (until a rank is killed), each rank's pid in DIR/rank<r>.pid.
  const [epochs, ckpt, from] = mode === 'resume' ? [Number(process.argv[3]), process.argv[4], process.argv[5]] : mode === 'killed' ? [100_000, process.argv[3], undefined] : [2, undefined, undefined];
  if (mode === 'killed') {
    // Renamed into place, so the test never reads half a pid.
    const file = join(process.argv[4], `rank${rank}.pid`);
    writeFileSync(`${file}.tmp`, String(process.pid));
    renameSync(`${file}.tmp`, file);
  }
  const callbacks = ckpt ? [new ModelCheckpoint({ filepath: ckpt })] : [];
  const data = dropoutCnn && process.argv[3] === 'augment' ? imageSource(train, CIFAR_AUGMENT) : t.x;
  const history = await model.fit(data, t.y, { batchSize: 32, epochs, verbose: 0, validationData: [v.x, v.y], callbacks, resumeFrom: from || undefined, syncBatchNorm: resnet && process.argv[3] !== 'off' });
  const hash = createHash('sha256');
  for (const w of model.weights) hash.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  if (rank === 0) process.stdout.write(JSON.stringify({ size: group?.size ?? 1, history: history.history, weights: hash.digest('hex') }) + '\n');
  else process.stdout.write(JSON.stringify({ rank, weights: hash.digest('hex') }) + '\n');
}
