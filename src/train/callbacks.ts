import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Model } from '../models/model.js';
import type { History } from './history.js';
import type { Optimizer } from './optimizers.js';

export type Logs = Record<string, number>;

/** What a callback can see and do during fit(). */
export interface TrainingContext {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
  readonly verbose: 0 | 1 | 2;
  /** Epochs so far, including the one just finished when onEpochEnd runs. */
  readonly history: History;
  /** Set to true to end training after this epoch (keras model.stop_training). */
  stopTraining: boolean;
  /** Writes a checkpoint of the current state: 'full' (resumable) or 'weights'. */
  save(path: string, kind: 'full' | 'weights'): void;
  /** Prints a line without breaking the progress bar. */
  log(line: string): void;
}

/**
 * Hooks into fit(), as keras.callbacks.Callback. A callback with a `stateKey` has its state stored in full
 * checkpoints and restored on resume (so a resumed ModelCheckpoint remembers its best value).
 */
export abstract class Callback {
  ctx!: TrainingContext;
  readonly stateKey?: string;
  /** Writes files: in data-parallel training (src/train/parallel.ts) it runs on rank 0 alone. */
  readonly leaderOnly?: boolean;
  onTrainBegin?(logs: Logs): void;
  onTrainEnd?(logs: Logs): void;
  onEpochBegin?(epoch: number, logs: Logs): void;
  onEpochEnd?(epoch: number, logs: Logs): void;
  onBatchEnd?(step: number, logs: Logs): void;
  getState?(): unknown;
  setState?(state: unknown): void;
}

type Mode = 'auto' | 'min' | 'max';

/** Keras's rule for mode 'auto': accuracy-like metrics are maximised, everything else minimised. */
function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc|auc|precision|recall|fmeasure/.test(monitor) ? 'max' : 'min';
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(5) : String(v));

/**
 * Fills Keras-style placeholders: `{epoch}`, `{epoch:02d}`, `{val_loss:.4f}` from the epoch (1-based) and logs.
 */
export function formatFilepath(template: string, epoch: number, logs: Logs): string {
  return template.replace(/\{(\w+)(?::(0?)(\d*)(?:\.(\d+))?([df]))?\}/g, (all, key: string, zero: string, width: string, prec: string, kind: string) => {
    const value = key === 'epoch' ? epoch : logs[key];
    if (value === undefined) throw new Error(`ModelCheckpoint: filepath placeholder '${all}' names '${key}', which is not among the logs (${Object.keys(logs).join(', ')})`);
    let s = kind === 'd' ? String(Math.trunc(value)) : kind === 'f' ? value.toFixed(prec ? Number(prec) : 6) : String(value);
    if (width) s = s.padStart(Number(width), zero ? '0' : ' ');
    return s;
  });
}

export interface ModelCheckpointConfig {
  filepath: string;
  monitor?: string;
  mode?: Mode;
  saveBestOnly?: boolean;
  saveWeightsOnly?: boolean;
  verbose?: 0 | 1;
}

/** keras.callbacks.ModelCheckpoint: saves after each epoch, or only on improvement of `monitor`. */
export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly verbose: 0 | 1;
  best: number;
  override readonly stateKey: string;

  constructor(config: ModelCheckpointConfig) {
    super();
    if (typeof config.filepath !== 'string' || config.filepath === '') throw new Error(`ModelCheckpoint: argument 'filepath' expected a path, received ${JSON.stringify(config.filepath)}`);
    this.filepath = config.filepath;
    this.monitor = config.monitor ?? 'val_loss';
    this.mode = resolveMode(config.mode ?? 'auto', this.monitor);
    this.saveBestOnly = config.saveBestOnly ?? false;
    this.saveWeightsOnly = config.saveWeightsOnly ?? false;
    this.verbose = config.verbose ?? 0;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    // Keyed by the file's name, not its path: a run folder moved or reached by another path resumes with its
    // best value so far (checkpoints written before keyed it by the whole path; fit.ts reads those too).
    this.stateKey = `ModelCheckpoint:${basename(this.filepath)}`;
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const path = formatFilepath(this.filepath, epoch + 1, logs);
    mkdirSync(dirname(path), { recursive: true });
    const kind = this.saveWeightsOnly ? 'weights' : 'full';
    if (!this.saveBestOnly) {
      if (this.verbose) this.ctx.log(`Epoch ${epoch + 1}: saving model to ${path}`);
      this.ctx.save(path, kind);
      return;
    }
    const current = logs[this.monitor];
    if (current === undefined || !Number.isFinite(current)) {
      // Epochs without validation (validationFreq > 1) have no val_ metric: nothing to compare.
      if (current !== undefined || !this.monitor.startsWith('val_')) this.ctx.log(`Epoch ${epoch + 1}: can save best model only with ${this.monitor} available, skipping.`);
      return;
    }
    const improved = this.mode === 'min' ? current < this.best : current > this.best;
    if (improved) {
      if (this.verbose) this.ctx.log(`Epoch ${epoch + 1}: ${this.monitor} improved from ${fmt(this.best)} to ${fmt(current)}, saving model to ${path}`);
      this.best = current;
      this.ctx.save(path, kind);
    } else if (this.verbose) {
      this.ctx.log(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${fmt(this.best)}`);
    }
  }

  override getState(): unknown {
    return { best: Number.isFinite(this.best) ? this.best : null };
  }
  override setState(state: unknown): void {
    const best = (state as { best: number | null }).best;
    if (best !== null && best !== undefined) this.best = best;
  }
}

/** keras.callbacks.EarlyStopping: stops when `monitor` has not improved by minDelta for `patience` epochs. */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  readonly baseline: number | null;
  best: number;
  wait = 0;
  bestEpoch = 0;
  stoppedEpoch = 0;
  private bestWeights: (Float32Array | Float64Array)[] | null = null;
  override readonly stateKey = 'EarlyStopping';

  constructor(config: { monitor?: string; minDelta?: number; patience?: number; mode?: Mode; baseline?: number | null; restoreBestWeights?: boolean } = {}) {
    super();
    this.monitor = config.monitor ?? 'val_loss';
    this.mode = resolveMode(config.mode ?? 'auto', this.monitor);
    this.minDelta = Math.abs(config.minDelta ?? 0);
    this.patience = config.patience ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`EarlyStopping: argument 'patience' expected a non-negative integer, received ${this.patience}`);
    this.restoreBestWeights = config.restoreBestWeights ?? false;
    this.baseline = config.baseline ?? null;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  private better(current: number, reference: number): boolean {
    return this.mode === 'min' ? current + this.minDelta < reference : current - this.minDelta > reference;
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const current = logs[this.monitor];
    if (current === undefined) return;
    if (this.restoreBestWeights && this.bestWeights === null) this.bestWeights = this.ctx.model.weights.map((w) => w.data.slice());
    this.wait++;
    if (this.better(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = this.ctx.model.weights.map((w) => w.data.slice());
      if (this.baseline === null || this.better(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.ctx.stopTraining = true;
      if (this.restoreBestWeights && this.bestWeights) {
        this.ctx.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
        this.ctx.model.weights.forEach((w, i) => w.assign(this.bestWeights![i]));
      }
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0) this.ctx.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
  }

  override getState(): unknown {
    return { best: Number.isFinite(this.best) ? this.best : null, wait: this.wait, bestEpoch: this.bestEpoch };
  }
  override setState(state: unknown): void {
    const s = state as { best: number | null; wait: number; bestEpoch: number };
    if (s.best !== null) this.best = s.best;
    this.wait = s.wait;
    this.bestEpoch = s.bestEpoch;
  }
}

/** keras.callbacks.LearningRateScheduler: lr = schedule(epoch, lr) at the start of each epoch. */
export class LearningRateScheduler extends Callback {
  constructor(private readonly schedule: (epoch: number, lr: number) => number, private readonly verbose: 0 | 1 = 0) {
    super();
  }

  override onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, this.ctx.optimizer.learningRate);
    if (!(lr > 0) || !Number.isFinite(lr)) throw new Error(`LearningRateScheduler: the schedule returned ${lr} for epoch ${epoch}; expected a positive number`);
    this.ctx.optimizer.learningRate = lr;
    if (this.verbose) this.ctx.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    logs.learning_rate = this.ctx.optimizer.learningRate;
  }
}

/** keras.callbacks.ReduceLROnPlateau: multiplies lr by `factor` after `patience` epochs without improvement. */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  best: number;
  wait = 0;
  cooldownCounter = 0;
  override readonly stateKey = 'ReduceLROnPlateau';

  constructor(config: { monitor?: string; factor?: number; patience?: number; mode?: Mode; minDelta?: number; cooldown?: number; minLr?: number; verbose?: 0 | 1 } = {}) {
    super();
    this.monitor = config.monitor ?? 'val_loss';
    this.mode = resolveMode(config.mode ?? 'auto', this.monitor);
    this.factor = config.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1)) throw new Error(`ReduceLROnPlateau: argument 'factor' expected a number in (0, 1), received ${this.factor}`);
    this.patience = config.patience ?? 10;
    this.minDelta = config.minDelta ?? 1e-4;
    this.cooldown = config.cooldown ?? 0;
    this.minLr = config.minLr ?? 0;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    logs.learning_rate = this.ctx.optimizer.learningRate;
    const current = logs[this.monitor];
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    const improved = this.mode === 'min' ? current < this.best - this.minDelta : current > this.best + this.minDelta;
    if (improved) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter <= 0 && ++this.wait >= this.patience) {
      const old = this.ctx.optimizer.learningRate;
      if (old > this.minLr) {
        const lr = Math.max(old * this.factor, this.minLr);
        this.ctx.optimizer.learningRate = lr;
        this.ctx.log(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${lr}.`);
        this.cooldownCounter = this.cooldown;
        this.wait = 0;
      }
    }
  }

  override getState(): unknown {
    return { best: Number.isFinite(this.best) ? this.best : null, wait: this.wait, cooldownCounter: this.cooldownCounter, lr: this.ctx.optimizer.learningRate };
  }
  override setState(state: unknown): void {
    const s = state as { best: number | null; wait: number; cooldownCounter: number };
    if (s.best !== null) this.best = s.best;
    this.wait = s.wait;
    this.cooldownCounter = s.cooldownCounter;
  }
}

/** keras.callbacks.CSVLogger: one row per epoch (epoch, then the logs in sorted order). */
export class CSVLogger extends Callback {
  override readonly leaderOnly = true;
  private keys: string[] | null = null;

  constructor(readonly filename: string, readonly separator = ',', readonly append = false) {
    super();
  }

  override onTrainBegin(): void {
    mkdirSync(dirname(this.filename), { recursive: true });
    if (!this.append || !existsSync(this.filename)) writeFileSync(this.filename, '');
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      const fresh = !existsSync(this.filename) || statSync(this.filename).size === 0;
      if (fresh) appendFileSync(this.filename, ['epoch', ...this.keys].join(this.separator) + '\n');
    }
    const row = [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? '' : String(logs[k])))];
    appendFileSync(this.filename, row.join(this.separator) + '\n');
  }
}
