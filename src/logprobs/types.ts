// What the logprob analyzer reads out of logged traffic, and what each detector hands back. One generated (or echoed)
// token is a TokenObservation; one choice of one response is a Sequence; identical requests share a `groupKey`.

export type Api = 'chat' | 'completions';

/** One entry of a position's top_logprobs (chat: {token, logprob}; completions: one key of the dict). */
export interface TopEntry {
  token: string;
  logprob: number;
}

export interface TokenObservation {
  token: string;
  /** The sampled (or echoed) token's own logprob; null where the API gives none (the first echoed prompt token). */
  logprob: number | null;
  /** The returned alternatives in the order returned; null where the position carries none. */
  top: TopEntry[] | null;
}

/** What the logged request asked for (absent for a line holding only a response). */
export interface RequestInfo {
  api: Api;
  model: string | null;
  /** top_logprobs (chat) or logprobs: N (completions); 0 when only the sampled token's logprob was asked for. */
  requested: number | null;
  seed: number | null;
  temperature: number | null;
  /** Canonical JSON of the whole request body: equal keys are identical requests. */
  key: string;
}

export interface Sequence {
  /** file:line (and choice) it came from, for evidence. */
  where: string;
  api: Api;
  request: RequestInfo | null;
  /** Identical requests (same body) share this; the choices of one n > 1 response share it too. */
  groupKey: string | null;
  fingerprint: string | null;
  /** False when the response carried no logprobs at all (the endpoint ignored or refused the request for them). */
  hasLogprobs: boolean;
  tokens: TokenObservation[];
}

export interface SkippedLine {
  line: number;
  message: string;
}

export interface FailedRequest {
  where: string;
  status: number | null;
  message: string;
}

export interface Traffic {
  file: string;
  /** Non-blank lines read. */
  lines: number;
  sequences: Sequence[];
  /** Lines that were not valid traffic, each with the error naming file:line and what was expected. */
  skipped: SkippedLine[];
  /** Logged requests that got an error instead of a response (the probe logs them too). */
  failed: FailedRequest[];
}

/** Every detector answers in this shape. `value` is the finding itself (null: not present / not determinable). */
export interface Finding<V = unknown> {
  finding: string;
  value: V;
  /** 0..1: how sure the data make us (sample size and effect size); the evidence says why. */
  confidence: number;
  /** One sentence a person reads. */
  summary: string;
  evidence: Record<string, unknown>;
}

/** n / (n + n0): a confidence factor that grows with the number of independent observations. */
export function sampleWeight(n: number, n0: number): number {
  return n <= 0 ? 0 : n / (n + n0);
}

export const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
