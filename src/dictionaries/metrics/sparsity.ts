// Streaming sparsity and latent-usage metrics over codes (sparse TopK-style or dense). Per-latent firing counts are
// exact integers and the L1 sum runs in float64 in token order, so results do not depend on batch size.
import { ProbityError, show } from '../../errors.js';
import { checkCode, type Code } from './codes.js';

export interface SparsityMetrics {
  /** Mean number of non-zero latents per token. */
  l0: number;
  /** Mean over tokens of sum |code|. */
  l1: number;
  /** Fraction of latents that never fired (non-zero) in the tokens seen so far. Depends on how many tokens were seen. */
  dead_fraction: number;
  /** Fraction of latents firing on more than 10% of tokens. */
  dense_fraction: number;
}

export interface DensityHistogram {
  /** nBins + 1 edges in log10(density); bin b covers [edges[b], edges[b+1]), the last bin also includes its right edge. */
  edges: number[];
  /** Live latents per bin; densities outside [edges[0], edges[nBins]] are counted in the nearest end bin. */
  counts: number[];
  /** Latents that never fired (log10 density = -Infinity), kept out of the bins. */
  dead: number;
}

export const DENSE_THRESHOLD = 0.1;

export class SparsityStats {
  private n = 0;
  private l0Sum = 0;
  private l1Sum = 0;
  /** Per-latent count of tokens on which the latent was non-zero. */
  readonly fires: Float64Array;

  constructor(readonly dSae: number) {
    if (!Number.isInteger(dSae) || dSae < 1) throw new ProbityError('METRICS_SHAPE', `dSae must be a positive integer, got ${show(dSae)}`);
    this.fires = new Float64Array(dSae);
  }

  add(code: Code): this {
    if (code.dSae !== this.dSae) throw new ProbityError('METRICS_SHAPE', `code has dSae ${code.dSae}, accumulator expects ${this.dSae}`);
    checkCode(code);
    const width = code.kind === 'sparse' ? code.k : code.dSae;
    for (let t = 0; t < code.n; t++) {
      let l1 = 0;
      for (let j = 0, o = t * width; j < width; j++, o++) {
        const v = code.values[o];
        if (v === 0) continue;
        this.l0Sum++;
        l1 += Math.abs(v);
        this.fires[code.kind === 'sparse' ? code.indices[o] : j]++;
      }
      this.l1Sum += l1;
      this.n++;
    }
    return this;
  }

  get count(): number {
    return this.n;
  }

  /** Per-latent firing density (fraction of tokens on which it was non-zero). */
  densities(): Float64Array {
    return this.fires.map((f) => (this.n > 0 ? f / this.n : NaN));
  }

  metrics(): SparsityMetrics {
    let dead = 0;
    let dense = 0;
    for (const f of this.fires) {
      if (f === 0) dead++;
      if (f > DENSE_THRESHOLD * this.n) dense++;
    }
    const n = this.n;
    return {
      l0: n > 0 ? this.l0Sum / n : NaN,
      l1: n > 0 ? this.l1Sum / n : NaN,
      dead_fraction: n > 0 ? dead / this.dSae : NaN,
      dense_fraction: n > 0 ? dense / this.dSae : NaN,
    };
  }

  /** Histogram of log10 firing density over [lo, hi] (default 1e-7 .. 1, 4 bins per decade). */
  densityHistogram(opts: { lo?: number; hi?: number; nBins?: number } = {}): DensityHistogram {
    const lo = opts.lo ?? -7;
    const hi = opts.hi ?? 0;
    const nBins = opts.nBins ?? 4 * (hi - lo);
    if (!(hi > lo) || !Number.isInteger(nBins) || nBins < 1) {
      throw new ProbityError('METRICS_INPUT', `density histogram needs lo < hi and a positive integer nBins, got ${show([lo, hi, nBins])}`);
    }
    const w = (hi - lo) / nBins;
    const edges = Array.from({ length: nBins + 1 }, (_, b) => lo + b * w);
    const counts = new Array<number>(nBins).fill(0);
    let dead = 0;
    for (const f of this.fires) {
      if (f === 0) {
        dead++;
        continue;
      }
      const b = Math.floor((Math.log10(f / this.n) - lo) / w);
      counts[Math.min(nBins - 1, Math.max(0, b))]++;
    }
    return { edges, counts, dead };
  }
}
