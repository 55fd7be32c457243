/**
 * numpy's legacy `np.random.RandomState(seed)` as far as `shuffle` needs it, so that a seeded shuffle picks the
 * same permutation here as in Python. Keras's image_dataset_from_directory shuffles its file list with
 * `np.random.RandomState(seed).shuffle(file_paths)` before splitting off the validation files
 * (keras/src/utils/dataset_utils.py, index_directory); with this port the split holds the same files.
 *
 *   seeding   MT19937 `init_genrand` (numpy `_legacy_seeding` -> `mt19937_seed`): key[0] = seed,
 *             key[i] = 1812433253 * (key[i-1] ^ (key[i-1] >>> 30)) + i, all mod 2^32.
 *   output    the reference MT19937 `genrand_int32` (Matsumoto and Nishimura 1998; numpy `mt19937_next32`).
 *   shuffle   Fisher-Yates from the end: for i = n-1 down to 1, j = random_interval(i), swap a[i] and a[j]
 *             (numpy/random/mtrand.pyx, RandomState.shuffle; the same draws for lists and 1-d arrays).
 *   interval  random_interval(max): mask = smallest 2^k - 1 >= max; draw next_uint32() & mask until <= max
 *             (numpy/random/src/distributions/distributions.c; 32-bit draws whenever max < 2^32).
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  /** `seed` must be an integer in [0, 2^32 - 1], as numpy's RandomState requires. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`NumpyRandomState: seed must be an integer between 0 and 2**32 - 1, received ${seed}`);
    }
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.pos = N;
  }

  /** Next 32-bit output of MT19937 (genrand_int32), as an unsigned number. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform integer in [0, max] by masked rejection, numpy's random_interval for max < 2^32. */
  randomInterval(max: number): number {
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new Error(`NumpyRandomState.randomInterval: max must be an integer in [0, 2**32 - 1], received ${max}`);
    }
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** In-place shuffle, the same permutation as numpy's RandomState(seed).shuffle(a) on a fresh state. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Refills the 624-word state (the reference generator's block update). */
  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.pos = 0;
  }
}
