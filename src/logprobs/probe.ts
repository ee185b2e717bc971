// `probity logprobs probe`: send the designed requests (probe-plan.ts) to an OpenAI-compatible endpoint, log every
// request with its response (or its error) as one JSONL line, the format `analyze` reads.
import fs from 'node:fs';
import path from 'node:path';
import { ProbityError } from '../errors.js';
import { callJson, type CallOptions } from './client.js';
import { probePlan, type PlannedRequest } from './probe-plan.js';

export interface ProbeOptions {
  baseUrl: string;
  model?: string;
  requests: number;
  maxTokens: number;
  apiKey: string | null;
  out: string;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  backoffMs?: number;
  log?: (line: string) => void;
}

export interface ProbeResult {
  out: string;
  baseUrl: string;
  model: string;
  sent: number;
  answered: number;
  failed: number;
  skipped_apis: string[];
  wall_s: number;
}

/** A bare host (no path) gets OpenAI's /v1; any other path is the provider's own base (e.g. .../api/v1, .../openai). */
export function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ProbityError('CLI_ARG', `base URL "${raw}" is not a URL; expected e.g. https://api.openai.com/v1 or http://127.0.0.1:8000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ProbityError('CLI_ARG', `base URL "${raw}": expected http:// or https://`);
  const p = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${p === '' ? '/v1' : p}`;
}

const endpoint = (base: string, api: PlannedRequest['api']) => `${base}/${api === 'chat' ? 'chat/completions' : 'completions'}`;

async function firstModel(base: string, call: CallOptions): Promise<string> {
  const r = await callJson(`${base}/models`, undefined, call);
  if (!r.ok) throw new ProbityError('LOGPROBS_PROBE', `cannot list models at ${base}/models (${r.message}); pass --model NAME`);
  const data = (r.body as { data?: { id?: unknown }[] }).data;
  const id = Array.isArray(data) ? data.find((m) => typeof m?.id === 'string')?.id : undefined;
  if (typeof id !== 'string') throw new ProbityError('LOGPROBS_PROBE', `${base}/models lists no model ids; pass --model NAME`);
  return id;
}

export async function probe(o: ProbeOptions): Promise<ProbeResult> {
  const t0 = Date.now();
  const base = normaliseBaseUrl(o.baseUrl);
  const log = o.log ?? (() => {});
  const call: CallOptions = { apiKey: o.apiKey, timeoutMs: o.timeoutMs, retries: o.retries, backoffMs: o.backoffMs };
  const model = o.model ?? (await firstModel(base, call));
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  const fd = fs.openSync(o.out, 'w');
  const write = (rec: unknown) => fs.writeSync(fd, JSON.stringify(rec) + '\n');
  let plan = probePlan({ model, requests: o.requests, maxTokens: o.maxTokens });
  const skipped: string[] = [];
  let answered = 0;
  let failed = 0;
  let firstError: string | null = null;
  const send = async (p: PlannedRequest) => {
    const r = await callJson(endpoint(base, p.api), p.body, call);
    if (r.ok) {
      answered++;
      write({ request: p.body, response: r.body });
    } else {
      failed++;
      firstError ??= r.message;
      write({ request: p.body, error: { status: r.status, message: r.message } });
    }
    return r;
  };
  try {
    // One request per API first: an endpoint without /completions (or refusing its logprobs) drops those requests
    // rather than failing each; a chat endpoint that fails its first request fails the probe with that message.
    for (const api of ['chat', 'completions'] as const) {
      const first = plan.find((p) => p.api === api);
      if (!first) continue;
      const r = await send(first);
      plan = plan.filter((p) => p !== first);
      if (!r.ok) {
        if (api === 'chat' && plan.every((p) => p.api === 'chat')) throw new ProbityError('LOGPROBS_PROBE', `${endpoint(base, api)}: ${r.message}`);
        log(`probe: ${endpoint(base, api)} failed (${r.message}); skipping the ${api} requests`);
        skipped.push(api);
        plan = plan.filter((p) => p.api !== api);
      }
    }
    const queue = [...plan];
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const r = await send(p);
        if (!r.ok) log(`probe: ${p.kind} request failed: ${r.message}`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  } finally {
    fs.closeSync(fd);
  }
  if (answered === 0) throw new ProbityError('LOGPROBS_PROBE', `no request to ${base} was answered (${failed} failed; first: ${firstError}); every error are in ${o.out}`);
  log(`probe: ${answered} answered, ${failed} failed, logged to ${o.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { out: o.out, baseUrl: base, model, sent: answered + failed, answered, failed, skipped_apis: skipped, wall_s: (Date.now() - t0) / 1000 };
}
