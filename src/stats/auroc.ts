// Detection metrics: AUROC and recall at a fixed false-positive rate. Higher score = more positive.
import { ProbityError, show } from '../errors.js';
import { checkFinite, toBool, type Labels } from './describe.js';

/**
 * Area under the ROC curve = P(score of a random positive > score of a random negative) + 0.5 P(tie), computed as
 * the Mann-Whitney U statistic from mid-ranks (tied scores share the average of their ranks), O(n log n).
 * Returns NaN when either class is empty (the AUROC is undefined there; bootstrap replicates can hit this).
 */
export function auroc(scores: ArrayLike<number>, labels: Labels): number {
  const n = scores.length;
  checkFinite(scores, 'scores');
  const pos = toBool(labels, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1; // 1-based ranks i+1 .. j+1 averaged
    for (let t = i; t <= j; t++) {
      if (pos[order[t]]) {
        nPos++;
        rankSumPos += midRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const u = rankSumPos - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}

export interface RocPoint {
  /** Decision rule: predict positive iff score > threshold (strict). */
  threshold: number;
  /** Fraction of positives with score > threshold. */
  recall: number;
  /** Realised false-positive rate on the negatives, always <= the requested one. */
  fpr: number;
}

/**
 * The operating point at a target false-positive rate. The threshold is chosen on the negatives alone: with
 * m = floor(fpr * nNeg) false positives allowed, it is the (m+1)-th largest negative score, and the rule is
 * `score > threshold`. Ties: every score equal to the threshold is called negative, for both classes, so the
 * realised FPR never exceeds the target (it can fall below it when negatives tie at the threshold), and a
 * positive that ties the threshold negative is not counted as recalled (conservative). If m >= nNeg the
 * threshold is -Infinity and everything is called positive.
 */
export function rocPointAtFpr(scores: ArrayLike<number>, labels: Labels, fpr = 0.01): RocPoint {
  if (!(fpr >= 0 && fpr <= 1)) throw new ProbityError('STATS_INPUT', `fpr must be in [0, 1], got ${show(fpr)}`);
  checkFinite(scores, 'scores');
  const pos = toBool(labels, scores.length);
  const neg: number[] = [];
  const posScores: number[] = [];
  for (let i = 0; i < scores.length; i++) (pos[i] ? posScores : neg).push(scores[i]);
  if (neg.length === 0 || posScores.length === 0) {
    throw new ProbityError('STATS_INPUT', `recall at FPR needs both classes, got ${posScores.length} positive and ${neg.length} negative`);
  }
  neg.sort((a, b) => b - a);
  // The 1e-9 guards against fpr * nNeg landing just under an integer in floating point (0.29 * 100 = 28.999...).
  const allowed = Math.floor(fpr * neg.length + 1e-9);
  const threshold = allowed >= neg.length ? -Infinity : neg[allowed];
  const above = (xs: number[]) => xs.reduce((c, s) => c + (s > threshold ? 1 : 0), 0);
  return { threshold, recall: above(posScores) / posScores.length, fpr: above(neg) / neg.length };
}

/** Recall (true-positive rate) at a false-positive rate of at most `fpr`; see rocPointAtFpr for threshold and ties. */
export function recallAtFpr(scores: ArrayLike<number>, labels: Labels, fpr = 0.01): number {
  return rocPointAtFpr(scores, labels, fpr).recall;
}
