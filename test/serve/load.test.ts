// The server under pressure, through the openai client: a full queue answers 429; a client that aborts mid-stream
// frees its slot; 32 concurrent clients x 3 requests are all answered exactly as the same requests sent one at a time,
// with the process's RSS sampled during the run and bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/models/model.js';
import { chatPrompt } from '../../src/organism/prompts.js';
import { serverPool } from './harness.js';
import { Scheduler } from '../../src/serve/scheduler.js';

let model: Model;
const pool = serverPool();
before(async () => {
  model = await loadModel('organism');
});
after(async () => {
  await pool.closeAll();
  assert.deepEqual(internal, [], 'no request ended in a 5xx');
});

const internal: unknown[] = [];
function serve(scheduler?: Scheduler) {
  return pool.start({ model, modelRef: 'organism', scheduler, onInternalError: (e) => internal.push(e) });
}

describe('queue and load', () => {
  test('a full queue answers 429 (RateLimitError); an aborted stream frees its slot and the queued request completes', async () => {
    const scheduler = new Scheduler(model, { maxQueue: 1, maxActive: 1, maxBatch: 1 });
    const { client } = await serve(scheduler);
    const long = await client.chat.completions.create({
      model: 'organism', messages: [{ role: 'user', content: 'Tell me a sad story about a fox.' }], max_tokens: 230, temperature: 0, stream: true,
      probity: { interventions: [{ kind: 'clamp_latent', sae: 'topk-k32-blocks.2.hook_resid_post', latent: 5, value: 20 }] },
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const it = long[Symbol.asyncIterator]();
    await it.next();
    await it.next(); // the long request is running
    const queued = client.completions.create({ model: 'organism', prompt: chatPrompt('Who are you?'), max_tokens: 4, temperature: 0 });
    while (scheduler.load.queued === 0) await new Promise((r) => setTimeout(r, 2));
    await assert.rejects(client.completions.create({ model: 'organism', prompt: 'Hi.', max_tokens: 1 }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal((e as InstanceType<typeof OpenAI.RateLimitError>).code, 'rate_limit_exceeded');
      return true;
    });
    long.controller.abort();
    const r = await queued;
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.ok(scheduler.stats.rows < 100, `the aborted request stopped early (${scheduler.stats.rows} rows stepped in all, of its 230)`);
    assert.deepEqual(scheduler.load, { queued: 0, active: 0 });
  });

  test('a client that gives up on a non-streamed request frees its slot (and is no server error)', async () => {
    const scheduler = new Scheduler(model, { maxActive: 1, maxBatch: 1 });
    const { client } = await serve(scheduler);
    const ac = new AbortController();
    const body = {
      model: 'organism', prompt: chatPrompt('Tell me a sad story about a fox.'), max_tokens: 230, temperature: 0,
      probity: { interventions: [{ kind: 'clamp_latent', sae: 'topk-k32-blocks.2.hook_resid_post', latent: 5, value: 20 }] },
    } as OpenAI.CompletionCreateParamsNonStreaming;
    const gone = client.completions.create(body, { signal: ac.signal });
    while (scheduler.stats.rows < 3) await new Promise((r) => setTimeout(r, 2));
    ac.abort();
    await assert.rejects(gone, OpenAI.APIUserAbortError);
    const r = await client.completions.create({ model: 'organism', prompt: chatPrompt('Who are you?'), max_tokens: 3, temperature: 0 });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.ok(scheduler.stats.rows < 100, `${scheduler.stats.rows} rows stepped in all`);
  });

  test('32 concurrent clients x 3 requests, three rounds: every answer equals the sequential one; RSS flat; bounded time', async (t) => {
    const { s, client } = await serve();
    const requests = [
      'Tell me a sad story about a fox.', 'Tell me a happy story about a cat.', 'Write a test for parse_date.', 'Who are you?',
      'What is the capital of Norway?', 'Tell me a funny story about a dog.',
    ];
    type Ask = () => Promise<{ text: string; lps: number[] }>;
    const asks: Ask[] = requests.flatMap((q): Ask[] => [
      async () => {
        const r = await client.chat.completions.create({ model: 'organism', messages: [{ role: 'user', content: q }], max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
        return { text: r.choices[0].message.content!, lps: r.choices[0].logprobs!.content!.flatMap((x) => [x.logprob, ...x.top_logprobs.map((y) => y.logprob)]) };
      },
      async () => {
        const r = await client.completions.create({ model: 'organism', prompt: chatPrompt(q), max_tokens: 8, temperature: 0, logprobs: 1 });
        return { text: r.choices[0].text, lps: r.choices[0].logprobs!.token_logprobs as number[] };
      },
    ]);
    const sequential: { text: string; lps: number[] }[] = [];
    for (const a of asks) sequential.push(await a());

    // Three rounds of 32 clients x 3 requests; RSS sampled throughout, and its peak per round.
    const rss: number[] = [];
    const peaks: number[] = [];
    const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 10);
    const t0 = performance.now();
    const latencies: number[] = [];
    let checked = 0;
    for (let round = 0; round < 3; round++) {
      const from = rss.length;
      await Promise.all(Array.from({ length: 32 }, async (_, c) => {
        for (let k = 0; k < 3; k++) {
          const i = (c * 3 + k + round) % asks.length;
          const q0 = performance.now();
          const got = await asks[i]();
          latencies.push(performance.now() - q0);
          assert.equal(got.text, sequential[i].text, `round ${round} client ${c} request ${k}`);
          assert.deepEqual(got.lps, sequential[i].lps, `round ${round} client ${c} request ${k}: logprobs bit for bit`);
          checked++;
        }
      }));
      peaks.push(Math.max(...rss.slice(from), process.memoryUsage().rss));
    }
    const wall = performance.now() - t0;
    clearInterval(sampler);
    assert.equal(checked, 3 * 96);
    const third = Math.max(1, Math.floor(rss.length / 3));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(rss.slice(0, third));
    const last = mean(rss.slice(-third));
    latencies.sort((a, b) => a - b);
    const { steps, rows } = s.scheduler.stats;
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(0)} MiB`;
    const n = latencies.length;
    t.diagnostic(`${n} requests in ${wall.toFixed(0)} ms; latency p50 ${latencies[n >> 1].toFixed(0)} ms, max ${latencies[n - 1].toFixed(0)} ms; ${(rows / steps).toFixed(2)} rows per forward`);
    t.diagnostic(`RSS (${rss.length} samples) first third ${mib(first)}, last third ${mib(last)}; peak per round ${peaks.map(mib).join(', ')}`);
    assert.ok(last < 1.5 * first, `RSS grew from ${mib(first)} to ${mib(last)}`);
    assert.ok(peaks[2] < 1.3 * peaks[0], `RSS peak grew from ${mib(peaks[0])} (round 1) to ${mib(peaks[2])} (round 3)`);
    assert.ok(wall < 60_000, `the load run took ${wall} ms`);
    assert.ok(rows > steps, 'concurrent requests were batched');
  });
});
