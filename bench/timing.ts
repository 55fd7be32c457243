import { spawnSync } from 'node:child_process';

/**
 * Runs `step` 3 times untimed, then until `seconds` have passed and at least `minSteps` ran. Returns the number
 * of steps and the median step time in seconds: the statistic ../shared/peers/torch_bench.py reports, so the
 * two tables compare like with like (on a shared VM a mean also carries the stalls of other tenants).
 */
export function timeSteps(seconds: number, step: () => void, minSteps = 3, warmup = 3): { steps: number; median: number } {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  const start = process.hrtime.bigint();
  do {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  } while (Number(process.hrtime.bigint() - start) / 1e9 < seconds || times.length < minSteps);
  return { steps: times.length, median: median(times) };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs a bench script as a child process (each model in its own process, so its peak RSS is its own) and
 * returns the JSON object of its last stdout line, or an error message; the child's stderr is passed on.
 */
export function runJsonChild<T>(args: string[]): T | string {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  if (r.stderr) process.stderr.write(r.stderr);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`;
  return JSON.parse(line) as T;
}
