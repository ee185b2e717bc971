// Random-weight checkpoints in every layout probity reads, loaded with loadModel and compared, logit for logit, with
// the float64 reference (reference.ts): GPT-2 (HF folder, with and without the "transformer." prefix), Llama (HF
// folder tied / untied, half-rotated RoPE, grouped-query attention) and Llama GGUF (interleaved RoPE).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gpt2Reference, llamaReference, maxAbsDiff } from './reference.js';
import { close, flat, gpt2Fixture, llamaFixture, llamaGgufFixture, load, logitsRow, prng, randomTokens, tempDir, VOCAB, type Fixture } from './tiny-models.js';

const dir = tempDir('ckpt');
const rand = prng(7);
const ROWS = [randomTokens(rand, 7), randomTokens(rand, 7), randomTokens(rand, 7)];

/** Runs the batch through the loaded model and the reference; returns the max abs difference over all logits. */
async function compare(label: string, fx: Fixture<unknown>, rows = ROWS): Promise<number> {
  const model = await load(fx.path);
  const { logits } = await model.forward(rows);
  assert.ok(logits);
  assert.deepEqual(logits.dims, [rows.length, rows[0].length, VOCAB]);
  let worst = 0;
  rows.forEach((r, b) => {
    worst = Math.max(worst, close(`${label} row ${b}`, logitsRow(logits, b), flat(fx.reference(r).logits)));
  });
  return worst;
}

describe('GPT-2 Hugging Face folder', () => {
  test('logits match the float64 reference (names with "transformer." prefix)', async () => {
    const fx = gpt2Fixture(join(dir, 'gpt2-prefixed'), { prefix: true });
    const model = await load(fx.path);
    assert.equal(model.spec.arch, 'gpt2');
    assert.equal(model.spec.normEps, 1e-3);
    assert.equal(model.spec.dMlp, 64);
    await compare('gpt2 (prefixed)', fx);
  });

  test('logits match the float64 reference (bare names, other weights, default-valued eps)', async () => {
    const fx = gpt2Fixture(join(dir, 'gpt2-bare'), { prefix: false, seed: 11, eps: 1e-5 });
    await compare('gpt2 (bare)', fx);
  });

  test('the reference is sensitive to what it checks: a wrong eps or GELU is detected', async () => {
    // Guards against a reference so loose that everything passes: perturbing its config must break agreement.
    const fx = gpt2Fixture(join(dir, 'gpt2-sens'), { seed: 5 });
    const model = await load(fx.path);
    const { logits } = await model.forward([ROWS[0]]);
    const wrongEps = flat(gpt2Reference({ ...fx.refConfig, eps: 1e-5 }, fx.weights, ROWS[0]).logits);
    const wrongAct = flat(gpt2Reference({ ...fx.refConfig, act: 'gelu' }, fx.weights, ROWS[0]).logits);
    assert.ok(maxAbsDiff(logitsRow(logits!, 0), wrongEps) > 1e-4, 'eps 1e-3 vs 1e-5 not detected');
    assert.ok(maxAbsDiff(logitsRow(logits!, 0), wrongAct) > 1e-4, 'gelu_new vs erf gelu not detected');
  });
});

describe('Llama Hugging Face folder (half-rotated RoPE, 4 heads over 2 kv heads)', () => {
  test('untied lm_head: logits match the float64 reference', async () => {
    const fx = llamaFixture(join(dir, 'llama-untied'), { tied: false });
    const model = await load(fx.path);
    assert.equal(model.spec.tied, false);
    assert.equal(model.spec.nKvHeads, 2);
    assert.equal(model.spec.rope?.layout, 'half');
    await compare('llama hf untied', fx);
  });

  test('tied embeddings: logits match the float64 reference', async () => {
    const fx = llamaFixture(join(dir, 'llama-tied'), { tied: true, seed: 3 });
    const model = await load(fx.path);
    assert.equal(model.spec.tied, true);
    await compare('llama hf tied', fx);
  });

  test('rope_theta is read from config.json (theta 50)', async () => {
    const fx = llamaFixture(join(dir, 'llama-theta'), { theta: 50, seed: 4 });
    await compare('llama hf theta=50', fx);
    // And the reference with the default theta would disagree: the test can see theta.
    const model = await load(fx.path);
    const { logits } = await model.forward([ROWS[0]]);
    const wrong = flat(llamaReference({ ...fx.refConfig, theta: 10000 }, fx.weights, ROWS[0]).logits);
    assert.ok(maxAbsDiff(logitsRow(logits!, 0), wrong) > 1e-4);
  });

  test('the reference tells RoPE layouts and kv-head assignments apart', async () => {
    const fx = llamaFixture(join(dir, 'llama-sens'), { seed: 9 });
    const model = await load(fx.path);
    const { logits } = await model.forward([ROWS[1]]);
    const interleaved = flat(llamaReference({ ...fx.refConfig, rope: 'interleaved' }, fx.weights, ROWS[1]).logits);
    assert.ok(maxAbsDiff(logitsRow(logits!, 0), interleaved) > 1e-4, 'RoPE layout not detected');
    // kv head j serving query heads {j, j+K, ...} (tiling instead of HF repeat_kv) must be detected too: emulate it by
    // permuting q heads [0,1,2,3] -> [0,2,1,3] in q_proj and o_proj's inputs, which keeps the model the same except
    // for which kv head each query head reads.
    const W = { ...fx.weights };
    const Dh = 4, D = 16;
    const perm = [0, 2, 1, 3];
    for (let l = 0; l < 2; l++) {
      const q = fx.weights[`model.layers.${l}.self_attn.q_proj.weight`];
      const o = fx.weights[`model.layers.${l}.self_attn.o_proj.weight`];
      const q2 = new Float32Array(q.length);
      const o2 = new Float32Array(o.length);
      perm.forEach((src, dst) => {
        q2.set(q.subarray(src * Dh * D, (src + 1) * Dh * D), dst * Dh * D);
        for (let r = 0; r < D; r++) for (let d = 0; d < Dh; d++) o2[r * 16 + dst * Dh + d] = o[r * 16 + src * Dh + d];
      });
      W[`model.layers.${l}.self_attn.q_proj.weight`] = q2;
      W[`model.layers.${l}.self_attn.o_proj.weight`] = o2;
    }
    const tiled = flat(llamaReference(fx.refConfig, W, ROWS[1]).logits);
    assert.ok(maxAbsDiff(logitsRow(logits!, 0), tiled) > 1e-4, 'kv-head assignment not detected');
  });
});

describe('Llama GGUF (interleaved RoPE)', () => {
  test('untied: logits match the interleaved-RoPE reference; theta and eps come from llama.* metadata', async () => {
    const fx = llamaGgufFixture(join(dir, 'llama-untied.gguf'), { tied: false, seed: 21 });
    const model = await load(fx.path);
    assert.equal(model.spec.rope?.layout, 'interleaved');
    assert.equal(model.spec.rope?.theta, 1000);
    assert.equal(model.spec.nKvHeads, 2);
    assert.equal(model.spec.tied, false);
    assert.equal(model.spec.vocab, VOCAB);
    await compare('llama gguf untied', fx);
  });

  test('tied (no output.weight): logits match the reference', async () => {
    const fx = llamaGgufFixture(join(dir, 'llama-tied.gguf'), { tied: true, seed: 22 });
    const model = await load(fx.path);
    assert.equal(model.spec.tied, true);
    await compare('llama gguf tied', fx);
  });

  test("an HF checkpoint converted with llama.cpp's q/k permutation gives the HF model's logits", async () => {
    const hf = llamaFixture(join(dir, 'llama-conv-hf'), { seed: 23, theta: 1000, eps: Math.fround(1e-3) });
    const gg = llamaGgufFixture(join(dir, 'llama-conv.gguf'), { seed: 23, theta: 1000, fromHf: true });
    const a = (await (await load(hf.path)).forward(ROWS)).logits!;
    const b = (await (await load(gg.path)).forward(ROWS)).logits!;
    close('hf vs converted gguf', a.data, b.data);
    await compare('converted gguf vs half-RoPE reference', gg);
  });
});
