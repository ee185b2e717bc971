// The dashboard's JSON API over real HTTP on loopback, with the organism, its shipped SAE (dashboard data made here
// from 6k held-out tokens) and the shipped reference report. Each endpoint is checked against an independent
// computation (the model and SAE run here, generate() for the unsteered text, the files on disk); each bad request
// gets a 4xx JSON error and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/models/model.js';
import { generate } from '../../src/models/generate.js';
import { loadSaeLens } from '../../src/dictionaries/saelens.js';
import { labelTokens } from '../../src/organism/labeller.js';
import { conceptsOf } from '../../src/organism/concepts.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer, type RunningServer } from '../../src/serve/http.js';
import { createDashboardHandler } from '../../src/dashboard/server.js';
import { buildDashboardData } from '../../src/dashboard/data/build.js';
import { DASHBOARD_FORMAT, type DashboardManifest, type LatentDetail } from '../../src/dashboard/data/format.js';
import { syntheticIndex } from './synthetic-index.js';

process.env.PROBITY_SPIN = '0';
const SAE = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post');
const NODATA = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post-seed3');
const REPORT = path.resolve('reports/bench-organism');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-dash-api-'));
const data = path.join(tmp, 'data');
let model: Model;
let scheduler: Scheduler;
let srv: RunningServer;
const internal: unknown[] = [];

async function call(p: string, init?: RequestInit): Promise<{ status: number; body: any; type: string | null }> {
  const r = await fetch(srv.url + p, init);
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body, type: r.headers.get('content-type') };
}
const postJson = (p: string, body: unknown) => call(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** POST /api/steer and collect the events of each side. */
async function steer(body: unknown): Promise<{ status: number; sides: Record<string, { text: string; tokens: number[]; done?: any; error?: any }>; raw: string }> {
  const r = await fetch(srv.url + '/api/steer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const raw = await r.text();
  const sides: Record<string, { text: string; tokens: number[]; done?: any; error?: any }> = {};
  if (r.status === 200) {
    for (const line of raw.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const e = JSON.parse(line.slice(6));
      const s = (sides[e.side] ??= { text: '', tokens: [] });
      if (e.error) s.error = e.error;
      else if (e.done) s.done = e;
      else {
        s.text += e.text;
        s.tokens.push(e.token);
      }
    }
  }
  return { status: r.status, sides, raw };
}

function expect4xx(r: { status: number; body: any }, status: number, pattern: RegExp, code?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.body.error.message, pattern);
  if (code) assert.equal(r.body.error.code, code);
}

before(async () => {
  model = await loadModel('organism');
  const sae = loadSaeLens(SAE);
  await buildDashboardData({ model, sae, saeDir: SAE, out: data, settings: { tokens: 6000 } });
  // A synthetic 16,384-latent list (index only) for the latency measurement.
  const big = path.join(tmp, 'big');
  fs.mkdirSync(big);
  const ix = syntheticIndex(16_384);
  fs.writeFileSync(path.join(big, 'index.json'), JSON.stringify(ix));
  fs.writeFileSync(path.join(big, 'tokens.json'), '[]');
  fs.writeFileSync(path.join(big, 'manifest.json'), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(data, 'manifest.json'), 'utf8')), sae: path.join(tmp, 'synthetic-16k'), format: DASHBOARD_FORMAT } satisfies Partial<DashboardManifest>));
  const web = path.join(tmp, 'web');
  fs.mkdirSync(path.join(web, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><div id="app"></div>');
  fs.writeFileSync(path.join(web, 'assets', 'app.js'), 'console.log(1)');
  scheduler = new Scheduler(model);
  const handler = await createDashboardHandler({ model, modelRef: 'organism', scheduler, saes: [data, NODATA, big], results: [REPORT, path.join(tmp, 'no-such-run')], webDir: web });
  srv = await startServer({ host: '127.0.0.1', port: 0, handlers: [handler], onInternalError: (e) => internal.push(e) });
});

after(async () => {
  await srv?.close();
  await scheduler?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET /api/model and /api/saes: the SAEs, which have data, and the command for the one that has none', async () => {
  const m = await call('/api/model');
  assert.deepEqual([m.status, m.body.model, m.body.nCtx, m.body.organism], [200, 'organism', 256, true]);
  const s = await call('/api/saes');
  assert.equal(s.status, 200);
  const [a, b] = s.body.saes;
  assert.deepEqual([a.id, a.hasData, a.dSae, a.hook, a.concepts], ['topk-k32-blocks.2.hook_resid_post', true, 3072, 'blocks.2.hook_resid_post', true]);
  assert.ok(a.tokens >= 6000);
  assert.deepEqual([b.id, b.hasData], ['topk-k32-blocks.2.hook_resid_post-seed3', false]);
  assert.match(b.missing, /probity sae dashboard-data --sae models\/organism\/saes\/topk-k32-blocks\.2\.hook_resid_post-seed3/);
});

test('GET /api/latents: paging, search and sorting; 404s name the SAE or the command that makes the data', async () => {
  const p2 = await call('/api/latents?pageSize=10&page=2');
  assert.equal(p2.status, 200);
  assert.deepEqual(p2.body.items.map((x: any) => x.id), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(p2.body.total, 3072);
  const dens = await call('/api/latents?sort=density&pageSize=200');
  const d = dens.body.items.map((x: any) => x.density);
  assert.ok(d.every((x: number, i: number) => i === 0 || d[i - 1] >= x), 'densest first');
  const asc = await call('/api/latents?sort=maxAct&order=asc&pageSize=5');
  assert.ok(asc.body.items[0].maxAct <= asc.body.items[4].maxAct);
  // Search for a word of latent 7's best context: latent 7 is found, and every hit contains the word.
  const word = p2.body.items.length && (await call('/api/latents?pageSize=1&page=8')).body.items[0].snippet.split(/\s+/).find((w: string) => w.length > 3);
  assert.ok(word, 'latent 7 has a context word to search for');
  const q = await call(`/api/latents?q=${encodeURIComponent(word.toUpperCase())}&pageSize=500`);
  assert.ok(q.body.items.some((x: any) => x.id === 7), `searching ${word} finds latent 7`);
  for (const it of q.body.items) assert.ok((it.topTokens.join('\u0001') + '\u0001' + it.snippet).toLowerCase().includes(word.toLowerCase()), `latent ${it.id} matches ${word}`);
  const all = await call('/api/latents?pageSize=500&page=1');
  const none = await call('/api/latents?q=zzzqqq');
  assert.deepEqual([none.body.total, none.body.items.length, all.body.total], [0, 0, 3072]);
  const byId = await call('/api/latents?q=%23123');
  assert.deepEqual(byId.body.items.map((x: any) => x.id), [123]);
  expect4xx(await call('/api/latents?sae=nope'), 404, /unknown SAE "nope"; this server has topk-k32/, 'unknown_sae');
  expect4xx(await call('/api/latents?sae=topk-k32-blocks.2.hook_resid_post-seed3'), 404, /make it with `probity sae dashboard-data --sae models\/organism\/saes\/topk-k32-blocks\.2\.hook_resid_post-seed3`/, 'no_dashboard_data');
  expect4xx(await call('/api/latents?sort=size'), 400, /sort is "size"; expected one of id, density, maxAct, bestF1, bestAuroc/);
  expect4xx(await call('/api/latents?page=0'), 400, /page is "0"; expected an integer from 1/);
  expect4xx(await call('/api/latents?pageSize=abc'), 400, /pageSize is "abc"/);
});

test('GET /api/latents/:id is the latent\'s stored detail with token texts; unknown ids are 404', async () => {
  const r = await call('/api/latents/300');
  assert.equal(r.status, 200);
  const stored = (JSON.parse(fs.readFileSync(path.join(data, 'latents/group-00001.json'), 'utf8')) as { latents: LatentDetail[] }).latents[300 - 256];
  const vocab = JSON.parse(fs.readFileSync(path.join(data, 'tokens.json'), 'utf8')) as string[];
  assert.equal(r.body.id, 300);
  assert.equal(r.body.maxAct, stored.maxAct);
  assert.deepEqual(r.body.histogram, stored.histogram);
  assert.deepEqual(r.body.top.map((c: any) => c.tokens), stored.top.map((c) => c.tokens));
  assert.deepEqual(r.body.top[0].text, stored.top[0].tokens.map((t) => vocab[t]));
  assert.equal(r.body.quantiles.length, stored.quantiles.length);
  assert.deepEqual(r.body.promoted.map((p: any) => p.text), stored.promoted.map((p) => vocab[p.token]));
  assert.equal(r.body.conceptNames.length, 30);
  expect4xx(await call('/api/latents/3072'), 404, /latents 0 \.\. 3071; there is no latent 3072/, 'unknown_latent');
  expect4xx(await call('/api/latents/abc'), 404, /latent id "abc" is not a non-negative integer/, 'unknown_latent');
  expect4xx(await call('/api/latents/5?sae=topk-k32-blocks.2.hook_resid_post-seed3'), 404, /dashboard-data --sae/, 'no_dashboard_data');
});

test('POST /api/prompt: tokens, the SAE\'s top latents, the next-token distribution and the labeller\'s concepts', async () => {
  const text = 'Once upon a time, Tom saw a big dog. He was very sad.';
  const r = await postJson('/api/prompt', { text, top: 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ids = model.tokenizer.encode(text);
  assert.deepEqual(r.body.tokens.map((t: any) => t.id), ids);
  const sae = loadSaeLens(SAE);
  const run = await model.forward([ids], { cache: [sae.cfg.hookName], logits: 'all' });
  const dense = await sae.encodeDense(run.cache[sae.cfg.hookName].data as Float32Array, ids.length);
  const labels = labelTokens(ids);
  const V = model.spec.vocab;
  r.body.tokens.forEach((t: any, i: number) => {
    const row = Array.from(dense.subarray(i * sae.dSae, (i + 1) * sae.dSae));
    const want = [...row.keys()].filter((j) => row[j] !== 0).sort((a, b) => row[b] - row[a]).slice(0, 5);
    assert.deepEqual(t.latents.map((l: any) => l.latent), want, `token ${i}`);
    assert.deepEqual(t.concepts, conceptsOf(labels[i]));
  });
  const last = run.logits!.data.subarray((ids.length - 1) * V, ids.length * V);
  const argmax = last.indexOf(Math.max(...last));
  assert.equal(r.body.next[0].token, argmax);
  assert.ok(r.body.next.reduce((a: number, n: any) => a + n.prob, 0) <= 1 + 1e-9);
  assert.ok(r.body.tokens.some((t: any) => t.concepts.includes('tone:sad')), 'the sad sentence is labelled');
  expect4xx(await postJson('/api/prompt', '{"text": "Once'), 400, /not valid JSON/, 'invalid_json');
  expect4xx(await postJson('/api/prompt', {}), 400, /text is missing; expected a non-empty string/);
  expect4xx(await postJson('/api/prompt', { text: 'the dog '.repeat(200) }), 400, /text has \d+ tokens; the model's context holds 256/, 'context_length_exceeded');
  expect4xx(await postJson('/api/prompt', { text: 'hi', colour: 'red' }), 400, /unknown field "colour"/);
  expect4xx(await postJson('/api/prompt', { text: 'hi', sae: 'nope' }), 404, /unknown SAE "nope"/);
});

test('POST /api/steer streams both sides: unsteered is generate()\'s text, a silent conditional clamp changes nothing', async () => {
  const prompt = 'Once upon a time, Tom went to the park.';
  const ids = model.tokenizer.encode(prompt);
  const [plain] = await generate(model, [ids], { maxTokens: 20, temperature: 0 });
  const strong = await steer({ prompt, maxTokens: 20, latents: [{ latent: 5, strength: 40 }] });
  assert.equal(strong.status, 200, strong.raw);
  assert.deepEqual(strong.sides.unsteered.tokens, plain.tokens, 'the unsteered side is generate()\'s');
  assert.equal(strong.sides.unsteered.text, model.tokenizer.decode(plain.tokens));
  assert.equal(strong.sides.unsteered.done.finishReason, plain.finishReason);
  assert.notDeepEqual(strong.sides.steered.tokens, plain.tokens, 'a strong push changes the text');
  assert.ok(strong.raw.trimEnd().endsWith('data: [DONE]'));
  // Conditional with a threshold the latent never reaches: exactly the unsteered text (the clamp is a no-op there).
  const silent = await steer({ prompt, maxTokens: 20, mode: 'conditional', threshold: 1000, latents: [{ latent: 5, strength: 40 }] });
  assert.deepEqual(silent.sides.steered.tokens, plain.tokens);
  // The raw spec works too and gives the same as the shorthand.
  const raw = await steer({ prompt, maxTokens: 20, interventions: [{ hook: 'blocks.2.hook_resid_post', kind: 'add', direction: { sae: SAE, latent: 5 }, scale: 40 }] });
  assert.deepEqual(raw.sides.steered.tokens, strong.sides.steered.tokens);
});

test('POST /api/steer: bad requests are 4xx JSON errors naming the field', async () => {
  const prompt = 'Once upon a time';
  const bad = async (body: unknown, status: number, pattern: RegExp) => {
    const r = await postJson('/api/steer', body);
    expect4xx(r, status, pattern);
    return r;
  };
  await bad({ prompt, latents: [{ latent: 3072, strength: 1 }] }, 400, /latents\[0\]\.latent is 3072; expected an integer from 0 to 3071/);
  await bad({ prompt, latents: [{ latent: 5, strength: 'strong' }] }, 400, /latents\[0\]\.strength is "strong"; expected a number/);
  await bad({ prompt, latents: [{ latent: 5, strength: 1e9 }] }, 400, /latents\[0\]\.strength is 1000000000; expected a number from -10000 to 10000/);
  await bad({ prompt, latents: [{ latent: 5, strength: 1 }], mode: 'sideways' }, 400, /mode is "sideways"; expected one of constant, conditional/);
  await bad({ prompt, latents: [{ sae: 'nope', latent: 5, strength: 1 }] }, 404, /unknown SAE "nope"/);
  await bad({ prompt, latents: [] }, 400, /latents must be a non-empty array/);
  await bad({ prompt: 'the dog '.repeat(200), latents: [{ latent: 5, strength: 1 }] }, 400, /prompt has \d+ tokens \(\+1 to generate\); the model's context holds 256/);
  await bad({ prompt, maxTokens: 0, latents: [{ latent: 5, strength: 1 }] }, 400, /maxTokens is 0; expected an integer from 1 to 256/);
  const r = await bad({ prompt, interventions: [{ hook: 'blocks.9.hook_resid_post', kind: 'add', direction: { sae: SAE, latent: 5 } }] }, 400, /interventions\[0\]\.hook/);
  assert.equal(r.body.error.param, 'interventions[0].hook');
  await bad('{"prompt": ', 400, /not valid JSON/);
});

test('a client that disconnects mid-stream frees its slots; GET /api/reports and the static files; the server survives', async () => {
  const ac = new AbortController();
  const r = await fetch(srv.url + '/api/steer', { method: 'POST', body: JSON.stringify({ prompt: 'Once upon a time', maxTokens: 200, latents: [{ latent: 5, strength: 4 }] }), signal: ac.signal });
  const reader = r.body!.getReader();
  await reader.read();
  ac.abort();
  for (let i = 0; i < 200 && (scheduler.load.active > 0 || scheduler.load.queued > 0); i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(scheduler.load, { queued: 0, active: 0 }, 'the aborted generations left the scheduler');

  const list = await call('/api/reports');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.reports.map((x: any) => [x.name, x.available]), [['bench-organism', true], ['no-such-run', false]]);
  assert.deepEqual(list.body.reports[0].suites, ['detect', 'steer', 'conditional', 'spurious', 'audit', 'circuits'], 'the six suites the reference run wrote');
  const rep = await call('/api/reports/bench-organism');
  assert.deepEqual(rep.body, JSON.parse(fs.readFileSync(path.join(REPORT, 'results.json'), 'utf8')));
  expect4xx(await call('/api/reports/nope'), 404, /unknown report "nope"; this server has bench-organism, no-such-run/);
  // The full static report: byte for byte the page `probity bench` wrote beside the shipped results.json.
  const page = await call('/api/reports/bench-organism/html');
  assert.deepEqual([page.status, page.type], [200, 'text/html; charset=utf-8']);
  assert.equal(page.body, fs.readFileSync(path.join(REPORT, 'report.html'), 'utf8'));
  expect4xx(await call('/api/reports/nope/html'), 404, /unknown report "nope"/);
  expect4xx(await call('/api/reports/no-such-run'), 404, /does not exist/);

  const index = await call('/');
  assert.deepEqual([index.status, index.type], [200, 'text/html; charset=utf-8']);
  const js = await call('/assets/app.js');
  assert.deepEqual([js.status, js.type], [200, 'text/javascript; charset=utf-8']);
  assert.equal((await call('/assets/../../../etc/passwd')).status, 404);
  assert.equal((await call('/assets/%2e%2e/%2e%2e/package.json')).status, 404);
  expect4xx(await call('/api/prompt'), 405, /takes POST, not GET/);
  expect4xx(await call('/api/nothing'), 404, /no dashboard route GET \/api\/nothing/);
  assert.equal((await call('/api/saes')).status, 200, 'still serving');
  assert.deepEqual(internal, [], 'no request ended in a 5xx');
});

test('latency of the latent list over HTTP on a synthetic 16,384-latent index', async (t) => {
  const first = performance.now();
  const r0 = await call('/api/latents?sae=synthetic-16k&q=garden&sort=bestAuroc');
  const firstMs = performance.now() - first;
  assert.equal(r0.status, 200);
  assert.equal(r0.body.items.length, 50);
  const times: number[] = [];
  for (const [q, sort] of [['garden', 'bestAuroc'], ['dog', 'density'], ['', 'maxAct'], ["'tom'", 'bestF1'], ['rain', 'id']]) {
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const r = await call(`/api/latents?sae=synthetic-16k&q=${encodeURIComponent(q)}&sort=${sort}&page=2`);
      times.push(performance.now() - t0);
      assert.equal(r.status, 200);
    }
  }
  times.sort((a, b) => a - b);
  t.diagnostic(`GET /api/latents on 16,384 latents over loopback: first request (loads the index) ${firstMs.toFixed(1)} ms; then median ${times[times.length >> 1].toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms over ${times.length} searches/sorts`);
});

test('load: 32 concurrent clients x 3 requests (latent pages, list, prompt view, short steers, bad requests) all answered as sequentially; memory sampled', async (t) => {
  const ids = (await call('/api/latents?sort=density&page=1')).body.items.slice(0, 8).map((x: any) => x.id);
  assert.ok(ids.length >= 4, 'the test SAE has latents with data');
  // One request of each kind per slot; the expected answer of each is computed sequentially first.
  const kinds = (c: number, i: number) => {
    const k = (c * 3 + i) % 5;
    if (k === 0) return () => call(`/api/latents/${ids[(c + i) % ids.length]}`);
    if (k === 1) return () => call(`/api/latents?q=${['the', 'dog', ''][i % 3]}&sort=maxAct&page=1`);
    if (k === 2) return () => postJson('/api/prompt', { text: ['Once upon a time, Tom saw a dog.', 'User: Tell me a story. Assistant:'][c % 2], top: 4 });
    if (k === 3) return () => steer({ prompt: 'Once upon a time', maxTokens: 6, latents: [{ latent: ids[c % ids.length], strength: 2 }] }).then((r) => ({ status: r.status, body: r.sides, type: null }));
    return () => postJson('/api/prompt', '{"text": ');
  };
  const key = (r: { status: number; body: any }) => JSON.stringify([r.status, r.body]);
  const want: string[][] = [];
  for (let c = 0; c < 32; c++) {
    want.push([]);
    for (let i = 0; i < 3; i++) want[c].push(key(await kinds(c, i)()));
  }
  const rss: number[] = [];
  const timer = setInterval(() => rss.push(process.memoryUsage().rss), 20);
  const t0 = performance.now();
  const got = await Promise.all(Array.from({ length: 32 }, async (_, c) => {
    const out: string[] = [];
    for (let i = 0; i < 3; i++) out.push(key(await kinds(c, i)()));
    return out;
  }));
  const ms = performance.now() - t0;
  clearInterval(timer);
  for (let c = 0; c < 32; c++) for (let i = 0; i < 3; i++) assert.equal(got[c][i], want[c][i], `client ${c} request ${i} answered as sequentially`);
  assert.ok(got.flat().some((x) => x.startsWith('[400')), 'the malformed bodies were answered 400');
  assert.deepEqual(internal, [], 'no request ended in a 5xx');
  assert.deepEqual(scheduler.load, { queued: 0, active: 0 });
  const third = Math.max(1, Math.floor(rss.length / 3));
  const mb = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length / 2 ** 20;
  const first = mb(rss.slice(0, third));
  const last = mb(rss.slice(-third));
  t.diagnostic(`96 concurrent dashboard requests in ${ms.toFixed(0)} ms; RSS mean ${first.toFixed(0)} MiB in the first third, ${last.toFixed(0)} MiB in the last`);
  assert.ok(last < first * 1.5, `RSS grew from ${first.toFixed(0)} to ${last.toFixed(0)} MiB during the run`);
});
