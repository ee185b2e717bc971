// Seeded pseudo-random numbers for the organism corpus. Everything random in src/organism goes through Rng (never
// Math.random), so a corpus is a pure function of its seeds. mulberry32 state, seeded through a murmur3-style mixer.
import { ProbityError, show } from '../errors.js';
import { fmix32, Mulberry32 } from '../util/random.js';


/** Hash a sequence of integers / strings to an unsigned 32-bit value (stable across platforms and versions). */
export function hash32(...parts: (number | string)[]): number {
  let h = 0x9e3779b9;
  const feed = (x: number) => {
    h = fmix32((h ^ fmix32((x >>> 0) + 0x7f4a7c15)) + 0x6a09e667);
  };
  for (const p of parts) {
    if (typeof p === 'number') {
      feed(p % 4294967296);
      feed(Math.floor(p / 4294967296));
    } else {
      feed(0x51ed270b ^ p.length);
      for (let i = 0; i < p.length; i++) feed(p.charCodeAt(i));
    }
  }
  return h;
}

/** FNV-1a over a string: used for the held-out split, where the value must never change. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function checkSeed(seed: unknown, what = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ProbityError('E_ORGANISM_SEED', `${what} must be a non-negative safe integer, got ${show(seed)}`);
  }
  return seed;
}

export class Rng extends Mulberry32 {
  constructor(seed: number) {
    super(hash32(seed) >>> 0);
  }

  /** Rng for item `index` of stream `seed`: independent per item, so documents can be generated in any order. */
  static forItem(seed: number, index: number, stream = ''): Rng {
    const r = new Rng(0);
    r.s = hash32(seed, index, stream);
    return r;
  }


  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new ProbityError('E_ORGANISM_INTERNAL', 'Rng.pick on an empty list');
    return xs[this.int(xs.length)];
  }

  /** Key drawn with probability proportional to its weight (keys in insertion order). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const keys = Object.keys(weights) as K[];
    let total = 0;
    for (const k of keys) total += weights[k];
    let x = this.next() * total;
    for (const k of keys) {
      x -= weights[k];
      if (x < 0) return k;
    }
    return keys[keys.length - 1];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffled<T>(xs: readonly T[]): T[] {
    const a = xs.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** k distinct elements in random order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    return this.shuffled(xs).slice(0, Math.min(k, xs.length));
  }
}
