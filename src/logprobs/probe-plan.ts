// The probe's designed requests. Each kind of request feeds one or more detectors:
//   repeats  identical seeded chat requests, top_logprobs 20: noise (values at shared contexts), determinism, grid,
//            the cap (asked 20), sums past 1 and hidden mass;
//   top5     chat requests asking top_logprobs 5 on varied prompts: a request at or below a plausible cap (a cap c
//            answers 5 with 5 and 20 with c; a shrunk vocabulary answers both short);
//   varied   chat requests, top_logprobs 20, different prompts and seeds: more distinct values for the grid test;
//   legacy   identical seeded completions requests with logprobs 5 (the legacy API's maximum at OpenAI), where offered.
export type ProbeApi = 'chat' | 'completions';

export interface PlannedRequest {
  api: ProbeApi;
  kind: 'repeat' | 'top5' | 'varied' | 'legacy';
  body: Record<string, unknown>;
}

export const PROBE_PROMPTS = [
  'Tell me a story about a fox.',
  'How do I grow roses?',
  'Write a short poem about the sea.',
  'What is the capital of France?',
  'Tell me a happy story about a cat.',
  'Describe a rainy day in the city.',
  'Give me three tips for sleeping well.',
  'Tell me a sad story about a bird.',
  'What should I cook for dinner tonight?',
  'Explain why the sky is blue.',
  'Tell me about your favourite book.',
  'Write a letter to a friend.',
];

export const REPEAT_SEED = 1234;

export interface PlanOptions {
  model: string;
  requests: number;
  maxTokens: number;
  /** Leave out the completions requests (the endpoint does not offer /completions). */
  chatOnly?: boolean;
}

export function probePlan(o: PlanOptions): PlannedRequest[] {
  const n = Math.max(6, o.requests);
  const legacy = o.chatOnly ? 0 : Math.max(2, Math.round(0.15 * n));
  const top5 = Math.max(1, Math.round(0.15 * n));
  const repeats = Math.max(3, Math.round(0.4 * n));
  const varied = Math.max(0, n - legacy - top5 - repeats);
  const chat = (prompt: string, top: number, seed: number) => ({
    model: o.model,
    messages: [{ role: 'user', content: prompt }],
    max_tokens: o.maxTokens,
    temperature: 1,
    seed,
    logprobs: true,
    top_logprobs: top,
  });
  const plan: PlannedRequest[] = [];
  for (let i = 0; i < repeats; i++) plan.push({ api: 'chat', kind: 'repeat', body: chat(PROBE_PROMPTS[0], 20, REPEAT_SEED) });
  for (let i = 0; i < top5; i++) plan.push({ api: 'chat', kind: 'top5', body: chat(PROBE_PROMPTS[(1 + i) % PROBE_PROMPTS.length], 5, 100 + i) });
  for (let i = 0; i < varied; i++) plan.push({ api: 'chat', kind: 'varied', body: chat(PROBE_PROMPTS[(1 + top5 + i) % PROBE_PROMPTS.length], 20, 200 + i) });
  for (let i = 0; i < legacy; i++) {
    plan.push({
      api: 'completions',
      kind: 'legacy',
      body: { model: o.model, prompt: `User: ${PROBE_PROMPTS[0]} Assistant:`, max_tokens: o.maxTokens, temperature: 1, seed: REPEAT_SEED, logprobs: 5 },
    });
  }
  return plan;
}
