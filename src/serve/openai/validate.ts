// Request validation for the OpenAI endpoints: each parameter read with its type and range, null treated as absent
// (as OpenAI does), and a 400 naming the parameter, the value and what was expected. The parameters both endpoints
// share (sampling, n, seed, stop, stream) are read here once.
import { badParam } from './errors.js';

export type Body = Record<string, unknown>;

function got(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const present = (body: Body, name: string) => body[name] !== undefined && body[name] !== null;

export function optNumber(body: Body, name: string, min: number, max: number, opts: { minExclusive?: boolean } = {}): number | undefined {
  if (!present(body, name)) return undefined;
  const v = body[name];
  const low = opts.minExclusive ? v === min || (v as number) < min : (v as number) < min;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badParam(name, `expected a number, got ${got(v)}`, 'invalid_type');
  if (low || v > max) throw badParam(name, `${v} is out of range; expected a number ${opts.minExclusive ? '>' : '>='} ${min} and <= ${max}`);
  return v;
}

export function optInt(body: Body, name: string, min: number, max: number): number | undefined {
  if (!present(body, name)) return undefined;
  const v = body[name];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badParam(name, `expected an integer, got ${got(v)}`, 'invalid_type');
  if (v < min || v > max) throw badParam(name, `${v} is out of range; expected an integer from ${min} to ${max}`);
  return v;
}

export function optBool(body: Body, name: string): boolean | undefined {
  if (!present(body, name)) return undefined;
  const v = body[name];
  if (typeof v !== 'boolean') throw badParam(name, `expected true or false, got ${got(v)}`, 'invalid_type');
  return v;
}

export function reqString(body: Body, name: string): string {
  const v = body[name];
  if (v === undefined || v === null) throw badParam(name, 'is required', 'missing_required_parameter');
  if (typeof v !== 'string' || v === '') throw badParam(name, `expected a non-empty string, got ${got(v)}`, 'invalid_type');
  return v;
}

/** Refuse arguments this server does not know (OpenAI's own answer to a typo), so nothing is silently ignored. */
export function checkKnown(body: Body, known: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!known.includes(k)) throw badParam(k, `unrecognized request argument (this server supports: ${known.join(', ')})`, 'unknown_parameter');
  }
}

/** Parameters OpenAI has that change the distribution; accepted only at their neutral value. */
export function neutralOnly(body: Body): void {
  for (const name of ['frequency_penalty', 'presence_penalty']) {
    const v = optNumber(body, name, -2, 2);
    if (v !== undefined && v !== 0) throw badParam(name, `${v} is not supported by this server (only 0)`);
  }
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null && (typeof bias !== 'object' || Array.isArray(bias) || Object.keys(bias).length > 0)) {
    throw badParam('logit_bias', 'is not supported by this server (only {} or null)');
  }
}

/** Shared across both endpoints: the sampler, n, seed, stop strings, streaming. */
export interface CommonParams {
  temperature: number;
  topP: number;
  topK: number;
  n: number;
  /** Choice j samples with seed + j; absent, a fresh random seed per request. */
  seed: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

export const COMMON_KNOWN = [
  'model', 'temperature', 'top_p', 'top_k', 'n', 'seed', 'stop', 'stream', 'stream_options', 'user', 'frequency_penalty',
  'presence_penalty', 'logit_bias', 'probity',
] as const;

export function commonParams(body: Body): CommonParams {
  neutralOnly(body);
  const stream = optBool(body, 'stream') ?? false;
  let includeUsage = false;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw badParam('stream_options', 'is only allowed when stream is true');
    if (typeof so !== 'object' || Array.isArray(so)) throw badParam('stream_options', `expected an object, got ${got(so)}`, 'invalid_type');
    for (const k of Object.keys(so)) {
      if (k !== 'include_usage' && k !== 'include_obfuscation') throw badParam(`stream_options.${k}`, 'unrecognized (supported: include_usage, include_obfuscation)', 'unknown_parameter');
    }
    includeUsage = optBool(so as Body, 'include_usage') ?? false;
    optBool(so as Body, 'include_obfuscation'); // this server never obfuscates; the flag is accepted for compatibility
  }
  return {
    temperature: optNumber(body, 'temperature', 0, 2) ?? 1,
    topP: optNumber(body, 'top_p', 0, 1) ?? 1,
    topK: optInt(body, 'top_k', 0, 2 ** 31 - 1) ?? 0,
    n: optInt(body, 'n', 1, 128) ?? 1,
    seed: optInt(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    stop: stopField(body),
    stream,
    includeUsage,
  };
}

function stopField(body: Body): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw badParam('stop', `expected a string or an array of up to 4 strings, got ${got(v)}`, 'invalid_type');
  if (list.length > 4) throw badParam('stop', `has ${list.length} sequences; at most 4`);
  list.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw badParam(`stop[${i}]`, `expected a non-empty string, got ${got(s)}`, 'invalid_type');
  });
  return list as string[];
}
