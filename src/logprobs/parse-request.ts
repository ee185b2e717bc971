// A logged request body -> what it asked for (top-k N, seed, temperature) and a canonical key: two requests with equal
// keys are identical requests, whose answers the noise and determinism detectors compare.
import type { Fail } from './parse-response.js';
import type { Api, RequestInfo } from './types.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with object keys sorted, so key order in the log does not split identical requests. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// Transport-only fields: a streamed and an unstreamed copy of one request ask for the same distribution.
const TRANSPORT = new Set(['stream', 'stream_options']);

function optInt(v: unknown, path: string, fail: Fail, min: number): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || (v as number) < min) fail(path, `an integer >= ${min} or null`, v);
  return v as number;
}

export function parseRequest(v: unknown, path: string, fail: Fail): RequestInfo {
  if (!isObj(v)) fail(path, 'a request body object', v);
  const r = v as Record<string, unknown>;
  let api: Api;
  if (r.messages !== undefined) api = 'chat';
  else if (r.prompt !== undefined) api = 'completions';
  else return fail(path, 'a request with "messages" (chat) or "prompt" (completions)', r);
  if (r.model !== undefined && typeof r.model !== 'string') fail(`${path}.model`, 'a string', r.model);
  const seed = optInt(r.seed, `${path}.seed`, fail, Number.MIN_SAFE_INTEGER);
  let temperature: number | null = null;
  if (r.temperature !== undefined && r.temperature !== null) {
    if (typeof r.temperature !== 'number' || !(r.temperature >= 0)) fail(`${path}.temperature`, 'a number >= 0', r.temperature);
    temperature = r.temperature as number;
  }
  let requested: number | null;
  if (api === 'chat') {
    if (r.logprobs !== undefined && r.logprobs !== null && typeof r.logprobs !== 'boolean') fail(`${path}.logprobs`, 'true or false (chat)', r.logprobs);
    const top = optInt(r.top_logprobs, `${path}.top_logprobs`, fail, 0);
    requested = r.logprobs === true ? (top ?? 0) : null;
  } else {
    requested = optInt(r.logprobs, `${path}.logprobs`, fail, 0);
  }
  const body = Object.fromEntries(Object.entries(r).filter(([k]) => !TRANSPORT.has(k)));
  return { api, model: typeof r.model === 'string' ? r.model : null, requested, seed, temperature, key: canonicalJson(body) };
}
