import type { Logs } from './callbacks.js';

/**
 * What fit() returns (keras.callbacks.History): `epoch` (0-based) and `history`, one list per metric.
 * Unlike Keras, validation lists stay aligned with `epoch`: an epoch without validation (validationFreq > 1)
 * holds null there, so history.history.val_loss[i] always belongs to history.epoch[i].
 */
export class History {
  epoch: number[] = [];
  history: Record<string, (number | null)[]> = {};

  append(epoch: number, logs: Logs): void {
    const i = this.epoch.length;
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) {
      const list = (this.history[k] ??= new Array<number | null>(i).fill(null));
      list.push(v);
    }
    for (const list of Object.values(this.history)) if (list.length < i + 1) list.push(null);
  }

  /** Adds keys that callbacks put into the logs after the epoch was appended (e.g. learning_rate). */
  patchLast(logs: Logs): void {
    const i = this.epoch.length - 1;
    for (const [k, v] of Object.entries(logs)) {
      if (!this.history[k]) this.history[k] = new Array<number | null>(i + 1).fill(null);
      this.history[k][i] = v;
    }
  }

  toJSON(): { epoch: number[]; history: Record<string, (number | null)[]> } {
    return { epoch: [...this.epoch], history: Object.fromEntries(Object.entries(this.history).map(([k, v]) => [k, [...v]])) };
  }

  static from(data: { epoch: number[]; history: Record<string, (number | null)[]> }): History {
    const h = new History();
    h.epoch = [...data.epoch];
    h.history = Object.fromEntries(Object.entries(data.history).map(([k, v]) => [k, [...v]]));
    return h;
  }
}
