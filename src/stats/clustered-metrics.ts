// Detection metrics under a cluster bootstrap, in O(items) per replicate. A replicate of the cluster bootstrap
// (cluster.ts) draws clusters (documents) with replacement; the resampled data set holds every item (token) of a
// drawn cluster once per time it was drawn. Its AUROC is the Mann-Whitney statistic with each item weighted by its
// cluster's multiplicity: every (positive, negative) pair of the original data counts w(c_pos) * w(c_neg) times,
// which is exactly the number of (copy, copy) pairs in the resampled set, within-cluster pairs included. So one sort
// per (split, concept, method) serves every replicate: a replicate is one pass over the sorted items with the
// replicate's weights, no re-sort and no materialised copies.
import { ProbityError, show } from '../errors.js';
import { checkFinite, toBool, type Labels } from './describe.js';

function checkClusters(cluster: ArrayLike<number>, n: number, nClusters: number): void {
  if (cluster.length !== n) throw new ProbityError('STATS_INPUT', `cluster has length ${cluster.length}, scores have ${n}`);
  if (!Number.isInteger(nClusters) || nClusters < 1) throw new ProbityError('STATS_INPUT', `nClusters must be a positive integer, got ${show(nClusters)}`);
  for (let i = 0; i < n; i++) {
    const c = cluster[i];
    if (!Number.isInteger(c) || c < 0 || c >= nClusters) throw new ProbityError('STATS_INPUT', `cluster[${i}] is ${show(c)}; expected an integer in [0, ${nClusters})`);
  }
}

/**
 * AUROC (mid-rank ties, as stats/auroc.ts) of scored items grouped in clusters, for any cluster multiplicities.
 * `auroc(weights, offset)` reads weights[offset + c] as the number of times cluster c is in the data set (0 = left out;
 * all ones = the original data, where it equals auroc(scores, labels)).
 */
export class ClusteredAuroc {
  readonly n: number;
  readonly nClusters: number;
  /** Items in ascending score order, each as cluster * 2 + label. */
  private readonly key: Int32Array;
  /** Exclusive end of each run of tied scores in `key` (empty when no two scores tie: the fast path). */
  private readonly groupEnd: Int32Array;

  constructor(scores: ArrayLike<number>, labels: Labels, cluster: ArrayLike<number>, nClusters: number) {
    const n = scores.length;
    checkFinite(scores, 'scores');
    const pos = toBool(labels, n);
    checkClusters(cluster, n, nClusters);
    this.n = n;
    this.nClusters = nClusters;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
    this.key = Int32Array.from(order, (i) => cluster[i] * 2 + (pos[i] ? 1 : 0));
    const ends: number[] = [];
    let tied = false;
    for (let i = 0; i < n; i++) {
      if (i + 1 < n && scores[order[i + 1]] === scores[order[i]]) tied = true;
      else ends.push(i + 1);
    }
    this.groupEnd = tied ? Int32Array.from(ends) : new Int32Array(0);
  }

  /** AUROC of the weighted data set; NaN when either class has zero total weight. */
  auroc(weights: ArrayLike<number>, offset = 0): number {
    const key = this.key;
    const n = this.n;
    let negBelow = 0;
    let posTotal = 0;
    let u = 0;
    if (this.groupEnd.length === 0) {
      // Branch-free (labels are unpredictable in score order): a positive adds w * negBelow, a negative adds w below.
      for (let i = 0; i < n; i++) {
        const k = key[i];
        const w = weights[offset + (k >> 1)];
        const wp = (k & 1) * w;
        u += wp * negBelow;
        posTotal += wp;
        negBelow += w - wp;
      }
    } else {
      const ends = this.groupEnd;
      let i = 0;
      for (let g = 0; g < ends.length; g++) {
        const end = ends[g];
        let pw = 0;
        let nw = 0;
        for (; i < end; i++) {
          const k = key[i];
          const w = weights[offset + (k >> 1)];
          if (k & 1) pw += w;
          else nw += w;
        }
        u += pw * (negBelow + 0.5 * nw);
        negBelow += nw;
        posTotal += pw;
      }
    }
    if (posTotal === 0 || negBelow === 0) return NaN;
    return u / (posTotal * negBelow);
  }
}

/**
 * Recall and false-positive rate at a fixed threshold (rule: positive iff score > threshold, as stats/auroc.ts
 * rocPointAtFpr) for any cluster multiplicities: the threshold is set elsewhere (on validation data) and stays fixed
 * while the test clusters are resampled, so per-cluster counts are all a replicate needs (O(clusters)).
 */
export class ClusteredRates {
  readonly nClusters: number;
  private readonly posAbove: Float64Array;
  private readonly pos: Float64Array;
  private readonly negAbove: Float64Array;
  private readonly neg: Float64Array;

  constructor(scores: ArrayLike<number>, labels: Labels, cluster: ArrayLike<number>, nClusters: number, readonly threshold: number) {
    const n = scores.length;
    checkFinite(scores, 'scores');
    const isPos = toBool(labels, n);
    checkClusters(cluster, n, nClusters);
    if (Number.isNaN(threshold)) throw new ProbityError('STATS_INPUT', 'threshold is NaN');
    this.nClusters = nClusters;
    this.posAbove = new Float64Array(nClusters);
    this.pos = new Float64Array(nClusters);
    this.negAbove = new Float64Array(nClusters);
    this.neg = new Float64Array(nClusters);
    for (let i = 0; i < n; i++) {
      const c = cluster[i];
      const above = scores[i] > threshold ? 1 : 0;
      if (isPos[i]) {
        this.pos[c]++;
        this.posAbove[c] += above;
      } else {
        this.neg[c]++;
        this.negAbove[c] += above;
      }
    }
  }

  /** Weighted share of positives above the threshold; NaN without positives. */
  recall(weights: ArrayLike<number>, offset = 0): number {
    let a = 0;
    let t = 0;
    for (let c = 0; c < this.nClusters; c++) {
      const w = weights[offset + c];
      a += w * this.posAbove[c];
      t += w * this.pos[c];
    }
    return t > 0 ? a / t : NaN;
  }

  /** Weighted share of negatives above the threshold; NaN without negatives. */
  fpr(weights: ArrayLike<number>, offset = 0): number {
    let a = 0;
    let t = 0;
    for (let c = 0; c < this.nClusters; c++) {
      const w = weights[offset + c];
      a += w * this.negAbove[c];
      t += w * this.neg[c];
    }
    return t > 0 ? a / t : NaN;
  }
}
