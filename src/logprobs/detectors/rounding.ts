// Rounding before or after normalisation. Exact logprobs of one distribution never have top-k probabilities summing
// past 1; logprobs rounded *after* the softmax can. So a sum past 1 (beyond float tolerance) proves the values were
// changed after normalisation. Its absence proves little on its own: where the top k hide much mass, after-rounding
// would not push the sum past 1 either. The test's power is therefore simulated on the data: each position's returned
// values, moved off the grid by a uniform sub-grid offset and scaled to leave its observed hidden mass, are rounded
// after normalisation; the expected number of positions past 1 is E. No position past 1 with E >= 3 means "before"
// (P(0 | after) ~ exp(-E)); fewer expected is "undetermined".
import { Rng } from '../../stats/rng.js';
import { alternatives, observations } from '../positions.js';
import { round4, type Finding, type Sequence } from '../types.js';

/** Sums within this of 1 are float round-off (k float32 values rounded, then exponentiated and added). */
export const SUM_TOLERANCE = 1e-5;
const DRAWS = 16;
const MAX_POSITIONS = 4000;

export interface TopSums {
  positions: number;
  past_one: number;
  max_sum: number;
  max_excess: number;
  examples: { where: string; position: number; sum: number; k: number }[];
  /** The positions' returned logprobs (for the power simulation). */
  rows: number[][];
}

export function topSums(seqs: readonly Sequence[]): TopSums {
  const out: TopSums = { positions: 0, past_one: 0, max_sum: 0, max_excess: 0, examples: [], rows: [] };
  for (const { seq, obs, position } of observations(seqs)) {
    const a = alternatives(obs);
    if (a.length < 2) continue;
    const lps = a.map((e) => e.logprob);
    const sum = lps.reduce((s, x) => s + Math.exp(x), 0);
    out.positions++;
    out.rows.push(lps);
    out.max_sum = Math.max(out.max_sum, sum);
    if (sum > 1 + SUM_TOLERANCE) {
      out.past_one++;
      if (out.examples.length < 3) out.examples.push({ where: seq.where, position, sum: Math.round(sum * 1e6) / 1e6, k: a.length });
    }
  }
  out.max_excess = Math.max(0, out.max_sum - 1);
  return out;
}

/** Expected number of positions past 1 had these distributions been rounded to `grid` after normalisation. */
export function expectedPastOneIfAfter(rows: readonly number[][], grid: number, seed = 1): number {
  const rng = new Rng(seed);
  const step = Math.max(1, Math.ceil(rows.length / MAX_POSITIONS));
  let hits = 0;
  let used = 0;
  for (let r = 0; r < rows.length; r += step) {
    const lps = rows[r];
    const top = Math.max(...lps);
    const hidden = Math.max(0, 1 - lps.reduce((s, x) => s + Math.exp(x), 0));
    used++;
    for (let d = 0; d < DRAWS; d++) {
      // A continuous truth near the returned values: every non-top value moved off the grid, then scaled to 1 - hidden.
      const q = lps.map((x) => (x === top ? x : x + grid * (rng.next() - 0.5)));
      const shift = Math.log((1 - hidden) / q.reduce((s, x) => s + Math.exp(x), 0));
      const qt = Math.max(...q) + shift;
      const rounded = q.map((x) => qt + grid * Math.round((x + shift - qt) / grid));
      if (rounded.reduce((s, x) => s + Math.exp(x), 0) > 1 + SUM_TOLERANCE) hits++;
    }
  }
  return used === 0 ? 0 : (hits / (DRAWS * used)) * rows.length;
}

export type RoundingOrder = 'after_normalisation' | 'before_normalisation' | 'undetermined';

export function detectRounding(seqs: readonly Sequence[], grid: number | null): Finding<RoundingOrder | null> {
  const s = topSums(seqs);
  const base = { positions: s.positions, past_one: s.past_one, max_sum: s.max_sum, max_excess: s.max_excess, examples: s.examples, tolerance: SUM_TOLERANCE };
  if (grid === null) {
    return {
      finding: 'rounding',
      value: null,
      confidence: 0,
      summary:
        s.past_one > 0
          ? `no grid, so no rounding order to tell; but the top-k probabilities sum past 1 at ${s.past_one} of ${s.positions} positions (max ${s.max_sum.toFixed(5)}): the values were changed after normalisation (noise?)`
          : `no grid, so no rounding order to tell; top-k probabilities never sum past 1 (${s.positions} positions)`,
      evidence: base,
    };
  }
  const expected = expectedPastOneIfAfter(s.rows, grid);
  const evidence = { ...base, expected_past_one_if_after: round4(expected) };
  if (s.past_one > 0) {
    return {
      finding: 'rounding',
      value: 'after_normalisation',
      confidence: round4(1 - Math.exp(-s.past_one)),
      summary: `rounded after normalisation: the returned top-k probabilities sum past 1 at ${s.past_one} of ${s.positions} positions (max ${s.max_sum.toFixed(5)}), which exact logprobs of one distribution never do`,
      evidence,
    };
  }
  if (expected >= 3) {
    return {
      finding: 'rounding',
      value: 'before_normalisation',
      confidence: round4(1 - Math.exp(-expected)),
      summary: `rounded before normalisation: no top-k sum passes 1 in ${s.positions} positions, where rounding after normalisation would have pushed about ${expected.toFixed(1)} past 1`,
      evidence,
    };
  }
  return {
    finding: 'rounding',
    value: 'undetermined',
    confidence: 0,
    summary: `rounding order undetermined: no top-k sum passes 1, but the top k hide so much mass that rounding after normalisation would have pushed only ~${expected.toFixed(1)} of ${s.positions} positions past 1`,
    evidence,
  };
}
