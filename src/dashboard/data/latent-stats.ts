// Per-latent statistics over the scored tokens, computed from the latent's sparse column (the tokens where it is
// non-zero and their values): everything else is an inactive token with activation 0, so no dense [tokens] array is
// ever sorted. Checked against the dense computations of src/stats in test/dashboard/latent-stats.test.ts.
import { quantileBins } from '../../stats/index.js';
import type { ConceptMatch, SensitivityBin } from './format.js';

/** A latent's column: positions (ascending token index) and values of its non-zero activations. */
export interface Column {
  pos: Int32Array;
  val: Float32Array;
}

/** Entry order by value, ascending (ties by position, so the order is deterministic). */
export function ascending(c: Column): Int32Array {
  const order = Int32Array.from({ length: c.val.length }, (_, i) => i);
  return order.sort((a, b) => c.val[a] - c.val[b] || a - b);
}

/**
 * Token AUROC of the activation for every concept bit at once (Mann-Whitney with mid-ranks, as stats/auroc.ts): the
 * N - m inactive tokens tie at 0 (below every non-zero activation of a ReLU-like latent; negative values are ranked
 * below them where they occur), the active ones are ranked by value. `positives[c]` is concept c's count over all N
 * tokens; NaN where a concept has no positives or no negatives.
 */
export function conceptAurocs(c: Column, order: Int32Array, labels: Uint32Array, N: number, positives: readonly number[]): number[] {
  const C = positives.length;
  const rankSum = new Float64Array(C); // rank sum of the concept's tokens among the non-zero entries
  const seen = new Float64Array(C); // the concept's tokens among the non-zero entries
  const m = order.length;
  let nonZero = 0;
  for (let j = 0; j < m; j++) if (c.val[j] !== 0) nonZero++;
  let rank = 0; // ranks used so far
  const group = (from: number, to: number) => {
    const mid = rank + (to - from + 1) / 2;
    for (let j = from; j < to; j++) {
      let bits = labels[c.pos[order[j]]];
      while (bits) {
        const b = 31 - Math.clz32(bits);
        bits &= ~(1 << b);
        if (b < C) {
          rankSum[b] += mid;
          seen[b]++;
        }
      }
    }
    rank += to - from;
  };
  const tiedRuns = (i: number, until: (v: number) => boolean): number => {
    while (i < m && until(c.val[order[i]])) {
      let j = i;
      while (j + 1 < m && c.val[order[j + 1]] === c.val[order[i]]) j++;
      group(i, j + 1);
      i = j + 1;
    }
    return i;
  };
  let i = tiedRuns(0, (v) => v < 0);
  while (i < m && c.val[order[i]] === 0) i++; // explicit zeros join the inactive tokens
  const zeros = N - nonZero;
  const zeroMid = rank + (zeros + 1) / 2;
  rank += zeros;
  tiedRuns(i, () => true);
  return positives.map((P, b) => {
    if (P === 0 || P === N) return NaN;
    const R = rankSum[b] + (P - seen[b]) * zeroMid;
    return (R - (P * (P + 1)) / 2) / (P * (N - P));
  });
}

/** Concept tokens among the latent's active (non-zero) tokens, per concept bit. */
export function activePositives(c: Column, labels: Uint32Array, C: number): number[] {
  const out = new Array<number>(C).fill(0);
  for (let j = 0; j < c.pos.length; j++) {
    if (c.val[j] === 0) continue;
    let bits = labels[c.pos[j]];
    while (bits) {
      const b = 31 - Math.clz32(bits);
      bits &= ~(1 << b);
      if (b < C) out[b]++;
    }
  }
  return out;
}

/** AUROC, precision and recall of "active" for each concept, best AUROC first (concepts without positives left out). */
export function conceptMatches(c: Column, order: Int32Array, labels: Uint32Array, N: number, positives: readonly number[], names: readonly string[]): ConceptMatch[] {
  const au = conceptAurocs(c, order, labels, N, positives);
  const ap = activePositives(c, labels, positives.length);
  let active = 0;
  for (let j = 0; j < c.val.length; j++) if (c.val[j] !== 0) active++;
  const out: ConceptMatch[] = [];
  for (let b = 0; b < positives.length; b++) {
    if (!Number.isFinite(au[b])) continue;
    const precision = active ? ap[b] / active : 0;
    const recall = ap[b] / positives[b];
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    out.push({ concept: names[b], auroc: au[b], precision, recall, f1, positives: positives[b] });
  }
  return out.sort((a, b) => b.auroc - a.auroc || b.f1 - a.f1);
}

/**
 * Sensitivity bars of one concept: the inactive tokens as the first bin, then quantile bins of the non-zero
 * activations (stats quantileBins: ties never straddle a bin), each with the fraction of its tokens that carry it.
 */
export function sensitivity(c: Column, labels: Uint32Array, N: number, bit: number, positives: number, nBins: number): SensitivityBin[] {
  const mask = (1 << bit) >>> 0;
  const idx: number[] = [];
  for (let j = 0; j < c.val.length; j++) if (c.val[j] !== 0) idx.push(j);
  let posActive = 0;
  const vals = idx.map((j) => c.val[j]);
  const lab = idx.map((j) => ((labels[c.pos[j]] & mask) !== 0 ? 1 : 0));
  for (const l of lab) posActive += l;
  const zeros = N - idx.length;
  const bins: SensitivityBin[] = [];
  if (zeros > 0) bins.push({ lo: 0, hi: 0, n: zeros, fractionPositive: (positives - posActive) / zeros });
  if (vals.length) for (const b of quantileBins(vals, lab, nBins)) bins.push({ lo: b.lo, hi: b.hi, n: b.n, fractionPositive: b.fractionPositive });
  return bins;
}

/** Histogram of the non-zero activations over [0, max] in `bins` equal bins (the last one closed). */
export function histogram(c: Column, N: number, bins: number): { edges: number[]; counts: number[]; zeros: number } {
  let max = 0;
  let min = 0;
  let nz = 0;
  for (const v of c.val) {
    if (v === 0) continue;
    nz++;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const zeros = N - nz;
  if (nz === 0) return { edges: [], counts: [], zeros };
  const lo = min;
  const hi = max > lo ? max : lo + 1;
  const w = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * w);
  edges[bins] = hi;
  const counts = new Array<number>(bins).fill(0);
  for (const v of c.val) {
    if (v === 0) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / w)))]++;
  }
  return { edges, counts, zeros };
}

/**
 * Quantile bins of the non-zero activations by count (q bins of about equal size, ascending; a cut never splits tied
 * values, so a bin may be absorbed and fewer come back): [from, to) ranges into `entries`, the non-zero entries of
 * `order` (ascending by value).
 */
export function quantileRanges(c: Column, order: Int32Array, q: number): { entries: Int32Array; ranges: { from: number; to: number }[] } {
  const entries = order.filter((j) => c.val[j] !== 0);
  const m = entries.length;
  const ranges: { from: number; to: number }[] = [];
  let start = 0;
  for (let b = 1; b <= q && start < m; b++) {
    let end = Math.round((b * m) / q);
    if (end <= start) continue;
    while (end < m && c.val[entries[end]] === c.val[entries[end - 1]]) end++;
    ranges.push({ from: start, to: end });
    start = end;
  }
  return { entries, ranges };
}
