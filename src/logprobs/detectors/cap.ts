// The top_logprobs cap. Per requested N (top_logprobs for chat, logprobs: N for completions), the returned count at
// each position; its mode is what the endpoint gives for N. A cap c is found when every N above c returns c (at >= 90%
// of positions), every N at or below c returns N, and the vocabulary is not the limit (more than c distinct tokens
// appear across the positions, so the endpoint could have listed more). Completions may add the sampled token as an
// N+1-th entry (OpenAI's legacy behaviour); the mode is robust to that.
import { observations } from '../positions.js';
import { round4, sampleWeight, type Finding, type Sequence } from '../types.js';

interface PerN {
  requested: number;
  positions: number;
  mode: number;
  at_mode: number;
  counts: Record<string, number>;
}

export function returnedCounts(seqs: readonly Sequence[]): { perN: PerN[]; unknownRequest: Record<string, number>; vocabularySeen: number } {
  const byN = new Map<number, Map<number, number>>();
  const unknown = new Map<number, number>();
  const vocab = new Set<string>();
  for (const { seq, obs } of observations(seqs)) {
    vocab.add(obs.token);
    if (!obs.top) continue;
    for (const e of obs.top) vocab.add(e.token);
    const n = seq.request?.requested ?? null;
    const c = obs.top.length;
    if (n === null) unknown.set(c, (unknown.get(c) ?? 0) + 1);
    else if (n > 0) {
      const m = byN.get(n) ?? new Map<number, number>();
      m.set(c, (m.get(c) ?? 0) + 1);
      byN.set(n, m);
    }
  }
  const perN = [...byN]
    .sort((a, b) => a[0] - b[0])
    .map(([requested, m]): PerN => {
      const [mode, atMode] = [...m].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0];
      const positions = [...m.values()].reduce((s, x) => s + x, 0);
      return { requested, positions, mode, at_mode: atMode, counts: Object.fromEntries([...m].sort((a, b) => a[0] - b[0])) };
    });
  return { perN, unknownRequest: Object.fromEntries([...unknown].sort((a, b) => a[0] - b[0])), vocabularySeen: vocab.size };
}

export function detectCap(seqs: readonly Sequence[]): Finding<number | null> {
  const { perN, unknownRequest, vocabularySeen } = returnedCounts(seqs);
  const evidence = { per_requested: perN, counts_without_logged_request: unknownRequest, vocabulary_seen: vocabularySeen };
  const asked = perN.filter((p) => p.positions > 0);
  if (asked.length === 0) {
    const seen = Object.keys(unknownRequest);
    return {
      finding: 'top_logprobs_cap',
      value: null,
      confidence: 0,
      summary: seen.length ? `cap unknown: no logged request says how many alternatives were asked for (returned counts: ${seen.join(', ')})` : 'cap unknown: no position carried top_logprobs',
      evidence,
    };
  }
  const short = asked.filter((p) => p.mode < p.requested);
  const positions = asked.reduce((s, p) => s + p.positions, 0);
  const maxAsked = Math.max(...asked.map((p) => p.requested));
  if (short.length === 0) {
    return {
      finding: 'top_logprobs_cap',
      value: null,
      confidence: round4(sampleWeight(positions, 10)),
      summary: `no cap: every request got the alternatives it asked for (up to ${maxAsked}, ${positions} positions)`,
      evidence,
    };
  }
  const c = short[0].mode;
  const consistent = short.every((p) => p.mode === c && p.at_mode >= 0.9 * p.positions);
  const below = asked.filter((p) => p.requested <= c);
  const belowFull = below.every((p) => p.mode === p.requested);
  const desc = short.map((p) => `asked ${p.requested}, got ${p.mode} at ${p.at_mode} of ${p.positions} positions`).join('; ');
  if (!consistent || !belowFull) {
    return { finding: 'top_logprobs_cap', value: null, confidence: 0.3, summary: `fewer alternatives than asked, but not at one fixed value (${desc})`, evidence };
  }
  if (vocabularySeen <= c) {
    return { finding: 'top_logprobs_cap', value: null, confidence: 0.3, summary: `fewer alternatives than asked, but only ${vocabularySeen} distinct tokens were seen: the vocabulary may be the limit (${desc})`, evidence };
  }
  const shortPositions = short.reduce((s, p) => s + p.positions, 0);
  const agree = short.reduce((s, p) => s + p.at_mode, 0) / shortPositions;
  return {
    finding: 'top_logprobs_cap',
    value: c,
    confidence: round4(agree * sampleWeight(shortPositions, 5) * (below.length > 0 || short.length > 1 ? 1 : 0.9)),
    summary: `top_logprobs capped at ${c}: ${desc}${below.length ? `; requests for <= ${c} got what they asked` : ''}; ${vocabularySeen} distinct tokens seen, so the vocabulary is not the limit`,
    evidence,
  };
}
