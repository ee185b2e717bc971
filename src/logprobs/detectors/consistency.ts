// Consistency between the sampled token's logprob and its own entry in top_logprobs: the same number, twice. Also a
// sampled token missing from a list that holds a less likely token (the list is then not the top of anything).
import { alternatives, isLogprob, observations, valueTolerance } from '../positions.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

export function detectConsistency(seqs: readonly Sequence[]): Finding<'consistent' | 'inconsistent' | null> {
  let compared = 0;
  let equal = 0;
  let maxDiff = 0;
  let absent = 0;
  let absentButLikelier = 0;
  const examples: { where: string; position: number; token: string; logprob: number; in_top: number | null }[] = [];
  for (const { seq, obs, position } of observations(seqs)) {
    if (!isLogprob(obs.logprob) || !obs.top || obs.top.length === 0) continue;
    const own = (obs.top ?? []).filter((e) => e.token === obs.token);
    if (own.length === 0) {
      absent++;
      const alts = alternatives(obs);
      if (alts.length && obs.logprob > Math.min(...alts.map((e) => e.logprob)) + valueTolerance(obs.logprob) * 2) {
        absentButLikelier++;
        if (examples.length < 3) examples.push({ where: seq.where, position, token: obs.token, logprob: obs.logprob, in_top: null });
      }
      continue;
    }
    compared++;
    const d = Math.min(...own.map((e) => Math.abs(e.logprob - obs.logprob!)));
    if (d <= valueTolerance(obs.logprob) * 2) equal++;
    else if (examples.length < 3) examples.push({ where: seq.where, position, token: obs.token, logprob: obs.logprob, in_top: own[0].logprob });
    maxDiff = Math.max(maxDiff, d);
  }
  const evidence = { compared, equal, max_difference: maxDiff, sampled_not_in_top: absent, sampled_not_in_top_but_likelier_than_listed: absentButLikelier, examples };
  if (compared + absentButLikelier === 0) {
    return { finding: 'sampled_consistency', value: null, confidence: 0, summary: 'consistency untested: no sampled token was listed in its own top_logprobs', evidence };
  }
  const bad = compared - equal + absentButLikelier;
  if (bad === 0) {
    return {
      finding: 'sampled_consistency',
      value: 'consistent',
      confidence: round4(sampleWeight(compared, 10)),
      summary: `consistent: at all ${compared} positions the sampled token's logprob equals its own top_logprobs entry`,
      evidence,
    };
  }
  return {
    finding: 'sampled_consistency',
    value: 'inconsistent',
    confidence: round4(sampleWeight(bad, 1)),
    summary: `inconsistent: the sampled token's logprob differs from its own top_logprobs entry at ${compared - equal} of ${compared} positions (max ${maxDiff.toPrecision(3)})${absentButLikelier ? `; ${absentButLikelier} sampled tokens are missing from lists holding less likely tokens` : ''}`,
    evidence,
  };
}
