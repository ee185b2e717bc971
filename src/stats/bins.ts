// Score-quantile bins for sensitivity tables: "in the top 10% of scores, what fraction is positive?"
import { ProbityError, show } from '../errors.js';
import { checkFinite, toBool, type Labels } from './describe.js';

export interface QuantileBin {
  /** Smallest and largest score in the bin (bins are disjoint in score; ties never straddle two bins). */
  lo: number;
  hi: number;
  n: number;
  nPositive: number;
  fractionPositive: number;
}

/**
 * Sorts by score (ascending) and cuts into nBins groups of as-equal-as-possible size. A cut that would split a run
 * of tied scores moves to the end of the run, so equal scores always share a bin; bins that end up empty are
 * dropped, so heavy ties can give fewer than nBins bins. Bins come back lowest scores first.
 */
export function quantileBins(scores: ArrayLike<number>, labels: Labels, nBins: number): QuantileBin[] {
  if (!Number.isInteger(nBins) || nBins < 1) throw new ProbityError('STATS_INPUT', `nBins must be a positive integer, got ${show(nBins)}`);
  checkFinite(scores, 'scores');
  const n = scores.length;
  const pos = toBool(labels, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const bins: QuantileBin[] = [];
  let start = 0;
  for (let b = 1; b <= nBins && start < n; b++) {
    let end = Math.round((b * n) / nBins); // exclusive
    if (end <= start) continue;
    while (end < n && scores[order[end]] === scores[order[end - 1]]) end++;
    let nPositive = 0;
    for (let t = start; t < end; t++) if (pos[order[t]]) nPositive++;
    bins.push({ lo: scores[order[start]], hi: scores[order[end - 1]], n: end - start, nPositive, fractionPositive: nPositive / (end - start) });
    start = end;
  }
  return bins;
}
