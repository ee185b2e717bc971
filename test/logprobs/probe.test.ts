// The probe's HTTP handling against a small provider on loopback that misbehaves on purpose: a 500 then success
// (retried), a missing /completions (those requests dropped, the failure logged), a wrong key (401, no retry, a
// message that says what to check), an endpoint that never answers (timeout), a port nobody listens on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { normaliseBaseUrl, probe, type ProbeOptions } from '../../src/logprobs/probe.js';
import { readTraffic } from '../../src/logprobs/read-traffic.js';
import { ProbityError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-probe-'));

function chatResponse(body: { top_logprobs?: number; max_tokens?: number }) {
  const k = body.top_logprobs ?? 0;
  const content = Array.from({ length: Math.min(3, body.max_tokens ?? 3) }, (_, t) => ({
    token: `w${t}`,
    logprob: -0.25 - t,
    bytes: null,
    top_logprobs: Array.from({ length: k }, (_, i) => ({ token: i === 0 ? `w${t}` : `x${i}`, logprob: i === 0 ? -0.25 - t : -2 - i - t, bytes: null })),
  }));
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'fake-1', choices: [{ index: 0, message: { role: 'assistant', content: 'w0 w1 w2' }, logprobs: { content, refusal: null }, finish_reason: 'length' }] };
}

async function provider(handle: (req: http.IncomingMessage, body: Record<string, unknown>, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => handle(req, text ? JSON.parse(text) : {}, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

const send = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const opts = (baseUrl: string, out: string, extra: Partial<ProbeOptions> = {}): ProbeOptions => ({
  baseUrl,
  requests: 8,
  maxTokens: 3,
  apiKey: 'sk-test',
  out,
  timeoutMs: 2000,
  retries: 2,
  concurrency: 2,
  backoffMs: 1,
  ...extra,
});

test('base URLs: a bare host gets /v1, a provider path is kept, junk is refused', () => {
  assert.equal(normaliseBaseUrl('http://127.0.0.1:8000'), 'http://127.0.0.1:8000/v1');
  assert.equal(normaliseBaseUrl('https://api.openai.com/v1/'), 'https://api.openai.com/v1');
  assert.equal(normaliseBaseUrl('https://openrouter.ai/api/v1'), 'https://openrouter.ai/api/v1');
  assert.throws(() => normaliseBaseUrl('api.openai.com'), /not a URL/);
  assert.throws(() => normaliseBaseUrl('ftp://x'), /expected http:\/\/ or https:\/\//);
});

test('a 500 is retried; a missing /completions drops those requests; every request and error is logged', async () => {
  let failures = 0;
  const auth = new Set<string>();
  const p = await provider((req, body, res) => {
    auth.add(String(req.headers.authorization));
    if (req.url === '/v1/models') return send(res, 200, { object: 'list', data: [{ id: 'fake-1', object: 'model' }] });
    if (req.url === '/v1/completions') return send(res, 404, { error: { message: 'no such route', type: 'invalid_request_error' } });
    if (failures++ === 0) return send(res, 500, { error: { message: 'overloaded' } });
    send(res, 200, chatResponse(body));
  });
  try {
    const out = path.join(tmp, 'a.jsonl');
    const r = await probe(opts(p.url, out));
    assert.equal(r.model, 'fake-1');
    assert.deepEqual(r.skipped_apis, ['completions']);
    assert.equal(r.failed, 1);
    assert.equal(r.answered, r.sent - 1);
    assert.deepEqual([...auth], ['Bearer sk-test']);
    const t = readTraffic(out);
    assert.equal(t.sequences.length, r.answered);
    assert.equal(t.failed.length, 1);
    assert.equal(t.failed[0].status, 404);
    assert.match(t.failed[0].message, /HTTP 404: no such route \(check the base URL and the model name\)/);
    assert.deepEqual(new Set(t.sequences.map((s) => s.request?.requested)), new Set([20, 5]));
  } finally {
    await p.close();
  }
});

test('a wrong key fails at once with a message that says what to check', async () => {
  let calls = 0;
  const p = await provider((_req, _b, res) => {
    calls++;
    send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
  });
  try {
    await assert.rejects(
      probe(opts(p.url, path.join(tmp, 'b.jsonl'), { model: 'm', requests: 6 })),
      (e: unknown) => e instanceof ProbityError && e.code === 'LOGPROBS_PROBE' && /HTTP 401: Incorrect API key provided \(check the API key: OPENAI_API_KEY/.test(e.message),
    );
    assert.ok(calls <= 2, `${calls} calls: a 401 is not retried`); // the chat check, then the completions check
  } finally {
    await p.close();
  }
});

test('an endpoint that never answers times out (with retries); an unreachable one says so', async () => {
  const p = await provider(() => {}); // never answers
  try {
    const t0 = Date.now();
    await assert.rejects(probe(opts(p.url, path.join(tmp, 'c.jsonl'), { model: 'm', timeoutMs: 150, retries: 1 })), /no answer within 150 ms \(after 2 attempts\)/);
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    await p.close();
  }
  const dead = await provider(() => {});
  const url = dead.url;
  await dead.close();
  await assert.rejects(probe(opts(url, path.join(tmp, 'd.jsonl'), { model: 'm', retries: 0 })), /cannot reach .*ECONNREFUSED/);
});

test('the CLI names a missing --api-key-env variable', async () => {
  const child = spawn(process.execPath, ['bin/probity.js', 'logprobs', 'probe', 'http://127.0.0.1:9', '--api-key-env', 'PROBITY_NO_SUCH_KEY_VAR'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 2);
  assert.match(err, /--api-key-env PROBITY_NO_SUCH_KEY_VAR: the environment variable PROBITY_NO_SUCH_KEY_VAR is not set \[CLI_ARG\]/);
});
