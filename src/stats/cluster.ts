// Cluster bootstrap within strata: the interval for benchmark numbers whose independent units are groups of items.
// A steering output's samples share a prompt and a detection score's tokens share a document, so resampling items as
// if independent makes intervals too narrow; the unit resampled here is the cluster (a prompt, a document), with all
// its items. Strata are fixed design factors (split seeds: each seed's test set is its own sample): every replicate
// resamples each stratum's clusters independently, with replacement, and strata themselves are not resampled, so the
// interval says how much the statistic would move with other test clusters drawn the same way, not how it would move
// with other seeds. Percentile intervals; never clamped to contain the estimate.
import { ProbityError, show } from '../errors.js';
import { quantileSorted } from './describe.js';
import { Rng } from './rng.js';
import type { BootstrapInterval, BootstrapOptions } from './bootstrap.js';

export interface ClusterInterval extends BootstrapInterval {
  /** Two-sided bootstrap sign p-value against 0: 2 * min(#{s* <= 0} + 1, #{s* >= 0} + 1) / (B + 1), capped at 1.
   *  Meaningful when the statistic is a (paired) difference; a resampling heuristic, not an exact test. */
  p: number;
  /** Clusters per stratum, as given. */
  clusters: number[];
}

/**
 * Percentile interval of `statistic` under a stratified cluster bootstrap. `clustersPerStratum[s]` is the number of
 * clusters of stratum s; `statistic(draw)` gets, per stratum, the drawn cluster indices (with repeats; length equal to
 * that stratum's cluster count) and returns the statistic of that resample. The estimate is the statistic of the
 * identity draw (0 .. n_s - 1 in every stratum). Non-finite replicates (e.g. an AUROC resample with one class) are left
 * out of the percentiles and counted in nInvalid.
 */
export function clusterBootstrap(
  clustersPerStratum: readonly number[],
  statistic: (draw: readonly Int32Array[]) => number,
  opts: BootstrapOptions = {},
): ClusterInterval {
  const iterations = opts.iterations ?? 2000;
  const alpha = opts.alpha ?? 0.05;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(iterations) || iterations < 1) throw new ProbityError('STATS_INPUT', `bootstrap iterations must be a positive integer, got ${show(iterations)}`);
  if (!(alpha > 0 && alpha < 1)) throw new ProbityError('STATS_INPUT', `bootstrap alpha must be in (0, 1), got ${show(alpha)}`);
  if (clustersPerStratum.length === 0) throw new ProbityError('STATS_INPUT', 'cluster bootstrap needs at least one stratum');
  for (const n of clustersPerStratum) {
    if (!Number.isInteger(n) || n < 1) throw new ProbityError('STATS_INPUT', `every stratum needs at least one cluster, got ${show([...clustersPerStratum])}`);
  }
  const draw = clustersPerStratum.map((n) => new Int32Array(n));
  draw.forEach((d) => d.forEach((_, i) => (d[i] = i)));
  const estimate = statistic(draw);
  const rng = new Rng(seed);
  const reps: number[] = [];
  let le = 0;
  let ge = 0;
  let nInvalid = 0;
  for (let b = 0; b < iterations; b++) {
    for (let s = 0; s < draw.length; s++) {
      const d = draw[s];
      for (let i = 0; i < d.length; i++) d[i] = rng.int(d.length);
    }
    const v = statistic(draw);
    if (!Number.isFinite(v)) {
      nInvalid++;
      continue;
    }
    reps.push(v);
    if (v <= 0) le++;
    if (v >= 0) ge++;
  }
  reps.sort((a, b) => a - b);
  const p = Math.min(1, (2 * (Math.min(le, ge) + 1)) / (reps.length + 1));
  const lo = reps.length ? quantileSorted(reps, alpha / 2) : NaN;
  const hi = reps.length ? quantileSorted(reps, 1 - alpha / 2) : NaN;
  return { estimate, lo, hi, alpha, iterations, nInvalid, p, clusters: [...clustersPerStratum] };
}

/** Mean over strata of the mean over drawn clusters' items: the common statistic for per-item values grouped by
 *  cluster (values[s][c] = the items of cluster c in stratum s). Empty clusters contribute nothing. */
export function clusteredMean(values: readonly (readonly (readonly number[])[])[]): (draw: readonly Int32Array[]) => number {
  return (draw) => {
    let total = 0;
    for (let s = 0; s < draw.length; s++) {
      let sum = 0;
      let n = 0;
      for (const c of draw[s]) {
        const items = values[s][c];
        for (let i = 0; i < items.length; i++) sum += items[i];
        n += items.length;
      }
      total += n ? sum / n : NaN;
    }
    return total / draw.length;
  };
}
