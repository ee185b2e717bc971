// Seeded pseudo-random numbers for statistics and baselines (bootstrap resampling, k-means++ seeding, random
// dictionaries). Nothing here uses Math.random, so every interval and baseline is a pure function of its seed.
// mulberry32 core; the seed goes through a murmur3 finaliser first so nearby seeds (0, 1, 2...) give unrelated streams.
import { ProbityError, show } from '../errors.js';
import { fmix32, Mulberry32 } from '../util/random.js';


function startState(seed: number): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ProbityError('STATS_SEED', `seed must be a non-negative safe integer, got ${show(seed)}`);
  }
  // Fold the high bits in too, so seeds that differ only above 2^32 still differ.
  return fmix32(fmix32(seed >>> 0) ^ Math.floor(seed / 4294967296) ^ 0x9e3779b9);
}

export class Rng extends Mulberry32 {
  private spare: number | null = null; // second Box-Muller normal

  constructor(seed: number) {
    super(startState(seed));
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
