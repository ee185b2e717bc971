// A lower bound on the probability mass outside the returned top k: 1 - sum of the returned probabilities at each
// position (the true hidden mass can only be larger, unless the values were inflated; a negative bound says so).
import { alternatives, observations, quantile } from '../positions.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

export function detectHiddenMass(seqs: readonly Sequence[]): Finding<number | null> {
  const all: number[] = [];
  const byK = new Map<number, number[]>();
  for (const { obs } of observations(seqs)) {
    const a = alternatives(obs);
    if (a.length === 0) continue;
    const h = 1 - a.reduce((s, e) => s + Math.exp(e.logprob), 0);
    all.push(h);
    byK.set(a.length, [...(byK.get(a.length) ?? []), h]);
  }
  if (all.length === 0) {
    return { finding: 'hidden_mass', value: null, confidence: 0, summary: 'hidden mass unknown: no position carried top_logprobs', evidence: { positions: 0 } };
  }
  const stats = (xs: number[]) => ({ positions: xs.length, min: xs.reduce((m, x) => Math.min(m, x), Infinity), median: quantile(xs, 0.5), p90: quantile(xs, 0.9), max: xs.reduce((m, x) => Math.max(m, x), -Infinity) });
  const s = stats(all);
  const negative = all.filter((h) => h < 0).length;
  const perK = Object.fromEntries([...byK].sort((a, b) => a[0] - b[0]).map(([k, xs]) => [k, stats(xs)]));
  return {
    finding: 'hidden_mass',
    value: s.median,
    confidence: round4(sampleWeight(all.length, 10)),
    summary: `mass outside the returned top k is at least ${s.median.toPrecision(3)} at the median position (min ${s.min.toPrecision(3)}, 90th percentile ${s.p90.toPrecision(3)}; ${all.length} positions)${negative ? `; negative at ${negative} positions: the returned probabilities sum past 1` : ''}`,
    evidence: { ...s, negative, per_k: perK },
  };
}
