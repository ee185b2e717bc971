// Whether the endpoint returns logprobs at all, and how much of the logged traffic carried them.
import { round4, type Finding, type Traffic } from '../types.js';

export function detectAvailability(t: Traffic): Finding<number | null> {
  const answers = t.sequences.length;
  const withLp = t.sequences.filter((s) => s.hasLogprobs).length;
  const asked = t.sequences.filter((s) => s.request && s.request.requested !== null);
  const askedNone = asked.filter((s) => !s.hasLogprobs).length;
  const positions = t.sequences.reduce((n, s) => n + s.tokens.length, 0);
  const withTop = t.sequences.reduce((n, s) => n + s.tokens.filter((o) => o.top && o.top.length > 0).length, 0);
  const evidence = { answers, with_logprobs: withLp, asked_for_logprobs: asked.length, asked_but_none_returned: askedNone, positions, positions_with_top_logprobs: withTop, failed_requests: t.failed.length };
  if (answers === 0) return { finding: 'logprobs_returned', value: null, confidence: 0, summary: `no answers in the traffic (${t.failed.length} failed requests)`, evidence };
  const frac = withLp / answers;
  return {
    finding: 'logprobs_returned',
    value: round4(frac),
    confidence: 1,
    summary:
      withLp === 0
        ? `no logprobs: none of ${answers} answers carried logprobs${asked.length ? ` although ${asked.length} asked for them` : ''}`
        : `${withLp} of ${answers} answers carried logprobs (${positions} positions, ${withTop} with top_logprobs)${askedNone ? `; ${askedNone} asked for them and got none` : ''}`,
    evidence,
  };
}
