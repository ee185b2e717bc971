// Ragged batches (left padding), the KV cache, and generation (greedy, seeded sampling, top-k, logprobs) on tiny
// random-weight checkpoints, each checked against full forwards of single rows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NDArray } from '../../src/engine/ndarray.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import type { InterventionMap } from '../../src/models/hooks/interventions.js';
import { logSoftmaxRef, maxAbsDiff } from './reference.js';
import { close, flat, gpt2Fixture, llamaFixture, llamaGgufFixture, load, logitsRow, prng, randomArray, randomTokens, tempDir, type Fixture } from './tiny-models.js';

const dir = tempDir('batching');
const rand = prng(202);

const FIXTURES: [string, () => Fixture<unknown>][] = [
  ['gpt2', () => gpt2Fixture(join(dir, 'gpt2'), { seed: 41 })],
  ['llama-hf', () => llamaFixture(join(dir, 'llama'), { seed: 42 })],
  ['llama-gguf', () => llamaGgufFixture(join(dir, 'llama.gguf'), { seed: 43, tied: true })],
];

/** Logits [V] of the last position of `seq` run alone, with no cache. */
async function lastLogits(m: Model, seq: number[], interventions?: InterventionMap): Promise<Float32Array> {
  const { logits } = await m.forward([seq], { interventions });
  const V = m.spec.vocab;
  return logits!.data.slice((seq.length - 1) * V, seq.length * V);
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

for (const [arch, make] of FIXTURES) {
  describe(`batching and generation on tiny ${arch}`, () => {
    const fx = make();
    const rows = [7, 4, 1, 5].map((n) => randomTokens(rand, n));

    test('ragged rows are left-padded: each row\'s logits at its real positions equal the row run alone', async () => {
      const m = await load(fx.path);
      const r = await m.forward(rows);
      const T = 7;
      assert.deepEqual([...r.logits!.dims], [rows.length, T, m.spec.vocab]);
      assert.deepEqual(Array.from(r.mask.data as Uint8Array), rows.flatMap((row) => Array.from({ length: T }, (_, t) => (t >= T - row.length ? 1 : 0))));
      for (const [b, row] of rows.entries()) {
        const alone = (await m.forward([row])).logits!;
        close(`${arch} ragged row ${b} (len ${row.length}) vs alone`, logitsRow(r.logits!, b, T - row.length), logitsRow(alone, 0));
        close(`${arch} ragged row ${b} vs reference`, logitsRow(r.logits!, b, T - row.length), flat(fx.reference(row).logits));
      }
    });

    test("logits: 'last' is the last column of 'all'", async () => {
      const m = await load(fx.path);
      const all = (await m.forward(rows)).logits!;
      const last = (await m.forward(rows, { logits: 'last' })).logits!;
      assert.deepEqual([...last.dims], [rows.length, 1, m.spec.vocab]);
      rows.forEach((_, b) => close(`${arch} last vs all row ${b}`, logitsRow(last, b), logitsRow(all, b, 6), 1e-6));
    });

    test('KV cache: stepping with past gives the full forward\'s logits at every step (ragged batch)', async () => {
      const m = await load(fx.path);
      const prompts = [randomTokens(rand, 5), randomTokens(rand, 2)];
      const steps = [randomTokens(rand, 4), randomTokens(rand, 4)];
      let r = await m.forward(prompts, { returnPresent: true });
      assert.ok(r.present);
      assert.equal(r.present.length, 5);
      assert.deepEqual([...r.present.k[0].dims], [2, m.spec.nKvHeads, 5, m.spec.dHead]);
      let worst = 0;
      for (let s = 0; s < 4; s++) {
        r = await m.forward([[steps[0][s]], [steps[1][s]]], { past: r.present, returnPresent: true });
        for (let b = 0; b < 2; b++) {
          const seq = [...prompts[b], ...steps[b].slice(0, s + 1)];
          worst = Math.max(worst, maxAbsDiff(logitsRow(r.logits!, b), await lastLogits(m, seq)));
        }
      }
      console.log(`# ${arch} KV-cache steps vs full forward: max |diff| = ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-5, `max diff ${worst}`);
      // A multi-token continuation through the cache works as well.
      const two = await m.forward([prompts[0]], { returnPresent: true });
      const cont = await m.forward([steps[0]], { past: two.present });
      close(`${arch} 4-token continuation with past`, logitsRow(cont.logits!, 0), logitsRow((await m.forward([[...prompts[0], ...steps[0]]])).logits!, 0, 5));
    });

    test('generate with temperature 0 equals argmax of full forwards, step by step (ragged prompts)', async () => {
      const m = await load(fx.path);
      const prompts = [randomTokens(rand, 3), randomTokens(rand, 6)];
      const gens = await generate(m, prompts, { maxTokens: 6, temperature: 0, stop: [], logprobs: 2 });
      for (const [b, g] of gens.entries()) {
        assert.equal(g.finishReason, 'length');
        assert.equal(g.tokens.length, 6);
        const seq = [...prompts[b]];
        for (const [i, tok] of g.tokens.entries()) {
          const logits = await lastLogits(m, seq);
          assert.equal(tok, argmax(logits), `row ${b} step ${i}`);
          const lp = logSoftmaxRef(logits);
          assert.ok(Math.abs(g.logprobs[i].logprob - lp[tok]) < 1e-5);
          assert.equal(g.logprobs[i].top[0].token, tok);
          seq.push(tok);
        }
      }
    });

    test('a stop token ends a row early and is not returned', async () => {
      const m = await load(fx.path);
      const prompt = randomTokens(rand, 4);
      const [free] = await generate(m, [prompt], { maxTokens: 5, temperature: 0, stop: [] });
      const [stopped] = await generate(m, [prompt], { maxTokens: 5, temperature: 0, stop: [free.tokens[2]] });
      const cut = free.tokens.indexOf(free.tokens[2]);
      assert.deepEqual(stopped.tokens, free.tokens.slice(0, cut));
      assert.equal(stopped.finishReason, 'stop');
    });

    test('seeded sampling is reproducible, different seeds differ, top-k 1 is greedy', async () => {
      const m = await load(fx.path);
      const prompts = [randomTokens(rand, 3), randomTokens(rand, 5)];
      const opts = { maxTokens: 12, temperature: 1, stop: [] as number[] };
      const a = await generate(m, prompts, { ...opts, seed: 1 });
      const b = await generate(m, prompts, { ...opts, seed: 1 });
      const c = await generate(m, prompts, { ...opts, seed: 2 });
      assert.deepEqual(a.map((g) => g.tokens), b.map((g) => g.tokens));
      assert.notDeepEqual(a.map((g) => g.tokens), c.map((g) => g.tokens));
      const greedy = await generate(m, prompts, { maxTokens: 8, temperature: 0, stop: [] });
      for (const temperature of [1, 0.7, 3]) {
        const k1 = await generate(m, prompts, { maxTokens: 8, temperature, topK: 1, seed: 9, stop: [] });
        assert.deepEqual(k1.map((g) => g.tokens), greedy.map((g) => g.tokens), `temperature ${temperature}`);
      }
    });

    test('logprobs of sampled tokens (and the top alternatives) equal log-softmax of full-forward logits', async () => {
      const m = await load(fx.path);
      const prompts = [randomTokens(rand, 2), randomTokens(rand, 4)];
      const gens = await generate(m, prompts, { maxTokens: 6, temperature: 1.3, topP: 0.9, seed: 5, stop: [], logprobs: 3 });
      let worst = 0;
      for (const [b, g] of gens.entries()) {
        const seq = [...prompts[b]];
        for (const [i, tok] of g.tokens.entries()) {
          const lp = logSoftmaxRef(await lastLogits(m, seq));
          assert.equal(g.logprobs[i].token, tok);
          worst = Math.max(worst, Math.abs(g.logprobs[i].logprob - lp[tok]));
          const order = Array.from(lp.keys()).sort((x, y) => lp[y] - lp[x]).slice(0, 3);
          assert.deepEqual(g.logprobs[i].top.map((t) => t.token), order);
          g.logprobs[i].top.forEach((t) => (worst = Math.max(worst, Math.abs(t.logprob - lp[t.token]))));
          seq.push(tok);
        }
      }
      console.log(`# ${arch} generation logprobs vs full forward: max |diff| = ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-5, `max diff ${worst}`);
    });

    test('interventions stay active at every generation step (graph-level and fn)', async () => {
      const m = await load(fx.path);
      const D = m.spec.dModel;
      const v = randomArray(D, prng(77), 2);
      const prompts = [randomTokens(rand, 3), randomTokens(rand, 5)];
      const cases: [string, InterventionMap][] = [
        ['add', { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: NDArray.f32(v, [D]) }] }],
        ['fn', { 'blocks.1.hook_resid_pre': [{ kind: 'fn', fn: (x) => new NDArray(Float32Array.from(x.data as Float32Array, (y, i) => y - v[i % D]), x.dims) }] }],
      ];
      for (const [label, ivs] of cases) {
        const gens = await generate(m, prompts, { maxTokens: 5, temperature: 0, stop: [], interventions: ivs });
        const plain = await generate(m, prompts, { maxTokens: 5, temperature: 0, stop: [] });
        assert.notDeepEqual(gens.map((g) => g.tokens), plain.map((g) => g.tokens), `${label}: intervention had no effect`);
        for (const [b, g] of gens.entries()) {
          const seq = [...prompts[b]];
          for (const [i, tok] of g.tokens.entries()) {
            const logits = await lastLogits(m, seq, ivs);
            assert.equal(tok, argmax(logits), `${label} row ${b} step ${i}`);
            assert.ok(Math.abs(g.logprobs[i].logprob - logSoftmaxRef(logits)[tok]) < 1e-5, `${label} logprob row ${b} step ${i}`);
            seq.push(tok);
          }
        }
      }
    });
  });
}
