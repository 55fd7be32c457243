/**
 * Seeded random numbers. One generator drives every initializer, dropout mask and shuffle, so the same seed
 * gives the same weights and the same loss curve. The state is four 32-bit words (xoshiro128**), small enough
 * to store in a checkpoint and restore for a bit-identical resume.
 */
export type RandomState = [number, number, number, number];

export class Random {
  private s: Uint32Array = new Uint32Array(4);
  // Box-Muller makes normals in pairs; the spare is part of the state.
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Re-seeds with splitmix32, so nearby seeds give unrelated streams. */
  seed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = null;
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /**
   * Advances the generator as `count` calls of nextUint32 (or uniform, int: one draw each) would: a shard of a
   * data-parallel batch passes over the draws of the other ranks' rows (src/tensor/shard.ts).
   */
  skip(count: number): void {
    for (let i = 0; i < count; i++) this.nextUint32();
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  getState(): { s: RandomState; spare: number | null } {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare };
  }

  setState(state: { s: RandomState; spare: number | null }): void {
    this.s.set(state.s);
    this.spare = state.spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide generator behind every initializer and dropout mask unless one is passed explicitly. */
export const globalRandom = new Random(0);

/** Seeds the global generator: same seed, same weights. */
export function setSeed(seed: number): void {
  globalRandom.seed(seed);
}
