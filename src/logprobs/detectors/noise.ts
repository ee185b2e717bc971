// Added noise. Answers to identical requests (same body: prompt, parameters, seed) are compared where they share a
// context (their sampled tokens agree before the position): there every returned logprob of the same token should be
// the same number. Each (context, token) seen in >= 2 answers is a cell; the pooled within-cell variance estimates the
// variance of whatever was added (noise sd s: each value is true + N(0, s^2)), with a chi-square interval (Wilson-Hilferty)
// on sum(n_cell - 1) degrees of freedom, cells taken as independent. Where the sampled tokens differ at a shared
// context, that is a sampling difference (nondeterministic or unseeded sampling), counted apart: it does not enter
// the noise estimate. Noise is reported when the interval's lower end is above NOISE_FLOOR: float32 round-off across
// batch shapes stays orders of magnitude below it.
import { identicalGroups, sharedPositions } from '../groups.js';
import { alternatives, isLogprob } from '../positions.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

export const NOISE_FLOOR = 1e-4;
const Z975 = 1.959963984540054;

/** Chi-square quantile by Wilson-Hilferty (good to ~1% for df >= 3; used only for the interval). */
function chiSquareQuantile(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * Math.pow(Math.max(0, 1 - a + z * Math.sqrt(a)), 3);
}

export interface NoiseEvidence {
  groups: number;
  answers: number;
  shared_positions: number;
  /** Shared contexts where the sampled tokens differed: sampling, not noise. */
  sampled_token_differs: number;
  seeded_sampled_token_differs: number;
  cells: number;
  identical_cells: number;
  df: number;
  sd: number | null;
  sd_ci95: [number, number] | null;
  max_abs_difference: number;
  floor: number;
  examples: { where: string; position: number; token: string; values: number[] }[];
}

export function detectNoise(seqs: readonly Sequence[]): Finding<boolean> & { sd: number | null } {
  const groups = identicalGroups(seqs, true);
  const ev: NoiseEvidence = {
    groups: groups.length,
    answers: groups.reduce((s, g) => s + g.members.length, 0),
    shared_positions: 0,
    sampled_token_differs: 0,
    seeded_sampled_token_differs: 0,
    cells: 0,
    identical_cells: 0,
    df: 0,
    sd: null,
    sd_ci95: null,
    max_abs_difference: 0,
    floor: NOISE_FLOOR,
    examples: [],
  };
  let ss = 0;
  const worst: { range: number; ex: NoiseEvidence['examples'][number] }[] = [];
  for (const g of groups) {
    for (const sp of sharedPositions(g)) {
      ev.shared_positions++;
      if (new Set(sp.observations.map((o) => o.token)).size > 1) {
        ev.sampled_token_differs++;
        if (sp.members[0].request?.seed !== null && sp.members[0].request?.seed !== undefined) ev.seeded_sampled_token_differs++;
      }
      // Cell values: each token's returned logprob in every answer that lists it (the sampled token's own value where
      // an answer has no alternatives).
      const cells = new Map<string, number[]>();
      sp.observations.forEach((o) => {
        const alts = alternatives(o);
        const entries = alts.length ? alts : isLogprob(o.logprob) ? [{ token: o.token, logprob: o.logprob }] : [];
        for (const e of entries) cells.set(e.token, [...(cells.get(e.token) ?? []), e.logprob]);
      });
      for (const [token, vs] of cells) {
        if (vs.length < 2) continue;
        const dev = vs.map((x) => x - vs[0]); // exact zeros where the values are identical
        const mean = dev.reduce((s, x) => s + x, 0) / dev.length;
        ss += dev.reduce((s, x) => s + (x - mean) ** 2, 0);
        ev.cells++;
        ev.df += vs.length - 1;
        const range = Math.max(...vs) - Math.min(...vs);
        if (range === 0) ev.identical_cells++;
        ev.max_abs_difference = Math.max(ev.max_abs_difference, range);
        if (range > 0) worst.push({ range, ex: { where: sp.members[0].where, position: sp.position, token, values: vs.slice(0, 6) } });
      }
    }
  }
  ev.examples = worst
    .sort((a, b) => b.range - a.range)
    .slice(0, 3)
    .map((w) => w.ex);
  if (ev.df === 0) {
    return {
      finding: 'noise',
      value: false,
      sd: null,
      confidence: 0,
      summary: groups.length ? 'noise untested: identical requests never shared a context with logprobs to compare' : 'noise untested: no identical requests in the traffic (the probe sends some)',
      evidence: { ...ev },
    };
  }
  const v = ss / ev.df;
  const sd = Math.sqrt(v);
  const lo = Math.sqrt((ev.df * v) / chiSquareQuantile(ev.df, Z975));
  const hi = Math.sqrt((ev.df * v) / chiSquareQuantile(ev.df, -Z975));
  ev.sd = sd;
  ev.sd_ci95 = [lo, Number.isFinite(hi) ? hi : Infinity];
  const detected = lo > NOISE_FLOOR;
  const sampling = ev.sampled_token_differs
    ? `; sampled tokens differed at ${ev.sampled_token_differs} shared contexts (${ev.seeded_sampled_token_differs} seeded): sampling differences, not counted as noise`
    : '';
  const base = `${ev.cells} (context, token) cells from ${ev.answers} answers to ${ev.groups} identical requests`;
  return {
    finding: 'noise',
    value: detected,
    sd,
    confidence: round4(!detected && sd > NOISE_FLOOR ? 0.2 : sampleWeight(ev.df, detected ? 3 : 10)),
    summary: detected
      ? `noise: identical requests return different logprobs at the same context (added noise, or numerics that depend on the batch), sd ${sd.toPrecision(3)} (95% ${lo.toPrecision(3)}..${hi.toPrecision(3)}) over ${base}${sampling}`
      : sd > NOISE_FLOOR
        ? `noise inconclusive: sd ${sd.toPrecision(3)} but its 95% interval ${lo.toPrecision(3)}..${hi.toPrecision(3)} reaches below the floor ${NOISE_FLOOR}; too few cells (${base})${sampling}`
        : `no noise: ${ev.identical_cells} of ${ev.cells} cells identical, sd ${sd.toPrecision(3)} (upper 95% ${hi.toPrecision(3)}; floor ${NOISE_FLOOR}) over ${base}${sampling}`,
    evidence: { ...ev },
  };
}
