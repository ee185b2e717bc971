// The one seeded generator core in probity: mulberry32 steps and the murmur3 finaliser. Each user keeps its own
// seeding rule (the organism corpus, statistics, shuffling and SAE init are pure functions of their seeds, and their
// streams must never change), but the arithmetic lives here once.

/** murmur3 finaliser: a good 32-bit avalanche mix. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Advance a mulberry32 state: returns the new state and the output (unsigned 32-bit). */
export function mulberry32(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [s, (t ^ (t >>> 14)) >>> 0];
}

/** A uniform [0, 1) generator function over a raw mulberry32 state. */
export function uniform(state: number): () => number {
  let s = state >>> 0;
  return () => {
    const [n, out] = mulberry32(s);
    s = n;
    return out / 4294967296;
  };
}

/** A mulberry32 stream; subclasses choose how a seed becomes the starting state. */
export class Mulberry32 {
  constructor(protected s: number) {}

  /** Uniform unsigned 32-bit integer. */
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
}
