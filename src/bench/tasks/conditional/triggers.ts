// The triggers of the conditional suite as classifiers of `code:regex` tokens: fitted and thresholded on train tokens,
// measured on test tokens (precision and recall at the threshold they run at; the largest recall at precision >= 0.999,
// the Sieve's claim; a precision-recall curve), with a cluster bootstrap over the distinct test documents of all
// seeds, one draw shared by the seeds (their test sets are subsets of one pool and overlap).
import type { ConceptActivations } from '../detect.js';
import { bit } from '../../../organism/concepts.js';
import { clusterBootstrap, mean } from '../../../stats/index.js';
import { linearScores } from './engine.js';

export const TRIGGERS = ['sae', 'probe', 'diffmean'] as const;
export type TriggerName = (typeof TRIGGERS)[number];
export const HIGH_PRECISION = 0.999;

/** One trigger of one seed: fires where x . w + c > threshold. */
export interface TriggerFit {
  name: TriggerName;
  seed: number;
  w: Float32Array;
  c: number;
  threshold: number;
  train: { f1: number; precision: number; recall: number };
}

/** Test tokens of one seed: activations, labels and the pool document of each. */
export interface TokenSet {
  x: Float32Array;
  n: number;
  labels: Uint8Array;
  doc: Int32Array;
}

export function tokenSet(acts: ConceptActivations, docs: readonly number[]): TokenSet {
  const keep = new Uint8Array(acts.nDocs);
  for (const k of docs) keep[k] = 1;
  const rows: number[] = [];
  for (let t = 0; t < acts.n; t++) if (keep[acts.doc[t]]) rows.push(t);
  const b = bit('code:regex');
  const x = new Float32Array(rows.length * acts.d);
  rows.forEach((t, i) => x.set(acts.x.subarray(t * acts.d, (t + 1) * acts.d), i * acts.d));
  return { x, n: rows.length, labels: Uint8Array.from(rows, (t) => ((acts.labels[t] & b) !== 0 ? 1 : 0)), doc: Int32Array.from(rows, (t) => acts.doc[t]) };
}

/** Largest recall whose precision (cut between distinct scores) is >= minPrecision; weights per token (multiplicity). */
export function recallAtPrecision(order: Int32Array, scores: Float64Array, labels: Uint8Array, weight: (i: number) => number, minPrecision: number): number {
  let P = 0;
  for (let k = 0; k < order.length; k++) if (labels[order[k]]) P += weight(order[k]);
  if (P === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    const w = weight(i);
    if (labels[i]) tp += w;
    else fp += w;
    if (k + 1 < order.length && scores[order[k + 1]] === scores[i]) continue;
    if (tp + fp > 0 && tp / (tp + fp) >= minPrecision && tp / P > best) best = tp / P;
  }
  return best;
}

export interface TriggerStat {
  trigger: TriggerName;
  metric: 'precision_at_threshold' | 'recall_at_threshold' | 'recall_at_precision_0.999';
  estimate: number;
  lo: number;
  hi: number;
  per_seed: number[];
}

export interface PrCurve {
  trigger: TriggerName;
  seed: number;
  points: { recall: number; precision: number }[];
  /** The operating point (the train-chosen threshold) on test tokens. */
  at_threshold: { recall: number; precision: number };
}

/** Precision/recall at the threshold, recall at 99.9% precision, and PR curves, per trigger over the seeds. */
export interface TriggerDiff {
  trigger: TriggerName;
  baseline: TriggerName;
  metric: TriggerStat['metric'];
  diff: number;
  ci_low: number;
  ci_high: number;
  p: number;
}

export function triggerStats(fits: readonly TriggerFit[], sets: ReadonlyMap<number, TokenSet>, d: number, iterations: number): { stats: TriggerStat[]; diffs: TriggerDiff[]; curves: PrCurve[]; nDocs: number } {
  const seeds = [...sets.keys()];
  const docIds = [...new Set(seeds.flatMap((s) => [...new Set(sets.get(s)!.doc)]))].sort((a, b) => a - b);
  const slot = new Map(docIds.map((k, i) => [k, i]));
  const stats: TriggerStat[] = [];
  const fns = new Map<string, (d0: readonly Int32Array[]) => number>();
  const curves: PrCurve[] = [];
  const boot = { iterations, alpha: 0.05, seed: 0 };
  for (const name of TRIGGERS) {
    const mine = seeds.map((s) => fits.find((f) => f.name === name && f.seed === s)).filter((f): f is TriggerFit => !!f);
    if (mine.length !== seeds.length) continue;
    const per = mine.map((f) => {
      const set = sets.get(f.seed)!;
      const scores = linearScores(set.x, set.n, d, f.w, f.c);
      const order = Int32Array.from(Array.from({ length: set.n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]));
      // Per document slot: TP / FP / FN at the threshold.
      const tp = new Float64Array(docIds.length);
      const fp = new Float64Array(docIds.length);
      const fn = new Float64Array(docIds.length);
      const slotOf = Int32Array.from(set.doc, (k) => slot.get(k)!);
      for (let i = 0; i < set.n; i++) {
        const fire = scores[i] > f.threshold;
        if (fire && set.labels[i]) tp[slotOf[i]]++;
        else if (fire) fp[slotOf[i]]++;
        else if (set.labels[i]) fn[slotOf[i]]++;
      }
      // PR curve, thinned to about 100 points.
      let P = 0;
      for (let i = 0; i < set.n; i++) P += set.labels[i];
      const pts: { recall: number; precision: number }[] = [];
      let a = 0;
      let b = 0;
      for (let k = 0; k < order.length; k++) {
        if (set.labels[order[k]]) a++;
        else b++;
        if (k + 1 < order.length && scores[order[k + 1]] === scores[order[k]]) continue;
        const r = a / P;
        if (pts.length === 0 || r - pts[pts.length - 1].recall >= 0.01 || k === order.length - 1) pts.push({ recall: r, precision: a / (a + b) });
      }
      const TP = tp.reduce((x, y) => x + y, 0);
      const FP = fp.reduce((x, y) => x + y, 0);
      const FN = fn.reduce((x, y) => x + y, 0);
      curves.push({ trigger: name, seed: f.seed, points: pts, at_threshold: { recall: TP / (TP + FN), precision: TP / (TP + FP) } });
      return { tp, fp, fn, scores, order, labels: set.labels, slotOf };
    });
    const counts = (draw: Int32Array) => {
      const m = new Float64Array(docIds.length);
      for (const c of draw) m[c]++;
      return m;
    };
    const sum = (v: Float64Array, m: Float64Array) => v.reduce((acc, x, i) => acc + x * m[i], 0);
    const prec = (d0: readonly Int32Array[]) => {
      const m = counts(d0[0]);
      return mean(per.map((p) => sum(p.tp, m) / (sum(p.tp, m) + sum(p.fp, m))));
    };
    const rec = (d0: readonly Int32Array[]) => {
      const m = counts(d0[0]);
      return mean(per.map((p) => sum(p.tp, m) / (sum(p.tp, m) + sum(p.fn, m))));
    };
    const hp = (d0: readonly Int32Array[]) => {
      const m = counts(d0[0]);
      return mean(per.map((p) => recallAtPrecision(p.order, p.scores, p.labels, (i) => m[p.slotOf[i]], HIGH_PRECISION)));
    };
    const ident = [Int32Array.from(docIds, (_, i) => i)];
    for (const [metric, f] of [['precision_at_threshold', prec], ['recall_at_threshold', rec], ['recall_at_precision_0.999', hp]] as const) {
      fns.set(`${name}|${metric}`, f);
      const ci = clusterBootstrap([docIds.length], f, metric === 'recall_at_precision_0.999' ? { ...boot, iterations: Math.min(iterations, 500) } : boot);
      const perSeed = per.map((_, s) => {
        const only = [per[s]];
        const m = counts(ident[0]);
        const p = only[0];
        if (metric === 'precision_at_threshold') return sum(p.tp, m) / (sum(p.tp, m) + sum(p.fp, m));
        if (metric === 'recall_at_threshold') return sum(p.tp, m) / (sum(p.tp, m) + sum(p.fn, m));
        return recallAtPrecision(p.order, p.scores, p.labels, () => 1, HIGH_PRECISION);
      });
      stats.push({ trigger: name, metric, estimate: ci.estimate, lo: ci.lo, hi: ci.hi, per_seed: perSeed });
    }
  }
  // Paired: the SAE latent against the probe and DiffMean on the same drawn documents.
  const diffs: TriggerDiff[] = [];
  for (const baseline of ['probe', 'diffmean'] as const) {
    for (const metric of ['precision_at_threshold', 'recall_at_precision_0.999'] as const) {
      const a = fns.get(`sae|${metric}`);
      const b = fns.get(`${baseline}|${metric}`);
      if (!a || !b) continue;
      const ci = clusterBootstrap([docIds.length], (dd) => a(dd) - b(dd), { ...boot, iterations: Math.min(iterations, 500) });
      diffs.push({ trigger: 'sae', baseline, metric, diff: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, p: ci.p });
    }
  }
  return { stats, diffs, curves, nDocs: docIds.length };
}
