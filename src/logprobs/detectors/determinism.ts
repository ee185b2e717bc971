// Determinism under `seed`: identical seeded requests (and identical temperature-0 requests) should return the same
// tokens. Each group of identical requests is compared whole; a group that splits says where (first differing
// position) and whether its answers came from different backends (`system_fingerprint`, which OpenAI says seeded
// determinism needs to be equal).
import { identicalGroups } from '../groups.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

export type Determinism = 'deterministic' | 'nondeterministic';

export function detectDeterminism(seqs: readonly Sequence[]): Finding<Determinism | null> {
  const groups = identicalGroups(seqs).filter((g) => {
    const r = g.members[0].request;
    return r !== null && (r.seed !== null || r.temperature === 0);
  });
  let identical = 0;
  let seeded = 0;
  let greedy = 0;
  const splits: { where: string; first_difference: number; tokens: string[]; fingerprints: number }[] = [];
  for (const g of groups) {
    const r = g.members[0].request!;
    if (r.seed !== null) seeded++;
    else greedy++;
    const texts = g.members.map((s) => s.tokens.map((t) => t.token));
    const len = Math.max(...texts.map((t) => t.length));
    let first = -1;
    for (let i = 0; i < len && first < 0; i++) if (new Set(texts.map((t) => t[i] ?? '<end>')).size > 1) first = i;
    if (first < 0) identical++;
    else if (splits.length < 5) {
      splits.push({
        where: g.members[0].where,
        first_difference: first,
        tokens: [...new Set(texts.map((t) => t[first] ?? '<end>'))].slice(0, 4),
        fingerprints: new Set(g.members.map((s) => s.fingerprint)).size,
      });
    }
  }
  const evidence = { groups: groups.length, seeded_groups: seeded, temperature0_groups: greedy, answers: groups.reduce((s, g) => s + g.members.length, 0), identical_groups: identical, splits };
  if (groups.length === 0) {
    return { finding: 'seed_determinism', value: null, confidence: 0, summary: 'determinism untested: no repeated seeded (or temperature-0) requests in the traffic', evidence };
  }
  const comparisons = groups.reduce((s, g) => s + g.members.length - 1, 0);
  if (identical === groups.length) {
    return {
      finding: 'seed_determinism',
      value: 'deterministic',
      confidence: round4(sampleWeight(comparisons, 3)),
      summary: `deterministic: all ${groups.length} groups of identical seeded / temperature-0 requests (${evidence.answers} answers) returned the same tokens`,
      evidence,
    };
  }
  return {
    finding: 'seed_determinism',
    value: 'nondeterministic',
    confidence: round4(sampleWeight(groups.length - identical, 1)),
    summary: `nondeterministic: ${groups.length - identical} of ${groups.length} groups of identical seeded / temperature-0 requests returned different tokens (first at position ${splits[0]?.first_difference})`,
    evidence,
  };
}
