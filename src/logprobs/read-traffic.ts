// Logged traffic (.jsonl) -> Sequences. A line is one of: an OpenAI chat-completion / completion response object; a
// streamed chunk (chunks of one `id` on any lines are joined in order); `{"request": body, "response": object | [chunks]}`;
// `{"request": body, "error": {status, message}}` (a failed request, as the probe logs it). A line that is none of
// these is skipped with a TrafficFormatError naming file:line, the field and what was expected; the count is reported.
import fs from 'node:fs';
import { ProbityError } from '../errors.js';
import { brief, TrafficFormatError } from './format-error.js';
import { parseRequest } from './parse-request.js';
import { parseResponse, type Fail, type ParsedChoice, type ParsedResponse } from './parse-response.js';
import type { FailedRequest, RequestInfo, Sequence, Traffic } from './types.js';

export type TrafficLine =
  | { kind: 'exchange'; request: RequestInfo | null; response: ParsedResponse }
  | { kind: 'chunk'; response: ParsedResponse }
  | { kind: 'failed'; status: number | null; message: string };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Joins the chunks of one stream: per choice index, tokens in arrival order. */
export function joinChunks(parts: ParsedResponse[]): ParsedResponse {
  const byIndex = new Map<number, ParsedChoice>();
  for (const p of parts) {
    for (const c of p.choices) {
      const into = byIndex.get(c.index) ?? { index: c.index, hasLogprobs: false, tokens: [] };
      into.hasLogprobs ||= c.hasLogprobs;
      into.tokens.push(...c.tokens);
      byIndex.set(c.index, into);
    }
  }
  const first = parts[0];
  return { api: first.api, id: first.id, chunk: false, fingerprint: parts.find((p) => p.fingerprint)?.fingerprint ?? null, choices: [...byIndex.values()].sort((a, b) => a.index - b.index) };
}

function errorLine(e: unknown, path: string, fail: Fail): { status: number | null; message: string } {
  if (!isObj(e)) return fail(path, 'an error object {status, message}', e);
  const inner = isObj(e.error) ? e.error : e; // OpenAI's body {"error": {message, type, code}} or the probe's {status, message}
  const status = e.status === undefined || e.status === null ? null : e.status;
  if (status !== null && !Number.isInteger(status)) fail(`${path}.status`, 'an integer HTTP status or null', status);
  const message = typeof inner.message === 'string' ? inner.message : JSON.stringify(inner).slice(0, 200);
  return { status: status as number | null, message };
}

/** One line, validated; throws TrafficFormatError (and nothing else) when it is not valid traffic. */
export function parseLine(text: string, file: string, line: number): TrafficLine {
  const fail: Fail = (path, expected, got) => {
    throw new TrafficFormatError(file, line, `${path}: expected ${expected}, got ${brief(got)}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TrafficFormatError(file, line, `not valid JSON (${(e as Error).message}); expected one JSON object per line`);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) fail('line', 'a response object, a chunk, or {"request", "response"}', v);
    return { kind: 'exchange', request: null, response: joinChunks(v.map((c, i) => parseResponse(c, `[${i}].`, fail))) };
  }
  if (!isObj(v)) return fail('line', 'a JSON object: a response, a chunk, or {"request", "response"}', v);
  if ('request' in v) {
    if (v.error !== undefined) return { kind: 'failed', ...errorLine(v.error, 'error', fail) };
    const res = v.response;
    if (isObj(res) && res.error !== undefined && res.choices === undefined) return { kind: 'failed', ...errorLine(res, 'response', fail) };
    const request = parseRequest(v.request, 'request', fail);
    let response: ParsedResponse;
    if (Array.isArray(res)) {
      if (res.length === 0) fail('response', 'a response object or a non-empty array of stream chunks', res);
      response = joinChunks(res.map((c, i) => parseResponse(c, `response[${i}].`, fail)));
    } else {
      if (res === undefined) fail('response', 'a response object (or "error" for a failed request)', res);
      response = parseResponse(res, 'response.', fail);
    }
    if (response.api !== request.api) fail('response', `a ${request.api} response (the request is a ${request.api} request)`, response.api);
    return { kind: 'exchange', request, response };
  }
  const response = parseResponse(v, '', fail);
  if (response.chunk) {
    if (response.id === null) fail('id', 'a string (chunk lines are joined by id)', v.id);
    return { kind: 'chunk', response };
  }
  return { kind: 'exchange', request: null, response };
}

function sequencesOf(where: string, request: RequestInfo | null, r: ParsedResponse): Sequence[] {
  return r.choices.map((c) => ({
    where: r.choices.length > 1 ? `${where} choice ${c.index}` : where,
    api: r.api,
    request,
    // Choice i of identical requests comes from the same sampler stream; choices of one request do not.
    groupKey: request ? `${request.key}#${c.index}` : null,
    fingerprint: r.fingerprint,
    hasLogprobs: c.hasLogprobs,
    tokens: c.tokens,
  }));
}

/** Reads text already in memory (`file` names it in errors). */
export function parseTraffic(text: string, file: string): Traffic {
  const out: Traffic = { file, lines: 0, sequences: [], skipped: [], failed: [] };
  const streams = new Map<string, { line: number; parts: ParsedResponse[] }>();
  const order: ({ where: string; seqs: Sequence[] } | { stream: string })[] = [];
  text.split('\n').forEach((raw, i) => {
    const s = raw.trim();
    if (!s) return;
    out.lines++;
    const line = i + 1;
    try {
      const r = parseLine(s, file, line);
      if (r.kind === 'failed') out.failed.push({ where: `${file}:${line}`, status: r.status, message: r.message } satisfies FailedRequest);
      else if (r.kind === 'exchange') order.push({ where: `${file}:${line}`, seqs: sequencesOf(`${file}:${line}`, r.request, r.response) });
      else {
        const id = r.response.id!;
        const st = streams.get(id);
        if (st) st.parts.push(r.response);
        else {
          streams.set(id, { line, parts: [r.response] });
          order.push({ stream: id });
        }
      }
    } catch (e) {
      if (!(e instanceof TrafficFormatError)) throw e;
      out.skipped.push({ line, message: e.message });
    }
  });
  for (const o of order) {
    if ('seqs' in o) out.sequences.push(...o.seqs);
    else {
      const st = streams.get(o.stream)!;
      out.sequences.push(...sequencesOf(`${file}:${st.line} (stream ${o.stream})`, null, joinChunks(st.parts)));
    }
  }
  return out;
}

export function readTraffic(file: string): Traffic {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProbityError('LOGPROBS_FILE', `cannot read traffic file ${file}: ${(e as Error).message}`);
  }
  return parseTraffic(text, file);
}
