// The generation queue on the organism: every request's tokens and logprobs equal generate() on that prompt alone,
// bit for bit, however the requests were batched; a full queue refuses; an abort frees the slot; close() drains.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import { logSoftmax } from '../../src/models/sampling.js';
import { QueueFullError, RequestAbortedError, Scheduler, type GenerationRequest } from '../../src/serve/scheduler.js';

let model: Model;
before(async () => {
  model = await loadModel('organism');
});

const PROMPTS = [
  'User: Tell me a sad story about a fox. Assistant:',
  'User: Tell me a happy story about a cat. Assistant:', // the same length as the first: they share batches
  'Q: What is the capital of Norway? A:',
  'User: Write a test for parse_date. Assistant:',
];

describe('Scheduler', () => {
  test('greedy and sampled requests, batched together, equal generate() on each prompt alone exactly', async () => {
    const s = new Scheduler(model, { maxBatch: 8 });
    const reqs: GenerationRequest[] = [];
    for (const p of PROMPTS) {
      const prompt = model.tokenizer.encode(p);
      reqs.push({ prompt, maxTokens: 12, temperature: 0, logprobs: 3 });
      reqs.push({ prompt, maxTokens: 12, temperature: 0.9, topP: 0.95, seed: 7, logprobs: 2 });
    }
    const got = await Promise.all(reqs.map((r) => s.submit(r)));
    // The first two prompts have equal lengths, so the 8 requests ran as fewer forward rows than 8 separate runs.
    assert.equal(model.tokenizer.encode(PROMPTS[0]).length, model.tokenizer.encode(PROMPTS[1]).length);
    assert.ok(s.stats.rows > s.stats.steps, `rows per forward ${s.stats.rows}/${s.stats.steps}: some batching happened`);
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i];
      const [want] = await generate(model, [r.prompt], { maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed, logprobs: r.logprobs });
      assert.deepEqual(got[i].tokens, want.tokens, `request ${i}: tokens`);
      assert.deepEqual(got[i].logprobs, want.logprobs, `request ${i}: logprobs bit for bit`);
      assert.equal(got[i].finishReason, want.finishReason);
    }
    await s.close();
  });

  test('echo: prompt logprobs equal a full forward over the prompt (first token null)', async () => {
    const s = new Scheduler(model);
    const prompt = model.tokenizer.encode(PROMPTS[2]);
    const g = await s.submit({ prompt, maxTokens: 0, echo: true, logprobs: 2 });
    assert.equal(g.tokens.length, 0);
    const { logits } = await model.forward([prompt]);
    const V = model.spec.vocab;
    assert.equal(g.promptLogprobs!.length, prompt.length);
    assert.equal(g.promptLogprobs![0], null);
    for (let t = 1; t < prompt.length; t++) {
      const lp = logSoftmax(logits!.data.subarray((t - 1) * V, t * V));
      assert.equal(g.promptLogprobs![t]!.logprob, lp[prompt[t]]);
      assert.equal(g.promptLogprobs![t]!.top.length, 2);
    }
  });

  test('a full queue refuses with QueueFullError; an aborted request frees its slot; the rest complete', async () => {
    const s = new Scheduler(model, { maxQueue: 2, maxActive: 1, maxBatch: 1 });
    const prompt = model.tokenizer.encode(PROMPTS[0]);
    const ac = new AbortController();
    const tokensSeen: number[] = [];
    const running = s.submit({ prompt, maxTokens: 200, temperature: 1, stop: [], signal: ac.signal, onToken: (t) => tokensSeen.push(t) });
    while (s.load.active === 0) await new Promise((r) => setTimeout(r, 1)); // the first request is running, not waiting
    const waiting = [s.submit({ prompt, maxTokens: 2, temperature: 0 }), s.submit({ prompt, maxTokens: 2, temperature: 0 })];
    await assert.rejects(s.submit({ prompt, maxTokens: 2 }), QueueFullError);
    while (tokensSeen.length < 3) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(running, RequestAbortedError);
    assert.ok(tokensSeen.length < 200, `aborted after ${tokensSeen.length} tokens`);
    const done = await Promise.all(waiting);
    assert.deepEqual(done.map((g) => g.tokens.length), [2, 2]);
    await s.close();
    await assert.rejects(s.submit({ prompt, maxTokens: 1 }), /shutting down/);
  });

  test('the context end stops a row with finish "length"; close() waits for work in flight', async () => {
    const s = new Scheduler(model);
    const prompt = model.tokenizer.encode(PROMPTS[0]);
    const g = s.submit({ prompt, maxTokens: model.spec.nCtx, temperature: 1, seed: 3, stop: [] });
    const closed = s.close();
    const r = await g;
    await closed;
    assert.equal(prompt.length + r.tokens.length, model.spec.nCtx, "prompt + completion fill the context exactly");
    assert.equal(r.finishReason, 'length');
  });
});
