// The simulated logprob distortions (test aids), each on its own server, against the true logprobs computed here
// from generate() / Model.forward: the grid on differences from the top, rounding before normalisation, the
// top_logprobs cap, fresh noise per request; sampling never changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import { logSoftmax } from '../../src/models/sampling.js';
import { chatPrompt } from '../../src/organism/prompts.js';
import type { Distortions } from '../../src/serve/openai/server.js';
import { serverPool } from './harness.js';

const REQUEST = 'Tell me a happy story about a cat.';
const G = 1 / 16;
let model: Model;
const pool = serverPool();

before(async () => {
  model = await loadModel('organism');
});
after(async () => {
  await pool.closeAll();
});

async function serve(distortions: Distortions): Promise<OpenAI> {
  return (await pool.start({ model, modelRef: 'organism', distortions })).client;
}

const chat = (c: OpenAI, extra: object = {}) =>
  c.chat.completions.create({ model: 'organism', messages: [{ role: 'user', content: REQUEST }], max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 5, ...extra });

describe('logprob distortions', () => {
  test('--logprob-grid: top + g*round((lp - top)/g) of the true logprobs; the top itself is untouched', async () => {
    const r = await chat(await serve({ logprobGrid: G }));
    const prompt = model.tokenizer.encode(chatPrompt(REQUEST));
    const [want] = await generate(model, [prompt], { maxTokens: 10, temperature: 0, logprobs: 5 });
    let offGrid = 0;
    r.choices[0].logprobs!.content!.forEach((lp, k) => {
      const top = want.logprobs[k].top[0].logprob;
      const snap = (x: number) => top + G * Math.round((x - top) / G);
      assert.equal(lp.logprob, snap(want.logprobs[k].logprob));
      assert.deepEqual(lp.top_logprobs.map((t) => t.logprob), want.logprobs[k].top.map((t) => snap(t.logprob)));
      assert.equal(lp.top_logprobs[0].logprob, top);
      for (const t of lp.top_logprobs) if (Math.abs(t.logprob / G - Math.round(t.logprob / G)) > 1e-6) offGrid++;
    });
    assert.ok(offGrid > 0, 'raw values are not on the grid, only differences from the top');
  });

  test('--round-before-normalise: exact logprobs of the rounded logits; the returned top-k never sums past 1', async () => {
    const r = await chat(await serve({ logprobGrid: G, roundBeforeNormalise: true }), { max_tokens: 6 });
    const c = r.choices[0];
    const ids = [...model.tokenizer.encode(chatPrompt(REQUEST))];
    const V = model.spec.vocab;
    const [g] = await generate(model, [ids], { maxTokens: 6, temperature: 0 });
    for (const [k, lp] of c.logprobs!.content!.entries()) {
      const { logits } = await model.forward([ids], { logits: 'last', returnPresent: true });
      const rounded = logSoftmax(Array.from(logits!.data.subarray(0, V), (x) => G * Math.round(x / G)));
      assert.ok(Math.abs(lp.logprob - rounded[g.tokens[k]]) < 1e-9);
      assert.ok(lp.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0) <= 1 + 1e-12);
      for (const t of lp.top_logprobs) {
        const q = (t.logprob - lp.top_logprobs[0].logprob) / G;
        assert.ok(Math.abs(q - Math.round(q)) < 1e-6, 'differences from the top stay on the grid');
      }
      ids.push(g.tokens[k]);
    }
  });

  test('--top-logprobs-cap 8: 20 asked, 8 returned (chat and completions); fewer asked, as many returned', async () => {
    const c = await serve({ topLogprobsCap: 8 });
    const r = await chat(c, { top_logprobs: 20, max_tokens: 3 });
    for (const lp of r.choices[0].logprobs!.content!) assert.equal(lp.top_logprobs.length, 8);
    const x = await c.completions.create({ model: 'organism', prompt: chatPrompt(REQUEST), max_tokens: 3, temperature: 0, logprobs: 12 });
    for (const d of x.choices[0].logprobs!.top_logprobs!) assert.equal(Object.keys(d!).length, 8);
    const y = await chat(c, { top_logprobs: 3, max_tokens: 3 });
    for (const lp of y.choices[0].logprobs!.content!) assert.equal(lp.top_logprobs.length, 3);
  });

  test('--logprob-noise 0.01: identical seeded requests differ in logprobs (sd ~0.01), not in tokens; none without it', async () => {
    const noisy = await serve({ logprobNoise: 0.01 });
    const plain = await serve({});
    const body = { temperature: 1, seed: 9, max_tokens: 16 };
    const [a, b, p, q] = await Promise.all([chat(noisy, body), chat(noisy, body), chat(plain, body), chat(plain, body)]);
    const lps = (r: typeof a) => r.choices[0].logprobs!.content!;
    assert.equal(a.choices[0].message.content, p.choices[0].message.content, 'sampling is unchanged');
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.deepEqual(lps(p), lps(q), 'no distortion: identical requests, identical logprobs');
    const d = lps(a).flatMap((x, k) => x.top_logprobs.map((t, i) => t.logprob - lps(b)[k].top_logprobs[i].logprob));
    const sd = Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length) / Math.SQRT2;
    assert.ok(sd > 0.005 && sd < 0.02, `noise sd ${sd}`);
    lps(a).forEach((x) => {
      const own = x.top_logprobs.find((t) => t.token === x.token);
      if (own) assert.equal(own.logprob, x.logprob, 'a token and its top_logprobs entry carry the same noise');
    });
  });
});
