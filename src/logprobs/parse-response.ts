// OpenAI response objects -> per-choice token observations, every field checked. Shapes (the `openai` package's
// types, v7): a chat completion `{object: "chat.completion", choices: [{index, message, logprobs: {content:
// [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal} | null}], system_fingerprint}`; a
// streamed chat chunk `{object: "chat.completion.chunk", choices: [{index, delta, logprobs}]}`; a (legacy) completion
// `{object: "text_completion", choices: [{index, text, logprobs: {tokens, token_logprobs, top_logprobs: [{token:
// logprob}], text_offset} | null}]}` (streamed completions send the same object once per piece).
import type { Api, TokenObservation, TopEntry } from './types.js';

/** Throws the reader's named error; `path` is the JSON path of the bad field. */
export type Fail = (path: string, expected: string, got: unknown) => never;

export interface ParsedChoice {
  index: number;
  hasLogprobs: boolean;
  tokens: TokenObservation[];
}

export interface ParsedResponse {
  api: Api;
  id: string | null;
  /** A streamed chunk: the reader joins chunks of one id. */
  chunk: boolean;
  fingerprint: string | null;
  choices: ParsedChoice[];
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function num(v: unknown, path: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a number', v);
  return v as number;
}

function str(v: unknown, path: string, fail: Fail): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v as string;
}

function bytes(v: unknown, path: string, fail: Fail): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) fail(path, 'an array of byte values or null', v);
  (v as unknown[]).forEach((b, i) => {
    if (!Number.isInteger(b) || (b as number) < 0 || (b as number) > 255) fail(`${path}[${i}]`, 'an integer 0..255', b);
  });
}

function chatTop(v: unknown, path: string, fail: Fail): TopEntry[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) fail(path, 'an array of {token, logprob}', v);
  return (v as unknown[]).map((e, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(e)) fail(p, 'an object {token, logprob, bytes}', e);
    const o = e as Record<string, unknown>;
    bytes(o.bytes, `${p}.bytes`, fail);
    return { token: str(o.token, `${p}.token`, fail), logprob: num(o.logprob, `${p}.logprob`, fail) };
  });
}

function chatContent(v: unknown, path: string, fail: Fail): TokenObservation[] {
  if (!Array.isArray(v)) fail(path, 'an array of token logprobs', v);
  return (v as unknown[]).map((e, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(e)) fail(p, 'an object {token, logprob, bytes, top_logprobs}', e);
    const o = e as Record<string, unknown>;
    bytes(o.bytes, `${p}.bytes`, fail);
    return { token: str(o.token, `${p}.token`, fail), logprob: num(o.logprob, `${p}.logprob`, fail), top: chatTop(o.top_logprobs, `${p}.top_logprobs`, fail) };
  });
}

function chatChoice(c: Record<string, unknown>, p: string, fail: Fail): Omit<ParsedChoice, 'index'> {
  const lp = c.logprobs;
  if (lp === undefined || lp === null) return { hasLogprobs: false, tokens: [] };
  if (!isObj(lp)) fail(`${p}.logprobs`, 'an object {content, refusal} or null', lp);
  const o = lp as Record<string, unknown>;
  const tokens = o.content === null || o.content === undefined ? [] : chatContent(o.content, `${p}.logprobs.content`, fail);
  if (o.refusal !== undefined && o.refusal !== null) chatContent(o.refusal, `${p}.logprobs.refusal`, fail);
  return { hasLogprobs: o.content !== null && o.content !== undefined, tokens };
}

function completionChoice(c: Record<string, unknown>, p: string, fail: Fail): Omit<ParsedChoice, 'index'> {
  const lp = c.logprobs;
  if (lp === undefined || lp === null) return { hasLogprobs: false, tokens: [] };
  if (!isObj(lp)) fail(`${p}.logprobs`, 'an object {tokens, token_logprobs, top_logprobs, text_offset} or null', lp);
  const o = lp as Record<string, unknown>;
  const q = `${p}.logprobs`;
  if (!Array.isArray(o.tokens)) fail(`${q}.tokens`, 'an array of strings', o.tokens);
  const toks = (o.tokens as unknown[]).map((t, i) => str(t, `${q}.tokens[${i}]`, fail));
  const n = toks.length;
  if (!Array.isArray(o.token_logprobs)) fail(`${q}.token_logprobs`, `an array of ${n} numbers (null for the first echoed token)`, o.token_logprobs);
  const lps = o.token_logprobs as unknown[];
  if (lps.length !== n) fail(`${q}.token_logprobs`, `${n} entries (one per token)`, lps);
  let tops: unknown[] | null = null;
  if (o.top_logprobs !== undefined && o.top_logprobs !== null) {
    if (!Array.isArray(o.top_logprobs)) fail(`${q}.top_logprobs`, 'an array of {token: logprob} objects', o.top_logprobs);
    tops = o.top_logprobs as unknown[];
    if (tops.length !== n) fail(`${q}.top_logprobs`, `${n} entries (one per token)`, tops);
  }
  if (o.text_offset !== undefined && o.text_offset !== null) {
    if (!Array.isArray(o.text_offset) || o.text_offset.length !== n) fail(`${q}.text_offset`, `an array of ${n} integers`, o.text_offset);
    (o.text_offset as unknown[]).forEach((x, i) => Number.isInteger(x) || fail(`${q}.text_offset[${i}]`, 'an integer', x));
  }
  const tokens = toks.map((token, i): TokenObservation => {
    const v = lps[i];
    const logprob = v === null ? null : num(v, `${q}.token_logprobs[${i}]`, fail);
    let top: TopEntry[] | null = null;
    const t = tops?.[i];
    if (t !== undefined && t !== null) {
      if (!isObj(t)) fail(`${q}.top_logprobs[${i}]`, 'an object {token: logprob} or null', t);
      top = Object.entries(t as Record<string, unknown>).map(([k, x]) => ({ token: k, logprob: num(x, `${q}.top_logprobs[${i}][${JSON.stringify(k)}]`, fail) }));
    }
    return { token, logprob, top };
  });
  return { hasLogprobs: true, tokens };
}

/** Which API a response object came from: its `object` field, or (where a provider omits it) its choices' shape. */
function apiOf(r: Record<string, unknown>, fail: Fail): { api: Api; chunk: boolean } {
  const o = r.object;
  if (o === 'chat.completion') return { api: 'chat', chunk: false };
  if (o === 'chat.completion.chunk') return { api: 'chat', chunk: true };
  if (o === 'text_completion') return { api: 'completions', chunk: false };
  if (o !== undefined) fail('object', '"chat.completion", "chat.completion.chunk" or "text_completion"', o);
  const c0 = Array.isArray(r.choices) && isObj(r.choices[0]) ? (r.choices[0] as Record<string, unknown>) : {};
  if ('message' in c0) return { api: 'chat', chunk: false };
  if ('delta' in c0) return { api: 'chat', chunk: true };
  if ('text' in c0) return { api: 'completions', chunk: false };
  return fail('object', 'a response object ("object": "chat.completion" / "text_completion", or choices with message / delta / text)', o);
}

/** One response object (or stream chunk), validated. `path` prefixes field paths in errors (e.g. "response."). */
export function parseResponse(v: unknown, path: string, fail: Fail): ParsedResponse {
  if (!isObj(v)) fail(path.replace(/\.$/, '') || 'line', 'a response object', v);
  const r = v as Record<string, unknown>;
  const f: Fail = (p, e, g) => fail(path + p, e, g);
  const { api, chunk } = apiOf(r, f);
  if (!Array.isArray(r.choices)) f('choices', 'an array of choices', r.choices);
  if (r.id !== undefined && r.id !== null && typeof r.id !== 'string') f('id', 'a string', r.id);
  const fp = r.system_fingerprint;
  if (fp !== undefined && fp !== null && typeof fp !== 'string') f('system_fingerprint', 'a string or null', fp);
  const choices = (r.choices as unknown[]).map((c, i): ParsedChoice => {
    const p = `choices[${i}]`;
    if (!isObj(c)) f(p, 'a choice object', c);
    const o = c as Record<string, unknown>;
    const index = o.index === undefined ? i : o.index;
    if (!Number.isInteger(index) || (index as number) < 0) f(`${p}.index`, 'a non-negative integer', index);
    const body = api === 'chat' ? chatChoice(o, p, f) : completionChoice(o, p, f);
    return { index: index as number, ...body };
  });
  return { api, id: typeof r.id === 'string' ? r.id : null, chunk, fingerprint: typeof fp === 'string' ? fp : null, choices };
}
