// The OpenAI-compatible server on loopback, driven by the official `openai` npm client: chat and completions,
// streaming and not, logprobs, echo, n, stop, seed; greedy answers and logprobs against generate() / Model.forward on
// the same prompt; every bad request answers its 4xx in OpenAI's error shape and the server keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import { logSoftmax } from '../../src/models/sampling.js';
import { chatPrompt } from '../../src/organism/prompts.js';
import { startOpenAiServer } from '../../src/serve/openai/server.js';

let model: Model;
let server: Awaited<ReturnType<typeof startOpenAiServer>>;
let client: OpenAI;
const internal: unknown[] = [];

before(async () => {
  model = await loadModel('organism');
  server = await startOpenAiServer({ model, modelRef: 'organism', onInternalError: (e) => internal.push(e) });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await server.close();
  assert.deepEqual(internal, [], 'no request ended in a 5xx');
});

const REQUEST = 'Tell me a sad story about a fox.';
const V = () => model.spec.vocab;

async function reference(prompt: number[], maxTokens: number, o: { temperature?: number; seed?: number; logprobs?: number } = {}) {
  const [g] = await generate(model, [prompt], { maxTokens, temperature: o.temperature ?? 0, seed: o.seed, logprobs: o.logprobs ?? 0 });
  return { ...g, text: model.tokenizer.decode(g.tokens) };
}

describe('OpenAI API: answers', () => {
  test('GET /v1/models lists the organism with its context length and chat template', async () => {
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), ['organism']);
    const m = list.data[0] as unknown as { context_length: number; chat_template: { kind: string } };
    assert.equal(m.context_length, model.spec.nCtx);
    assert.equal(m.chat_template.kind, 'organism');
    assert.equal((await client.models.retrieve('organism')).id, 'organism');
  });

  test('chat, greedy: text, tokens and top_logprobs equal generate() on the organism\'s chat prompt, bit for bit', async () => {
    const r = await client.chat.completions.create({ model: 'organism', messages: [{ role: 'user', content: REQUEST }], max_tokens: 16, temperature: 0, logprobs: true, top_logprobs: 3 });
    const prompt = model.tokenizer.encode(chatPrompt(REQUEST));
    const want = await reference(prompt, 16, { logprobs: 3 });
    const c = r.choices[0];
    assert.equal(c.message.content, want.text);
    assert.equal(c.finish_reason, want.finishReason);
    assert.deepEqual(r.usage, { prompt_tokens: prompt.length, completion_tokens: want.tokens.length, total_tokens: prompt.length + want.tokens.length });
    const lps = c.logprobs!.content!;
    assert.equal(lps.length, want.tokens.length);
    lps.forEach((lp, k) => {
      assert.equal(lp.logprob, want.logprobs[k].logprob, `token ${k}: logprob`);
      assert.equal(lp.token, model.tokenizer.decode([want.tokens[k]]));
      assert.deepEqual(lp.top_logprobs.map((t) => t.logprob), want.logprobs[k].top.map((t) => t.logprob));
      assert.deepEqual(lp.top_logprobs.map((t) => t.token), want.logprobs[k].top.map((t) => model.tokenizer.decode([t.token])));
    });
  });

  test('chat streaming: the chunks concatenate to the non-streamed answer; usage comes last when asked for', async () => {
    const body = { model: 'organism', messages: [{ role: 'user' as const, content: REQUEST }], max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2 };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let role = '';
    const lps: number[] = [];
    let finish: string | null = null;
    let usage: unknown = undefined;
    for await (const ch of stream) {
      assert.equal(ch.object, 'chat.completion.chunk');
      if (ch.choices.length === 0) {
        usage = ch.usage;
        continue;
      }
      assert.equal(ch.usage, null, 'usage is null on every chunk but the last');
      const d = ch.choices[0].delta;
      if (d.role) role = d.role;
      text += d.content ?? '';
      for (const lp of ch.choices[0].logprobs?.content ?? []) lps.push(lp.logprob);
      finish = ch.choices[0].finish_reason ?? finish;
    }
    assert.equal(role, 'assistant');
    assert.equal(text, whole.choices[0].message.content);
    assert.deepEqual(lps, whole.choices[0].logprobs!.content!.map((x) => x.logprob));
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.deepEqual(usage, whole.usage);
  });

  test('completions, greedy: text and logprobs: N equal generate(); echo scores the prompt as one forward does (first token null)', async () => {
    const text = 'Q: What is the capital of Norway? A:';
    const prompt = model.tokenizer.encode(text);
    const r = await client.completions.create({ model: 'organism', prompt: text, max_tokens: 6, temperature: 0, logprobs: 2, echo: true });
    const want = await reference(prompt, 6, { logprobs: 2 });
    const c = r.choices[0];
    const lp = c.logprobs!;
    const echoed = model.tokenizer.decode(prompt);
    assert.equal(c.text, echoed + want.text);
    assert.equal(lp.tokens!.length, prompt.length + want.tokens.length);
    assert.equal(lp.token_logprobs![0], null);
    assert.equal(lp.top_logprobs![0], null);
    const { logits } = await model.forward([prompt]);
    for (let t = 1; t < prompt.length; t++) {
      const ls = logSoftmax(logits!.data.subarray((t - 1) * V(), t * V()));
      assert.equal(lp.token_logprobs![t], ls[prompt[t]], `prompt token ${t}`);
      assert.equal(Object.keys(lp.top_logprobs![t]!).length <= 2, true);
    }
    assert.deepEqual(lp.token_logprobs!.slice(prompt.length), want.logprobs.map((x) => x.logprob));
    // text_offset: each token starts where the ones before it end.
    let at = 0;
    lp.tokens!.forEach((tok, k) => {
      assert.equal(lp.text_offset![k], at);
      at += tok.length;
    });
    assert.equal(at, c.text.length);
  });

  test('completions: token-id prompts, several prompts x n (prompt-major order), seed + j per choice', async () => {
    const a = model.tokenizer.encode(chatPrompt(REQUEST));
    const b = model.tokenizer.encode('User: Write a test for parse_date. Assistant:');
    const r = await client.completions.create({ model: 'organism', prompt: [a, b], n: 2, max_tokens: 8, temperature: 1, seed: 11 });
    assert.equal(r.choices.length, 4);
    for (const [i, p] of [a, b].entries()) {
      for (let j = 0; j < 2; j++) {
        const want = await reference(p, 8, { temperature: 1, seed: 11 + j });
        assert.equal(r.choices[i * 2 + j].index, i * 2 + j);
        assert.equal(r.choices[i * 2 + j].text, want.text, `prompt ${i} choice ${j}`);
      }
    }
  });

  test('completions streaming: text chunks and finish_reason per choice, [DONE] handled by the client', async () => {
    const body = { model: 'organism', prompt: chatPrompt(REQUEST), max_tokens: 10, temperature: 0.8, seed: 3, n: 2 };
    const whole = await client.completions.create(body);
    const stream = await client.completions.create({ ...body, stream: true });
    const texts = ['', ''];
    const finish: (string | null)[] = [null, null];
    for await (const ch of stream) {
      for (const c of ch.choices) {
        texts[c.index] += c.text;
        if (c.finish_reason) finish[c.index] = c.finish_reason;
      }
    }
    assert.deepEqual(texts, whole.choices.map((c) => c.text));
    assert.deepEqual(finish, whole.choices.map((c) => c.finish_reason));
  });

  test('completions streaming with echo: the prompt chunk first, then the tokens; logprobs and offsets as not streamed', async () => {
    const body = { model: 'organism', prompt: 'Q: What is the capital of Norway? A:', max_tokens: 5, temperature: 0, logprobs: 2, echo: true };
    const whole = (await client.completions.create(body)).choices[0];
    const stream = await client.completions.create({ ...body, stream: true });
    let text = '';
    const lps: (number | null)[] = [];
    const offsets: number[] = [];
    for await (const ch of stream) {
      const c = ch.choices[0];
      text += c.text;
      lps.push(...(c.logprobs?.token_logprobs ?? []));
      offsets.push(...(c.logprobs?.text_offset ?? []));
    }
    assert.equal(text, whole.text);
    assert.deepEqual(lps, whole.logprobs!.token_logprobs);
    assert.deepEqual(offsets, whole.logprobs!.text_offset);
  });

  test('stop strings: the text ends just before the first stop string, finish_reason "stop"; also when streamed', async () => {
    const prompt = chatPrompt(REQUEST);
    const full = (await client.completions.create({ model: 'organism', prompt, max_tokens: 30, temperature: 0 })).choices[0].text;
    const cut = full.indexOf(',');
    assert.ok(cut > 0, `the greedy story has a comma: ${JSON.stringify(full)}`);
    const r = await client.completions.create({ model: 'organism', prompt, max_tokens: 30, temperature: 0, stop: [',', 'zzz'] });
    assert.equal(r.choices[0].text, full.slice(0, cut));
    assert.equal(r.choices[0].finish_reason, 'stop');
    // A multi-token stop string held back across chunks.
    const word = full.slice(full.indexOf(' time'), full.indexOf(' time') + 9); // " time, th"
    const s = await client.chat.completions.create({ model: 'organism', messages: [{ role: 'user', content: REQUEST }], max_tokens: 30, temperature: 0, stop: word, stream: true });
    let text = '';
    let finish = null;
    for await (const ch of s) {
      text += ch.choices[0]?.delta.content ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, full.slice(0, full.indexOf(word)));
    assert.equal(finish, 'stop');
  });

  test('seed: identical sampled requests agree; another seed differs', async () => {
    const body = { model: 'organism', messages: [{ role: 'user' as const, content: REQUEST }], max_tokens: 24, temperature: 1.2, seed: 42 };
    const [x, y, z] = await Promise.all([client.chat.completions.create(body), client.chat.completions.create(body), client.chat.completions.create({ ...body, seed: 43 })]);
    assert.equal(x.choices[0].message.content, y.choices[0].message.content);
    assert.notEqual(x.choices[0].message.content, z.choices[0].message.content);
  });
});

describe('OpenAI API: bad requests answer 4xx and the server keeps serving', () => {
  const post = async (path: string, body: string | object) => {
    const r = await fetch(`${server.url}/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } };
  };
  const chat = (extra: object) => ({ model: 'organism', messages: [{ role: 'user', content: 'Hi.' }], max_tokens: 2, ...extra });
  const cmpl = (extra: object) => ({ model: 'organism', prompt: 'Hi.', max_tokens: 2, ...extra });
  const long = Array.from({ length: 300 }, () => 5);
  const CASES: [string, string, string | object, number, string | null, string | null][] = [
    ['malformed JSON', '/chat/completions', '{"model": "organism", ', 400, null, 'invalid_json'],
    ['a JSON array body', '/completions', '[1, 2]', 400, null, 'invalid_json'],
    ['unknown model', '/chat/completions', chat({ model: 'gpt-9' }), 404, 'model', 'model_not_found'],
    ['missing model', '/completions', { prompt: 'Hi.' }, 400, 'model', 'missing_required_parameter'],
    ['prompt over the context', '/completions', cmpl({ prompt: long }), 400, 'prompt', 'context_length_exceeded'],
    ['prompt + max_tokens over the context', '/completions', cmpl({ prompt: long.slice(0, 250), max_tokens: 10 }), 400, 'prompt', 'context_length_exceeded'],
    ['chat over the context', '/chat/completions', chat({ messages: [{ role: 'user', content: 'a story '.repeat(200) }], max_tokens: undefined }), 400, 'messages', 'context_length_exceeded'],
    ['temperature as a string', '/chat/completions', chat({ temperature: 'hot' }), 400, 'temperature', 'invalid_type'],
    ['temperature above 2', '/completions', cmpl({ temperature: 2.5 }), 400, 'temperature', 'invalid_value'],
    ['top_p above 1', '/chat/completions', chat({ top_p: 1.5 }), 400, 'top_p', 'invalid_value'],
    ['n = 0', '/completions', cmpl({ n: 0 }), 400, 'n', 'invalid_value'],
    ['n not an integer', '/chat/completions', chat({ n: 1.5 }), 400, 'n', 'invalid_type'],
    ['max_tokens negative', '/completions', cmpl({ max_tokens: -1 }), 400, 'max_tokens', 'invalid_value'],
    ['max_tokens as a string', '/chat/completions', chat({ max_tokens: '10' }), 400, 'max_tokens', 'invalid_type'],
    ['completions logprobs over 20', '/completions', cmpl({ logprobs: 21 }), 400, 'logprobs', 'invalid_value'],
    ['chat logprobs not a boolean', '/chat/completions', chat({ logprobs: 3 }), 400, 'logprobs', 'invalid_type'],
    ['top_logprobs without logprobs', '/chat/completions', chat({ top_logprobs: 2 }), 400, 'top_logprobs', 'invalid_value'],
    ['token id outside the vocabulary', '/completions', cmpl({ prompt: [1, 99999] }), 400, 'prompt[1]', 'invalid_value'],
    ['a system message for the organism', '/chat/completions', chat({ messages: [{ role: 'system', content: 'Be nice.' }, { role: 'user', content: 'Hi.' }] }), 400, 'messages[0]', 'invalid_value'],
    ['an unknown role', '/chat/completions', chat({ messages: [{ role: 'wizard', content: 'Hi.' }] }), 400, 'messages[0].role', 'invalid_value'],
    ['an unknown argument', '/completions', cmpl({ temprature: 0 }), 400, 'temprature', 'unknown_parameter'],
    ['stream_options without stream', '/chat/completions', chat({ stream_options: { include_usage: true } }), 400, 'stream_options', 'invalid_value'],
    ['an intervention at an unknown hook', '/completions', cmpl({ probity: { interventions: [{ hook: 'blocks.9.hook_resid_post', kind: 'zero' }] } }), 400, 'probity.interventions[0].hook', 'invalid_intervention'],
    ['an intervention latent out of range', '/chat/completions', chat({ probity: { interventions: [{ kind: 'clamp_latent', sae: 'topk-k32-blocks.2.hook_resid_post', latent: 5000, value: 1 }] } }), 400, 'probity.interventions[0].latent', 'invalid_intervention'],
    ['an intervention vector of the wrong width', '/completions', cmpl({ probity: { interventions: [{ hook: 'blocks.1.hook_resid_post', kind: 'add', direction: [1, 2, 3] }] } }), 400, 'probity.interventions[0].direction', 'invalid_intervention'],
    ['an intervention with an unknown SAE', '/completions', cmpl({ probity: { interventions: [{ kind: 'clamp_latent', sae: 'no-such-sae', latent: 1, value: 1 }] } }), 400, 'probity.interventions[0].sae', 'invalid_intervention'],
  ];
  for (const [what, path, body, status, param, code] of CASES) {
    test(`${what}: ${status} ${code}`, async () => {
      const r = await post(path, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.param, param, r.body.error.message);
      assert.equal(r.body.error.code, code, r.body.error.message);
      assert.equal(typeof r.body.error.message, 'string');
      assert.ok(r.body.error.type);
    });
  }

  test('the openai client raises its typed errors (NotFoundError, BadRequestError)', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'Hi.' }] }), OpenAI.NotFoundError);
    await assert.rejects(client.completions.create({ model: 'organism', prompt: 'Hi.', temperature: -1 }), OpenAI.BadRequestError);
  });

  test('a body over the limit answers 413; an unknown route 404; a wrong method 405', async () => {
    const big = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'organism', prompt: 'x'.repeat(5 * 2 ** 20) }) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'body_too_large');
    assert.equal((await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' })).status, 404);
    assert.equal((await fetch(`${server.url}/v1/completions`)).status, 405);
  });

  test('after all of them the server still answers', async () => {
    const r = await client.completions.create({ model: 'organism', prompt: chatPrompt(REQUEST), max_tokens: 4, temperature: 0 });
    assert.equal(r.choices[0].text, (await reference(model.tokenizer.encode(chatPrompt(REQUEST)), 4)).text);
  });
});
