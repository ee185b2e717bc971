// Seeded pseudo-random numbers for statistics and baselines (bootstrap resampling, k-means++ seeding, random
// dictionaries). Nothing here uses Math.random, so every interval and baseline is a pure function of its seed.
// mulberry32 core; the seed goes through a murmur3 finaliser first so nearby seeds (0, 1, 2...) give unrelated streams.
import { ProbityError, show } from '../errors.js';
import { fmix32, mulberry32 } from '../util/random.js';


export class Rng {
  private s: number;
  private spare: number | null = null; // second Box-Muller normal

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
      throw new ProbityError('STATS_SEED', `seed must be a non-negative safe integer, got ${show(seed)}`);
    }
    // Fold the high bits in too, so seeds that differ only above 2^32 still differ.
    this.s = fmix32(fmix32(seed >>> 0) ^ Math.floor(seed / 4294967296) ^ 0x9e3779b9);
  }

  /** Uniform unsigned 32-bit integer (mulberry32). */
  u32(): number {
    const [s, out] = mulberry32(this.s);
    this.s = s;
    return out;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller; 1 - u keeps the log argument in (0, 1]). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}
