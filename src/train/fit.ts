import { noGrad } from '../autograd/tape.js';
import { describeModel, readCheckpoint, renameSlots, restoreWeights, saveCheckpoint, CheckpointState } from '../io/checkpoint.js';
import type { Model } from '../models/model.js';
import { globalRandom } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Callback, Logs, TrainingContext } from './callbacks.js';
import { History } from './history.js';
import { LossFn, LossLike, MetricName, Targets, checkMetrics, countCorrect, getLoss } from './losses.js';
import { Optimizer, OptimizerLike, getOptimizer } from './optimizers.js';
import { compileToKeras } from './compile-config.js';
import { ProgressBar } from './progress.js';
import { DataSource, sliceSource, takeBatch, tensorSource } from './source.js';
import { totalLoss, trainStep } from './step.js';
import { DataParallel, GradientReducer, broadcastArrays, broadcastModel, broadcastRandom, getDataParallel, reduceLogs, shardRange, shardStep } from './parallel.js';

export interface CompileConfig {
  optimizer?: OptimizerLike;
  loss: LossLike;
  metrics?: string[];
}

export interface Compiled {
  /** What compile() was given (saved with the model: Keras's compile_config). */
  config: CompileConfig;
  optimizer: Optimizer;
  loss: LossFn;
  metrics: MetricName[];
}

export interface FitOptions {
  batchSize?: number;
  epochs?: number;
  /** Epoch to start from (0-based), as Keras's initial_epoch. */
  initialEpoch?: number;
  /** Reshuffle the samples every epoch with the seeded generator (default true). */
  shuffle?: boolean;
  validationData?: [Tensor, Targets] | DataSource;
  /** Keras: the last fraction of the samples (before shuffling) is held out for validation. */
  validationSplit?: number;
  /** Validate every N epochs, or at the listed (1-based) epochs. */
  validationFreq?: number | number[];
  callbacks?: Callback[];
  verbose?: 0 | 1 | 2;
  /** A full checkpoint to resume from: weights, optimizer, random state, history, epoch, callback state. */
  resumeFrom?: string;
  /** Stored in every checkpoint this fit writes (for example the data settings, to evaluate later). */
  checkpointExtra?: Record<string, unknown>;
  /**
   * The model this fit trains part of, when it is not the model itself: callbacks see it and checkpoints hold it
   * (the feature cache fits the head of a model whose frozen base it has run once; see feature-cache.ts).
   */
  outerModel?: Model;
  /**
   * Train data-parallel over these ranks (default: the group src/dist registered when running under mpirun;
   * null: this process alone). `batchSize` stays the global batch; rank 0 alone prints, saves and logs.
   */
  dataParallel?: DataParallel | null;
  /**
   * Data-parallel only: batch norm with the statistics of the global batch, reduced across ranks in every
   * forward and backward pass (Keras SyncBatchNormalization; `--sync-bn`), so BN models train as one process
   * does. Default false: each rank normalizes with its shard's statistics (DDP's default).
   */
  syncBatchNorm?: boolean;
}

/** fit yields to the event loop (timers, signal handlers) at least this often, and at the end of each epoch. */
const YIELD_MS = 50;

const compiledModels = new WeakMap<Model, Compiled>();

export function compile(model: Model, config: CompileConfig): void {
  compiledModels.set(model, { config, optimizer: getOptimizer(config.optimizer ?? 'adam'), loss: getLoss(config.loss), metrics: checkMetrics(config.metrics ?? []) });
}

export function getCompiledOrNull(model: Model): Compiled | null {
  return compiledModels.get(model) ?? null;
}

export function getCompiled(model: Model): Compiled {
  const c = compiledModels.get(model);
  if (!c) throw new Error(`${model.who}: call compile({ optimizer, loss, metrics }) before fit() or evaluate()`);
  return c;
}

function positiveInt(who: string, arg: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${who}: argument '${arg}' expected a positive integer, received ${v}`);
  return v;
}

const toSource = (x: Tensor | DataSource, y: Targets | undefined, who: string): DataSource => {
  if (x instanceof Tensor) {
    if (!y) throw new Error(`${who}: argument 'y' expected targets for the tensor x, received none`);
    return tensorSource(x, y);
  }
  return x;
};

/** Trains the model (keras Model.fit). Returns the History. */
export async function fit(model: Model, x: Tensor | DataSource, y: Targets | undefined, opts: FitOptions = {}): Promise<History> {
  const c = getCompiled(model);
  const who = `${model.who}.fit`;
  const batchSize = positiveInt(who, 'batchSize', opts.batchSize ?? 32);
  const epochs = positiveInt(who, 'epochs', opts.epochs ?? 1);
  const dp = opts.dataParallel === undefined ? getDataParallel() : opts.dataParallel && opts.dataParallel.size > 1 ? opts.dataParallel : null;
  if (dp && batchSize % dp.size !== 0) throw new Error(`${who}: argument 'batchSize' (the global batch) expected a multiple of the ${dp.size} processes, received ${batchSize}`);
  const leader = !dp || dp.rank === 0;
  const verbose = leader ? opts.verbose ?? 1 : 0;
  let source = toSource(x, y, who);
  let validation: DataSource | null = null;
  if (opts.validationData) validation = Array.isArray(opts.validationData) ? tensorSource(opts.validationData[0], opts.validationData[1]) : opts.validationData;
  else if (opts.validationSplit) {
    const f = opts.validationSplit;
    if (!(f > 0 && f < 1)) throw new Error(`${who}: argument 'validationSplit' expected a number in (0, 1), received ${f}`);
    const cut = Math.floor(source.size * (1 - f));
    validation = sliceSource(source, cut, source.size);
    source = sliceSource(source, 0, cut);
  }
  if (source.size === 0) throw new Error(`${who}: expected at least one training sample, received none`);
  const validateAt = (epoch: number): boolean => {
    const f = opts.validationFreq ?? 1;
    return Array.isArray(f) ? f.includes(epoch + 1) : (epoch + 1) % f === 0;
  };

  // Callbacks that write files run on rank 0 alone; the others run everywhere on the same global logs.
  const callbacks = (opts.callbacks ?? []).filter((cb) => leader || !cb.leaderOnly);
  const history = new History();
  const vars = model.trainableWeights;
  const steps = Math.ceil(source.size / batchSize);
  const syncBatchNorm = !!(dp && opts.syncBatchNorm);
  const last = source.size % batchSize;
  if (syncBatchNorm && last > 0 && last < dp!.size) throw new Error(`${who}: syncBatchNorm needs a sample for every process in each batch; the last batch has ${last} for ${dp!.size} processes (drop or add ${last} samples)`);
  let epochsDone = opts.initialEpoch ?? 0;
  const progress = new ProgressBar(verbose);
  const pendingSaves: { path: string; kind: 'full' | 'weights' }[] = [];

  const outer = opts.outerModel ?? model;
  const ctx: TrainingContext = {
    model: outer,
    optimizer: c.optimizer,
    epochs,
    stepsPerEpoch: steps,
    batchSize,
    verbose,
    history,
    stopTraining: false,
    log: (line) => (verbose > 0 ? process.stdout.write(line + '\n') : undefined),
    // Saves asked for during onEpochEnd are written once every callback has finished the epoch, so that a
    // checkpoint holds the whole state of that epoch whatever the callbacks' order (a ModelCheckpoint listed
    // before another callback would otherwise store that callback's state of the previous epoch).
    save(path, kind) {
      if (leader) pendingSaves.push({ path, kind });
    },
  };
  const keras = compileToKeras(c.config, c.optimizer);
  const writeCheckpoint = (path: string, kind: 'full' | 'weights'): void => {
    const state: CheckpointState = {
      epoch: epochsDone,
      model: describeModel(outer),
      ...(keras ? { compile: keras } : {}),
      optimizer: { className: c.optimizer.className, iterations: c.optimizer.iterations, config: c.optimizer.getConfig() },
      rng: globalRandom.getState(),
      history: history.toJSON(),
      callbacks: Object.fromEntries(callbacks.filter((cb) => cb.stateKey && cb.getState).map((cb) => [cb.stateKey!, cb.getState!()])),
      ...(opts.checkpointExtra ? { extra: opts.checkpointExtra } : {}),
    };
    saveCheckpoint(path, outer, state, kind === 'full' ? c.optimizer.getState(outer.trainableWeights).slots : {}, kind);
  };
  for (const cb of callbacks) cb.ctx = ctx;

  if (opts.resumeFrom) epochsDone = resumeTraining(opts.resumeFrom, outer, c, history, callbacks, who);

  // Every rank starts from rank 0's weights; gradients are then averaged in fixed buckets. Rank 0's generator
  // too: every rank then draws each step's dropout masks and augmentations as one process would (shardStep).
  const reducer = dp ? new GradientReducer(dp, vars) : null;
  if (dp) {
    broadcastModel(dp, outer);
    broadcastRandom(dp, 0);
  }

  for (const cb of callbacks) cb.onTrainBegin?.({});
  const batchEndCallbacks = callbacks.filter((cb) => cb.onBatchEnd);
  let lastYield = performance.now();
  const order = new Int32Array(source.size);
  for (let epoch = epochsDone; epoch < epochs && !ctx.stopTraining; epoch++) {
    for (const cb of callbacks) cb.onEpochBegin?.(epoch, {});
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (opts.shuffle ?? true) globalRandom.shuffle(order);
    if (dp) dp.broadcast(order, 0); // rank 0's permutation (and random state) rules
    progress.epochBegin(epoch, epochs, steps);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const runningLogs = (): Logs => metricLogs(c, lossSum / seen, correct / seen);
    for (let step = 0; step < steps; step++) {
      const idx = order.subarray(step * batchSize, Math.min(source.size, (step + 1) * batchSize));
      const where = `epoch ${epoch + 1}, step ${step + 1}`;
      const r = dp && reducer ? shardStep(dp, reducer, idx, source, model, c.loss, c.optimizer, vars, where, syncBatchNorm) : trainStep(model, c.loss, c.optimizer, vars, ...batchOf(source, idx), where);
      lossSum += r.loss * idx.length;
      correct += r.correct;
      seen += idx.length;
      progress.step(step + 1, steps, idx.length, runningLogs);
      if (batchEndCallbacks.length > 0) {
        const logs = runningLogs(); // one object for all, as before: a callback may add keys for the next
        for (const cb of batchEndCallbacks) cb.onBatchEnd!(step, logs);
      }
      // Let timers and signal handlers run between steps: every YIELD_MS, not every step (a turn of the event
      // loop cost 0.14-0.36 ms on the shared 2-core VM, 3-8% of a LeNet5 step), and after the epoch's last step.
      if (step === steps - 1 || performance.now() - lastYield >= YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    const logs = metricLogs(c, lossSum / seen, correct / seen);
    // Per-rank batch-norm statistics (DDP's default): rank 0's are kept, validated and saved.
    if (dp) broadcastArrays(dp, outer.nonTrainableWeights.map((w) => w.data));
    if (validation && validateAt(epoch)) {
      const v = dp ? evaluateShard(dp, model, c, validation, batchSize) : evaluateSource(model, c, validation, batchSize);
      for (const [k, val] of Object.entries(v)) logs[`val_${k}`] = val;
    }
    progress.epochEnd(steps, logs);
    history.append(epoch, logs);
    epochsDone = epoch + 1;
    for (const cb of callbacks) cb.onEpochEnd?.(epoch, logs);
    history.patchLast(logs);
    for (const { path, kind } of pendingSaves.splice(0)) writeCheckpoint(path, kind);
  }
  for (const cb of callbacks) cb.onTrainEnd?.({});
  return history;
}

/**
 * Restores what a full checkpoint holds (weights, optimizer slots and step, learning rate, random state,
 * history, callback state) and returns the number of epochs it had completed.
 */
function resumeTraining(path: string, model: Model, c: Compiled, history: History, callbacks: readonly Callback[], who: string): number {
  const ckpt = readCheckpoint(path);
  if (ckpt.kind !== 'full') throw new Error(`${who}: cannot resume from '${path}': it holds weights only (saveWeightsOnly); resuming needs a full checkpoint`);
  const names = restoreWeights(model, ckpt, `checkpoint '${path}'`);
  const s = ckpt.state;
  if (s.optimizer) c.optimizer.setState({ ...s.optimizer, slots: renameSlots(ckpt.slots, names) }, model.trainableWeights);
  if (s.optimizer?.config.learningRate) c.optimizer.learningRate = s.optimizer.config.learningRate as number;
  if (s.rng) globalRandom.setState(s.rng);
  if (s.history) Object.assign(history, History.from(s.history));
  for (const cb of callbacks) {
    if (!cb.stateKey || !cb.setState || !s.callbacks) continue;
    // An older checkpoint keyed ModelCheckpoint by its whole path: take the entry for the same file name.
    const key = cb.stateKey in s.callbacks ? cb.stateKey : Object.keys(s.callbacks).find((k) => cb.stateKey!.startsWith('ModelCheckpoint:') && k.startsWith('ModelCheckpoint:') && k.endsWith(`/${cb.stateKey!.slice('ModelCheckpoint:'.length)}`));
    if (key !== undefined) cb.setState(s.callbacks[key]);
  }
  return s.epoch ?? 0;
}

/** The batch for one training step, lent by the source when it can (trainStep keeps none of it). */
function batchOf(source: DataSource, idx: Int32Array): [Tensor, Targets] {
  const b = takeBatch(source, idx, true);
  return [b.x, b.y];
}

/** Validation split across ranks (contiguous parts) and reduced: every rank gets the whole set's figures. */
function evaluateShard(dp: DataParallel, model: Model, c: Compiled, source: DataSource, batchSize: number): Logs {
  const [lo, hi] = shardRange(dp, source.size);
  const part = sliceSource(source, lo, hi);
  const logs = part.size > 0 ? evaluateSource(model, c, part, batchSize) : metricLogs(c, 0, 0);
  return reduceLogs(dp, logs, part.size, source.size);
}

function metricLogs(c: Compiled, loss: number, accuracy: number): Logs {
  const logs: Logs = { loss };
  for (const m of c.metrics) logs[m] = accuracy;
  return logs;
}

/** Loss (with regularization) and metrics over a source, in inference mode. */
export function evaluateSource(model: Model, c: Compiled, source: DataSource, batchSize: number): Logs {
  let lossSum = 0;
  let correct = 0;
  const all = new Int32Array(batchSize);
  noGrad(() => {
    for (let start = 0; start < source.size; start += batchSize) {
      const idx = all.subarray(0, Math.min(batchSize, source.size - start));
      for (let i = 0; i < idx.length; i++) idx[i] = start + i;
      // Consecutive samples: a tensor source lends views of its arrays, no copy.
      const { x, y } = takeBatch(source, idx, false);
      // Only numbers leave the batch, so its activations are recycled for the next one.
      model.inferenceBatch(() => {
        const out = model.inferForward(x);
        lossSum += totalLoss(model, c.loss, y, out).item() * idx.length;
        correct += countCorrect(y, out);
      });
    }
  });
  return metricLogs(c, lossSum / source.size, correct / source.size);
}

/** keras Model.evaluate: { loss, ...metrics } over (x, y) or a source. */
export function evaluate(model: Model, x: Tensor | DataSource, y?: Targets, opts: { batchSize?: number } = {}): Logs {
  const c = getCompiled(model);
  const who = `${model.who}.evaluate`;
  return evaluateSource(model, c, toSource(x, y, who), positiveInt(who, 'batchSize', opts.batchSize ?? 32));
}
