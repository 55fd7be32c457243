import cliProgress from 'cli-progress';
import type { Logs } from './callbacks.js';

const formatLogs = (logs: Logs): string =>
  Object.entries(logs)
    .map(([k, v]) => ` - ${k}: ${Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(4)}`)
    .join('');

function formatSeconds(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  if (s >= 60) return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  return `${s.toFixed(0)}s`;
}

/**
 * Keras-style progress: "Epoch 3/10", then a bar with steps, ETA, images/s and running metrics, ending in
 * "390/390 [====] - 12s 31ms/step - 4096 img/s - loss: ... - val_loss: ...". verbose 2, or output that is not
 * a terminal, prints only the final line of each epoch (so logs stay readable in CI).
 */
/** The live bar redraws at most this often: 10 frames a second, cli-progress's own default rate. */
const REDRAW_MS = 100;

export class ProgressBar {
  private bar: cliProgress.SingleBar | null = null;
  private start = 0;
  private images = 0;
  /** When the bar was last drawn (performance.now()). */
  private drawn = -Infinity;
  private readonly live: boolean;

  constructor(private readonly verbose: 0 | 1 | 2, private readonly print: (line: string) => void = (l) => process.stdout.write(l + '\n')) {
    this.live = verbose === 1 && process.stdout.isTTY === true;
  }

  epochBegin(epoch: number, epochs: number, steps: number): void {
    if (this.verbose === 0) return;
    this.print(`Epoch ${epoch + 1}/${epochs}`);
    this.start = performance.now();
    this.images = 0;
    this.drawn = -Infinity;
    if (this.live) {
      this.bar = new cliProgress.SingleBar(
        {
          format: '{value}/{total} [{bar}] - ETA: {etaText} - {ips} img/s{metrics}',
          barCompleteChar: '=',
          barIncompleteChar: '.',
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.legacy,
      );
      this.bar.start(steps, 0, { etaText: '?', ips: '0', metrics: '' });
    }
  }

  /**
   * Counts the batch's images and redraws the bar, at most every REDRAW_MS (and on the last step): formatting the
   * logs and writing the line each step would cost more than a small model's step. `logs` may be a function,
   * called only when the bar is drawn.
   */
  step(step: number, steps: number, batchImages: number, logs: Logs | (() => Logs)): void {
    this.images += batchImages;
    if (!this.bar) return;
    const now = performance.now();
    if (now - this.drawn < REDRAW_MS && step < steps) return;
    this.drawn = now;
    const elapsed = (now - this.start) / 1000;
    const eta = (elapsed / step) * (steps - step);
    this.bar.update(step, { etaText: formatSeconds(eta), ips: (this.images / Math.max(elapsed, 1e-9)).toFixed(0), metrics: formatLogs(typeof logs === 'function' ? logs() : logs) });
  }

  epochEnd(steps: number, logs: Logs): void {
    if (this.verbose === 0) return;
    const elapsed = (performance.now() - this.start) / 1000;
    const summary = `${steps}/${steps} - ${formatSeconds(elapsed)} ${((elapsed * 1000) / Math.max(steps, 1)).toFixed(0)}ms/step - ${(this.images / Math.max(elapsed, 1e-9)).toFixed(0)} img/s${formatLogs(logs)}`;
    if (this.bar) {
      this.bar.update(steps, { etaText: '0s', metrics: formatLogs(logs) });
      this.bar.stop();
      this.bar = null;
    } else this.print(summary);
  }
}
