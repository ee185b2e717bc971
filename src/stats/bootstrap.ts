// Nonparametric bootstrap (Efron): resample units with replacement, recompute the statistic, and report percentile
// intervals. Units are whatever is independent in the benchmark (prompts, documents, concepts), not tokens that
// share a context; the caller picks them by what it passes in.
import { ProbityError, show } from '../errors.js';
import { checkFinite, mean, quantileSorted } from './describe.js';
import { Rng } from './rng.js';

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  iterations?: number;
  /** Two-sided level: the interval covers 1 - alpha (default 0.05 -> 95%). */
  alpha?: number;
  /** Seed of the resampling stream (default 0). */
  seed?: number;
}

export interface BootstrapInterval {
  /** The statistic on the original (not resampled) units. */
  estimate: number;
  /** alpha/2 and 1 - alpha/2 percentiles of the finite bootstrap replicates. */
  lo: number;
  hi: number;
  alpha: number;
  iterations: number;
  /** Replicates whose statistic was not finite (e.g. an AUROC resample with one class); left out of lo/hi. */
  nInvalid: number;
}

function options(o: BootstrapOptions) {
  const iterations = o.iterations ?? 2000;
  const alpha = o.alpha ?? 0.05;
  const seed = o.seed ?? 0;
  if (!Number.isInteger(iterations) || iterations < 1) throw new ProbityError('STATS_INPUT', `bootstrap iterations must be a positive integer, got ${show(iterations)}`);
  if (!(alpha > 0 && alpha < 1)) throw new ProbityError('STATS_INPUT', `bootstrap alpha must be in (0, 1), got ${show(alpha)}`);
  return { iterations, alpha, seed };
}

/** Draws `iterations` resamples of n unit indices and returns the statistic of each (the replicates). */
function replicates(nUnits: number, statistic: (idx: Int32Array) => number, iterations: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const idx = new Int32Array(nUnits);
  const out = new Float64Array(iterations);
  for (let b = 0; b < iterations; b++) {
    for (let i = 0; i < nUnits; i++) idx[i] = rng.int(nUnits);
    out[b] = statistic(idx);
  }
  return out;
}

function interval(estimate: number, reps: Float64Array, alpha: number): BootstrapInterval {
  const finite = Array.from(reps).filter(Number.isFinite).sort((a, b) => a - b);
  const nInvalid = reps.length - finite.length;
  if (finite.length === 0) return { estimate, lo: NaN, hi: NaN, alpha, iterations: reps.length, nInvalid };
  return { estimate, lo: quantileSorted(finite, alpha / 2), hi: quantileSorted(finite, 1 - alpha / 2), alpha, iterations: reps.length, nInvalid };
}

/**
 * Percentile interval of any statistic over n resampled units. `statistic(idx)` gets the unit indices of one
 * resample (with repeats) and of the original data (0..n-1, for the estimate); e.g. for AUROC over examples:
 * idx => auroc(Array.from(idx, i => scores[i]), Array.from(idx, i => labels[i])).
 */
export function bootstrapStatistic(nUnits: number, statistic: (idx: Int32Array) => number, opts: BootstrapOptions = {}): BootstrapInterval {
  const { iterations, alpha, seed } = options(opts);
  if (!Number.isInteger(nUnits) || nUnits < 1) throw new ProbityError('STATS_INPUT', `bootstrap needs at least one unit, got ${show(nUnits)}`);
  const estimate = statistic(Int32Array.from({ length: nUnits }, (_, i) => i));
  return interval(estimate, replicates(nUnits, statistic, iterations, seed), alpha);
}

/** Percentile interval of the mean of per-unit values, or of `statistic` of the resampled values (it gets a reused buffer it may reorder). */
export function bootstrapCI(
  values: ArrayLike<number>,
  opts: BootstrapOptions & { statistic?: (sample: Float64Array) => number } = {},
): BootstrapInterval {
  checkFinite(values, 'values');
  const stat = opts.statistic ?? mean;
  const sample = new Float64Array(values.length);
  return bootstrapStatistic(
    values.length,
    (idx) => {
      for (let i = 0; i < idx.length; i++) sample[i] = values[idx[i]];
      return stat(sample);
    },
    opts,
  );
}

export interface PairedDiff extends BootstrapInterval {
  /** Bootstrap two-sided p-value-ish: 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1), capped at 1. */
  p: number;
}

/**
 * Paired comparison of two methods scored on the same units: d_i = a_i - b_i, estimate = mean(d), percentile CI
 * from resampling the units (pairs stay together, so between-unit variance cancels), and a two-sided
 * bootstrap p-value: how often the resampled mean difference falls on the other side of 0, doubled. The +1s keep
 * it away from an impossible 0 with finite B; it is a resampling heuristic, not an exact test.
 */
export function pairedBootstrapDiff(a: ArrayLike<number>, b: ArrayLike<number>, opts: BootstrapOptions = {}): PairedDiff {
  if (a.length !== b.length) throw new ProbityError('STATS_INPUT', `paired comparison needs equal lengths, got ${a.length} and ${b.length}`);
  checkFinite(a, 'a');
  checkFinite(b, 'b');
  const d = Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
  const { iterations, alpha, seed } = options(opts);
  if (d.length === 0) throw new ProbityError('STATS_INPUT', 'paired comparison of empty lists');
  const meanOf = (idx: Int32Array) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += d[idx[i]];
    return s / idx.length;
  };
  const reps = replicates(d.length, meanOf, iterations, seed);
  let le = 0;
  let ge = 0;
  for (const r of reps) {
    if (r <= 0) le++;
    if (r >= 0) ge++;
  }
  const p = Math.min(1, (2 * (Math.min(le, ge) + 1)) / (iterations + 1));
  return { ...interval(mean(d), reps, alpha), p };
}
