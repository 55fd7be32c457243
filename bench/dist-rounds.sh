#!/bin/bash
# The 2-rank speed-up measured the way docs/distributed.md reports it, in rounds that alternate (the VM's speed
# drifts over minutes, so only side-by-side figures compare). Each round, for each model:
#   1 x 1        one process, one kernel thread, the global batch;
#   2 independent  two single-thread processes on half batches, pinned to cores 0 and 1, run at once: the
#                machine's ceiling for two copies of the work (nothing shared but the hardware);
#   2 x 1        mpirun -np 2, one thread a rank, the global batch (data-parallel).
# Figures: the median images/s of each run's epochs after the first (dist-throughput.js).
#   bash bench/dist-rounds.sh [ROUNDS]      (after npm run build; needs Open MPI and taskset)
cd "$(dirname "$0")/.."
rounds=${1:-8}
med() { sed 's/.*"median":\([0-9]*\).*/\1/'; }
run() { node dist/bench/dist-throughput.js "$@" 2>/dev/null | tail -n 1 | med; }
export CONVKIT_THREADS=1
for r in $(seq 1 "$rounds"); do
  for cfg in "resnet18 768 64 3" "lenet5 8192 256 5"; do
    set -- $cfg
    half=$(($3 / 2))
    one=$(run $cfg)
    taskset -c 0 node dist/bench/dist-throughput.js $1 $2 $half $4 2>/dev/null | tail -n 1 | med > /tmp/convkit-ceiling.0 &
    b=$(taskset -c 1 node dist/bench/dist-throughput.js $1 $2 $half $4 2>/dev/null | tail -n 1 | med)
    wait
    indep=$(($(cat /tmp/convkit-ceiling.0) + b))
    job=$(mpirun --allow-run-as-root -np 2 -x CONVKIT_THREADS=1 node dist/bench/dist-throughput.js $cfg 2>/dev/null | tail -n 1 | med)
    echo "round $r | $1 | 1x1 $one | 2 independent $indep ($(node -p "($indep / $one).toFixed(3)")x) | 2x1 $job ($(node -p "($job / $one).toFixed(3)")x, $(node -p "($job / $indep).toFixed(3)") of independent)"
  done
done
rm -f /tmp/convkit-ceiling.0
