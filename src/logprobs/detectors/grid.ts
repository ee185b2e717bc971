// Quantisation grid. Take every difference from the position's top logprob (d = top - lp > 0; also the raw values),
// and for each candidate grid g (1/2^k, 1/k, 10^-k) count the values that sit on a multiple of g within their float
// tolerance. Any tiny grid "fits" within tolerance by chance, so each candidate's hit rate is compared with a null
// computed from the same values jittered by a uniform sub-grid offset (what a continuous distribution gives): a grid
// is found only where the hit rate is high in absolute terms and far above that null. Of the grids that fit, the
// coarsest is the answer (data on 1/16 also sit on 1/32, 1/48, ...). Values repeated by identical requests are
// counted once.
import { Rng } from '../../stats/rng.js';
import { alternatives, isLogprob, observations, valueTolerance } from '../positions.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

export interface GridScore {
  grid: number;
  label: string;
  n: number;
  hits: number;
  hit_rate: number;
  /** Hit rate of the jittered values (mean of the jitters, floored by the analytic 2 tol / g and 3 / (jitters n)). */
  null_rate: number;
  /** log10 of the binomial tail P(hits >= observed | null), Chernoff bound. */
  log10_p: number;
  fits: boolean;
}

export interface ResidualHistogram {
  grid: number;
  label: string;
  /** Values within float tolerance of a grid point. */
  on_grid: number;
  /** Residual / g in [-0.5, 0.5], eleven bins. */
  bins: { from: number; to: number; count: number }[];
}

export function gridCandidates(): { grid: number; label: string }[] {
  const out = new Map<number, string>();
  for (let k = 0; k <= 12; k++) out.set(2 ** -k, k === 0 ? '1' : `1/${2 ** k}`);
  for (let k = 3; k <= 100; k++) if (!out.has(1 / k)) out.set(1 / k, `1/${k}`);
  out.set(1e-3, '1/1000');
  out.set(1e-4, '1/10000');
  return [...out].map(([grid, label]) => ({ grid, label })).sort((a, b) => b.grid - a.grid);
}

const JITTERS = 8;
const onGrid = (x: number, g: number, tol: number) => Math.abs(x - g * Math.round(x / g)) <= tol;

/** KL(h || p) in nats for Bernoulli rates: the Chernoff exponent of the binomial tail. */
function bernoulliKl(h: number, p: number): number {
  const t = (a: number, b: number) => (a === 0 ? 0 : a * Math.log(a / b));
  return t(h, p) + t(1 - h, 1 - p);
}

export function scoreGrid(values: Float64Array, tols: Float64Array, grid: number, label: string, seed = 1): GridScore {
  const n = values.length;
  let hits = 0;
  let analytic = 0;
  for (let i = 0; i < n; i++) {
    if (onGrid(values[i], grid, tols[i])) hits++;
    analytic += Math.min(1, (2 * tols[i]) / grid);
  }
  const rng = new Rng(seed);
  let jitterHits = 0;
  for (let j = 0; j < JITTERS; j++) for (let i = 0; i < n; i++) if (onGrid(values[i] + grid * (rng.next() - 0.5), grid, tols[i])) jitterHits++;
  const nullRate = n === 0 ? 1 : Math.min(1, Math.max(jitterHits / (JITTERS * n), analytic / n, 3 / (JITTERS * n)));
  const h = n === 0 ? 0 : hits / n;
  const log10p = h > nullRate ? (-n * bernoulliKl(h, nullRate)) / Math.LN10 : 0;
  const fits = n >= 8 && h >= 0.5 && h >= 10 * nullRate && log10p < -6;
  return { grid, label, n, hits, hit_rate: round4(h), null_rate: nullRate, log10_p: Math.round(log10p * 10) / 10, fits };
}

/** The coarsest fitting grid whose hit rate is within 5% of the best fitting one; null when none fits. */
export function chooseGrid(scores: GridScore[]): GridScore | null {
  const fit = scores.filter((s) => s.fits);
  if (fit.length === 0) return null;
  const best = Math.max(...fit.map((s) => s.hit_rate));
  return fit.filter((s) => s.hit_rate >= 0.95 * best).sort((a, b) => b.grid - a.grid)[0];
}

/** Eleven bins of residual / g over [-0.5, 0.5], the middle one centred on 0 (where values on the grid fall). */
export function residualHistogram(values: Float64Array, tols: Float64Array, grid: number, label: string): ResidualHistogram {
  const B = 11;
  const bins = Array.from({ length: B }, (_, i) => ({ from: round4(-0.5 + i / B), to: round4(-0.5 + (i + 1) / B), count: 0 }));
  let on = 0;
  for (let i = 0; i < values.length; i++) {
    const r = values[i] / grid - Math.round(values[i] / grid); // in [-0.5, 0.5]
    if (onGrid(values[i], grid, tols[i])) on++;
    bins[Math.min(B - 1, Math.floor((r + 0.5) * B))].count++;
  }
  return { grid, label, on_grid: on, bins };
}

/** Distinct differences from the top (d > 0) and distinct raw values (< 0), each with its float tolerance. */
export function gridValues(seqs: readonly Sequence[]): { diffs: [Float64Array, Float64Array]; raw: [Float64Array, Float64Array]; ties: number } {
  const diffs = new Map<number, [number, number]>();
  const raw = new Map<number, [number, number]>();
  let ties = 0;
  const add = (m: Map<number, [number, number]>, v: number, tol: number) => {
    const k = Math.round(v * 1e9);
    if (!m.has(k)) m.set(k, [v, tol]);
  };
  for (const { obs } of observations(seqs)) {
    const alts = alternatives(obs);
    const vals = alts.map((e) => e.logprob);
    if (isLogprob(obs.logprob) && !alts.some((e) => e.token === obs.token)) vals.push(obs.logprob);
    for (const v of vals) if (v < 0) add(raw, -v, valueTolerance(v));
    if (vals.length < 2) continue;
    const top = Math.max(...vals);
    let topSeen = false;
    for (const v of vals) {
      if (v === top && !topSeen) {
        topSeen = true;
        continue;
      }
      if (v === top) ties++;
      else add(diffs, top - v, valueTolerance(top) + valueTolerance(v));
    }
  }
  const arrays = (m: Map<number, [number, number]>): [Float64Array, Float64Array] => [Float64Array.from(m.values(), (x) => x[0]), Float64Array.from(m.values(), (x) => x[1])];
  return { diffs: arrays(diffs), raw: arrays(raw), ties };
}

export interface GridFinding extends Finding<number | null> {
  applies_to: 'raw_logprobs' | 'differences_from_top' | null;
  histogram: ResidualHistogram | null;
}

export function detectGrid(seqs: readonly Sequence[]): GridFinding {
  const { diffs, raw, ties } = gridValues(seqs);
  const cands = gridCandidates();
  const dScores = cands.map((c) => scoreGrid(diffs[0], diffs[1], c.grid, c.label));
  const rScores = cands.map((c) => scoreGrid(raw[0], raw[1], c.grid, c.label, 2));
  const d = chooseGrid(dScores);
  const r = chooseGrid(rScores);
  const show = (s: GridScore[]) => [...s].sort((a, b) => b.hit_rate - b.null_rate - (a.hit_rate - a.null_rate)).slice(0, 4);
  // Raw values on g put their differences on g too; the raw grid is the answer unless the differences sit on a coarser one.
  const rawWins = r !== null && (d === null || r.grid >= d.grid);
  const chosen = rawWins ? r : d;
  const ref = chosen ?? dScores.find((s) => s.label === '1/16')!;
  const histogram = diffs[0].length ? residualHistogram(diffs[0], diffs[1], ref.grid, ref.label) : null;
  const evidence = {
    differences: diffs[0].length,
    raw_values: raw[0].length,
    ties_with_top: ties,
    best_difference_grids: show(dScores),
    best_raw_grids: show(rScores),
    residual_histogram: histogram,
  };
  if (diffs[0].length + raw[0].length === 0) {
    return { finding: 'grid', value: null, applies_to: null, histogram, confidence: 0, summary: 'no logprob values to test for a grid', evidence };
  }
  if (!chosen) {
    const excess = Math.max(0, ...dScores.map((s) => (s.hit_rate - s.null_rate) / (1 - s.null_rate + 1e-12)));
    return {
      finding: 'grid',
      value: null,
      applies_to: null,
      histogram,
      confidence: round4((1 - excess) * sampleWeight(diffs[0].length, 20)),
      summary: `no grid: of ${diffs[0].length} distinct differences from the top, no candidate grid (1/2^k, 1/k, 10^-k) holds more than chance`,
      evidence,
    };
  }
  const appliesTo = rawWins ? 'raw_logprobs' : 'differences_from_top';
  const rawAt = rScores.find((s) => s.grid === chosen.grid)!;
  const rawNote = rawWins ? `raw logprobs are on it too (${pct(rawAt.hit_rate)} of ${rawAt.n})` : `raw logprobs are not (${pct(rawAt.hit_rate)} of ${rawAt.n} on it, chance ${pct(rawAt.null_rate)})`;
  const dc = dScores.find((s) => s.grid === chosen.grid)!;
  return {
    finding: 'grid',
    value: chosen.grid,
    applies_to: appliesTo,
    histogram,
    confidence: round4(chosen.hit_rate * (1 - chosen.null_rate) * sampleWeight(chosen.n, 10)),
    summary: `grid ${chosen.label}: ${pct(dc.hit_rate)} of ${dc.n} distinct differences from the top sit on it (chance ${pct(dc.null_rate)}); ${rawNote}`,
    evidence,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(x > 0.999 || x < 0.001 ? 1 : 0)}%`;
