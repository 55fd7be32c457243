// Times one step's gradient reduction for a zoo model's variables under mpirun: the fused addon call
// (reduceGradients, straight on the gradient arrays) against JavaScript packing + allreduceSum (the former path):
//   mpirun -np 2 node dist/bench/dist-reduce.js resnet18
// Rank 0 prints the median of 7 calls of each, after 2 warm-up calls, alternating.
import '../src/index.js';
import { initDistributed } from '../src/dist/index.js';
import { GradientReducer } from '../src/train/parallel.js';
import { createModel } from '../src/zoo/index.js';

const group = initDistributed();
if (!group) throw new Error('run under mpirun -np N (N > 1)');
const name = process.argv[2] ?? 'resnet18';
const model = createModel(name, { inputShape: [32, 32, 3], numClasses: 10 });
const vars = model.trainableWeights;
const grads = vars.map((v) => new Float32Array(v.data.length).fill(1));
const fused = new GradientReducer(group, vars);
const js = new GradientReducer({ rank: group.rank, size: group.size, allreduceSum: group.allreduceSum, broadcast: group.broadcast }, vars);
const times: Record<string, number[]> = { fused: [], js: [] };
for (let i = 0; i < 9; i++) {
  for (const [k, r] of [['fused', fused], ['js', js]] as const) {
    group.barrier();
    const t0 = process.hrtime.bigint();
    r.reduce(grads, 1 / group.size, 1, 1);
    const t = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 2) times[k].push(t);
  }
}
const med = (a: number[]): number => +a.sort((x, y) => x - y)[a.length >> 1].toFixed(1);
const mb = (grads.reduce((s, g) => s + g.length, 0) * 4) / 1e6;
if (group.rank === 0) console.log(JSON.stringify({ model: name, ranks: group.size, mb: +mb.toFixed(1), fusedMs: med(times.fused), jsPackAllreduceMs: med(times.js) }));
