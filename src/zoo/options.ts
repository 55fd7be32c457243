/** Options every zoo model takes. */
export interface ZooOptions {
  /** Batch-less input shape [height, width, channels]. */
  inputShape?: [number, number, number];
  numClasses?: number;
  name?: string;
}
