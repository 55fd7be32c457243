import { Tensor } from '../../tensor/tensor.js';
import { Variable } from '../../tensor/variable.js';
import { type PlanRunner, activePlanRunner } from '../index.js';
import { outputF32 } from '../arena.js';
import { type CompiledPlan, compileTrace } from './compile.js';
import { scaleCompiled } from './batch.js';
import { Untraceable, traceForward } from './trace.js';

export { Untraceable } from './trace.js';

/**
 * A model's inference forward pass for one input shape, compiled (compile.ts) and run in one native call.
 * The weights are folded and copied into the plan when it is built; the plan remembers each weight's version
 * and is stale as soon as one changes (an optimizer step, assign, loading weights), and the caller builds a
 * new one.
 */
export class InferencePlan {
  private constructor(
    private readonly runner: PlanRunner,
    private readonly handle: unknown,
    readonly inputSize: number,
    readonly outputShape: number[],
    private readonly weights: { v: Variable; version: number }[],
    /** Ops after fusion, by kind. */
    readonly opCounts: Record<string, number>,
    /** Floats of activation buffers the plan holds. */
    readonly bufferFloats: number,
    /** Each op's kind and shape, in order. */
    readonly opNames: string[],
    /** The batch of the trace it was compiled from: its own, or 2 for a plan scaled from 1 and 2 samples (batch.ts). */
    readonly tracedBatch: number,
  ) {}

  /** Variable.changes when the weights were last found unchanged. */
  private changesSeen = Variable.changes;

  /**
   * Whether no weight changed since the plan was built. Walking the weights is skipped while no variable of
   * the process changed at all (serving): MobileNet's 137 weights, cold in the caches after a run, were
   * 10-30 microseconds a call.
   */
  get fresh(): boolean {
    if (Variable.changes === this.changesSeen) return true;
    for (const w of this.weights) if (w.v.version !== w.version) return false;
    this.changesSeen = Variable.changes;
    return true;
  }

  /** Seconds per op over `runs` runs of x (the bench's profile), with each op's kind. */
  profile(x: Float32Array, runs: number): { op: string; seconds: number }[] {
    const times = new Float64Array(this.opNames.length);
    const y = new Float32Array(this.outputShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < runs; i++) this.runner.planRun(this.handle, x, y, times);
    return this.opNames.map((op, i) => ({ op, seconds: times[i] / runs }));
  }

  /** Runs the plan on x (float32, inputSize values) into a new array (from the active arena, if any). */
  run(x: Float32Array): Float32Array {
    const y = outputF32(this.outputShape.reduce((a, b) => a * b, 1));
    this.runner.planRun(this.handle, x, y);
    return y;
  }

  /**
   * Traces forward on x, compiles the trace, runs the plan on x and checks it against the traced result;
   * returns the plan's output (or, without a plan, the traced one). Batches of 3 and more are traced at 1 and
   * 2 samples (the first and the last) and the plan scaled to the batch (batch.ts), its first and last samples
   * checked against the two-sample trace; where that does not hold, the whole batch is traced. plan is null
   * when the model cannot be planned (a backend method the plan does not run, values computed in JavaScript,
   * no native backend) or the check fails; `reason` says why.
   */
  static build(x: Tensor, forward: (input: Tensor) => Tensor, weights: readonly Variable[]): { result: Tensor; plan: InferencePlan | null; reason?: string } {
    const runner = activePlanRunner();
    if (!runner || !(x.data instanceof Float32Array)) return { result: forward(x), plan: null, reason: 'the active backend runs no plans' };
    const versions = weights.map((v) => ({ v, version: v.version }));
    if (x.shape[0] > 2) {
      const scaled = InferencePlan.buildScaled(runner, x, forward, versions);
      if (scaled) return { result: new Tensor(scaled.output, scaled.plan.outputShape), plan: scaled.plan };
    }
    let result: Tensor | null = null;
    try {
      const { trace } = traceForward(x.data, () => (result = forward(x)).data);
      const c = compileTrace(trace);
      const plan = InferencePlan.create(runner, c, [...(result as unknown as Tensor).shape], versions, x.shape[0]);
      const traced = result as unknown as Tensor;
      const planned = plan.run(x.data);
      const check = checkSame(planned, traced.data as Float32Array);
      // With a plan every call answers with its numbers, the first one included.
      return check ? { result: traced, plan: null, reason: check } : { result: new Tensor(planned, plan.outputShape), plan };
    } catch (e) {
      if (!(e instanceof Untraceable)) throw e;
      return { result: result ?? forward(x), plan: null, reason: e.message };
    }
  }

  private static create(runner: PlanRunner, c: CompiledPlan, outputShape: number[], versions: { v: Variable; version: number }[], tracedBatch: number): InferencePlan {
    const handle = runner.planCreate(c.code, c.consts, c.bufferSizes, c.inputSize, c.outputSize, c.owned);
    return new InferencePlan(runner, handle, c.inputSize, outputShape, versions, c.opCounts, c.bufferSizes.reduce((a, b) => a + b, 0), c.opNames, tracedBatch);
  }

  /** The plan for x's batch from traces of its first sample and of its first and last (batch.ts), or null. */
  private static buildScaled(runner: PlanRunner, x: Tensor, forward: (input: Tensor) => Tensor, versions: { v: Variable; version: number }[]): { plan: InferencePlan; output: Float32Array } | null {
    const data = x.data as Float32Array;
    const batch = x.shape[0], row = data.length / batch, rest = x.shape.slice(1);
    const ends = firstAndLast(data, batch);
    let one: Tensor | null = null, two: Tensor | null = null;
    try {
      const first = ends.subarray(0, row);
      const a = traceForward(first, () => (one = forward(new Tensor(first, [1, ...rest]))).data);
      const b = traceForward(ends, () => (two = forward(new Tensor(ends, [2, ...rest]))).data);
      const single = compileTrace(a.trace, batch);
      const c = scaleCompiled(single, compileTrace(b.trace, batch / 2, single), batch);
      const pair = two as unknown as Tensor;
      if (!c || c.inputSize !== data.length || pair.shape[0] !== 2) return null;
      const plan = InferencePlan.create(runner, c, [batch, ...(one as unknown as Tensor).shape.slice(1)], versions, 2);
      const output = plan.run(data);
      return checkSame(firstAndLast(output, batch), pair.data as Float32Array) ? null : { plan, output };
    } catch (e) {
      if (!(e instanceof Untraceable)) throw e;
      return null;
    }
  }
}

/** The first and the last of a batch's samples, as a batch of 2. */
function firstAndLast(data: Float32Array, batch: number): Float32Array {
  const row = data.length / batch;
  const ends = new Float32Array(2 * row);
  ends.set(data.subarray(0, row));
  ends.set(data.subarray((batch - 1) * row), row);
  return ends;
}

/**
 * Null when the plan's output matches the layer-by-layer result (folding batch norm rounds differently, so
 * not bit for bit: within 1e-4 of the output's largest magnitude); else what differed.
 */
function checkSame(a: Float32Array, b: Float32Array): string | null {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  const tol = 1e-4 * Math.max(scale, 1e-30);
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol)) return `the plan's output differs at element ${i}: ${a[i]} against ${b[i]}`;
  }
  return null;
}
