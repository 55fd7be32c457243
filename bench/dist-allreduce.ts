// Times the MPI addon's allreduceSum on a buffer the size of ResNet18's gradients (45 MB of float32):
//   mpirun -np 2 --mca btl self,vader node dist/bench/dist-allreduce.js     (shared memory)
//   mpirun -np 2 --mca btl self,tcp   node dist/bench/dist-allreduce.js     (TCP on loopback)
// Rank 0 prints the median of 7 timed calls after 2 warm-up calls.
import { initDistributed } from '../src/dist/index.js';

const group = initDistributed();
if (!group) throw new Error('run under mpirun -np N (N > 1)');
const mb = Number(process.argv[2] ?? 45);
const a = new Float32Array((mb * 1e6) / 4).fill(1);
const times: number[] = [];
for (let i = 0; i < 9; i++) {
  group.barrier();
  const t0 = process.hrtime.bigint();
  group.allreduceSum(a);
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (i >= 2) times.push(t);
}
times.sort((x, y) => x - y);
const median = times[times.length >> 1];
if (group.rank === 0) console.log(JSON.stringify({ ranks: group.size, mb, medianMs: +median.toFixed(1), gbPerS: +((mb / 1e3) / (median / 1e3)).toFixed(2) }));
