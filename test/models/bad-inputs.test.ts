// Bad checkpoints and bad calls fail with a ProbityError whose code and message say what is wrong, before anything
// reaches onnxruntime.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NDArray } from '../../src/engine/ndarray.js';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import { gpt2Fixture, llamaFixture, llamaGgufFixture, load, N_CTX, prng, randomTokens, rejectsCode, tempDir, VOCAB } from './tiny-models.js';

const dir = tempDir('bad');
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);
const rand = prng(303);

describe('bad checkpoints', () => {
  test('config.json missing a field -> CONFIG_FIELD naming the field', async () => {
    const g = gpt2Fixture(fresh('gpt2-no-n_embd'), { edit: ({ config }) => delete config.n_embd });
    await rejectsCode(() => loadModel(g.path), 'CONFIG_FIELD', ['"n_embd"', 'missing']);
    const l = llamaFixture(fresh('llama-no-eps'), { edit: ({ config }) => delete config.rms_norm_eps });
    await rejectsCode(() => loadModel(l.path), 'CONFIG_FIELD', ['"rms_norm_eps"', 'missing']);
    const k = llamaFixture(fresh('llama-bad-kv'), { edit: ({ config }) => (config.num_key_value_heads = 3) });
    await rejectsCode(() => loadModel(k.path), 'CONFIG_FIELD', ['"num_key_value_heads"']);
  });

  test('a tensor with the wrong shape -> WEIGHT_SHAPE naming the tensor', async () => {
    // Same element count, transposed: only the shape check can catch it.
    const g = gpt2Fixture(fresh('gpt2-transposed'), { prefix: true, edit: ({ shapes }) => (shapes['transformer.h.1.attn.c_attn.weight'] = [48, 16]) });
    await rejectsCode(() => loadModel(g.path), 'WEIGHT_SHAPE', ['"transformer.h.1.attn.c_attn.weight"', '[48, 16]', '[16, 48]']);
    // k_proj written as if there were no grouped-query attention.
    const l = llamaFixture(fresh('llama-k-shape'), {
      edit: ({ weights, shapes }) => {
        weights['model.layers.1.self_attn.k_proj.weight'] = new Float32Array(16 * 16);
        shapes['model.layers.1.self_attn.k_proj.weight'] = [16, 16];
      },
    });
    await rejectsCode(() => loadModel(l.path), 'WEIGHT_SHAPE', ['"model.layers.1.self_attn.k_proj.weight"', '[8, 16]']);
    // Embedding rows disagree with vocab_size.
    const v = gpt2Fixture(fresh('gpt2-vocab'), { edit: ({ config }) => (config.vocab_size = VOCAB + 1) });
    await rejectsCode(() => loadModel(v.path), 'WEIGHT_SHAPE', ['"wte.weight"']);
  });

  test('a missing tensor -> WEIGHT_MISSING naming it', async () => {
    const g = gpt2Fixture(fresh('gpt2-missing'), { edit: ({ weights, shapes }) => (delete weights['h.1.mlp.c_fc.bias'], delete shapes['h.1.mlp.c_fc.bias']) });
    await rejectsCode(() => loadModel(g.path), 'WEIGHT_MISSING', ['h.1.mlp.c_fc.bias']);
    // Untied config without lm_head.weight.
    const l = llamaFixture(fresh('llama-no-head'), {
      tied: true,
      edit: ({ config }) => (config.tie_word_embeddings = false),
    });
    await rejectsCode(() => loadModel(l.path), 'WEIGHT_MISSING', ['lm_head.weight']);
  });

  test('a folder without tokenizer.json -> TOKENIZER_MISSING', async () => {
    const g = gpt2Fixture(fresh('gpt2-no-tok'), { tokenizer: false });
    await rejectsCode(() => loadModel(g.path), 'TOKENIZER_MISSING', ['tokenizer.json']);
    // No safetensors at all.
    const l = llamaFixture(fresh('llama-no-st'));
    rmSync(join(l.path, 'model.safetensors'));
    await rejectsCode(() => loadModel(l.path), 'MODEL_NOT_FOUND', ['safetensors']);
  });

  test('unsupported config values are refused by name', async () => {
    const l = llamaFixture(fresh('llama-rope-scaling'), { edit: ({ config }) => (config.rope_scaling = { rope_type: 'llama3', factor: 8 }) });
    await rejectsCode(() => loadModel(l.path), 'MODEL_UNSUPPORTED', ['rope_scaling']);
    const g = gpt2Fixture(fresh('gpt2-relu'), { edit: ({ config }) => (config.activation_function = 'relu') });
    await rejectsCode(() => loadModel(g.path), 'MODEL_UNSUPPORTED', ['"relu"']);
  });

  test('GGUF with a quantized tensor of a type probity does not read -> GGUF_UNSUPPORTED_TYPE naming the type and the tensor', async () => {
    // hidden 32 so that a row of attn_q is one whole IQ4_NL block (32 values in 18 bytes).
    const raw = Uint8Array.from({ length: 32 * 18 }, (_, i) => i % 251);
    const f = llamaGgufFixture(fresh('iq4nl.gguf'), { hidden: 32, raw: { name: 'blk.0.attn_q.weight', type: 'IQ4_NL', shape: [32, 32], raw } });
    await rejectsCode(() => loadModel(f.path), 'GGUF_UNSUPPORTED_TYPE', ['IQ4_NL', 'blk.0.attn_q.weight']);
  });

  test('GGUF: missing llama.* metadata -> CONFIG_FIELD naming the key; bad or missing tensors -> WEIGHT_SHAPE / WEIGHT_MISSING', async () => {
    const a = llamaGgufFixture(fresh('no-embd.gguf'), { editMetadata: (m) => delete m['llama.embedding_length'] });
    await rejectsCode(() => loadModel(a.path), 'CONFIG_FIELD', ['llama.embedding_length']);
    const b = llamaGgufFixture(fresh('no-eps.gguf'), { editMetadata: (m) => delete m['llama.attention.layer_norm_rms_epsilon'] });
    await rejectsCode(() => loadModel(b.path), 'CONFIG_FIELD', ['llama.attention.layer_norm_rms_epsilon']);
    const c = llamaGgufFixture(fresh('no-tok.gguf'), { editMetadata: (m) => delete m['tokenizer.ggml.model'] });
    await rejectsCode(() => loadModel(c.path), 'TOKENIZER_MISSING_FIELD', ['tokenizer.ggml.model']);
    const d = llamaGgufFixture(fresh('bad-ffn.gguf'), { raw: { name: 'blk.1.ffn_down.weight', type: 'F32', shape: [16, 23], raw: new Uint8Array(16 * 23 * 4) } });
    await rejectsCode(() => loadModel(d.path), 'WEIGHT_SHAPE', ['"blk.1.ffn_down.weight"', '[16, 23]', '[16, 24]']);
    const e = llamaGgufFixture(fresh('no-ffn.gguf'), { edit: ({ weights }) => delete weights['model.layers.1.mlp.down_proj.weight'] });
    await rejectsCode(() => loadModel(e.path), 'WEIGHT_MISSING', ['blk.1.ffn_down.weight']);
  });
});

describe('bad calls on a good model', () => {
  const fx = gpt2Fixture(fresh('gpt2-good'));
  const row = randomTokens(rand, 5);

  test('token ids outside the vocabulary -> TOKEN_RANGE', async () => {
    const m = await load(fx.path);
    for (const bad of [VOCAB, -1, 1.5, NaN, 1e9]) {
      await rejectsCode(() => m.forward([row, [...row.slice(0, 2), bad]]), 'TOKEN_RANGE', [`[0, ${VOCAB})`]);
    }
    await rejectsCode(() => generate(m, [[1, 2, VOCAB + 5]], { maxTokens: 2 }), 'TOKEN_RANGE', [String(VOCAB + 5)]);
    const { present } = await m.forward([row], { returnPresent: true });
    await rejectsCode(() => m.forward([[VOCAB]], { past: present }), 'TOKEN_RANGE');
  });

  test('empty, too long and mis-batched inputs', async () => {
    const m = await load(fx.path);
    await rejectsCode(() => m.forward([]), 'INPUT_EMPTY');
    await rejectsCode(() => m.forward([[], []]), 'INPUT_EMPTY');
    await rejectsCode(() => m.forward([randomTokens(rand, N_CTX + 1)]), 'INPUT_TOO_LONG', [String(N_CTX)]);
    const { present } = await m.forward([randomTokens(rand, N_CTX - 1)], { returnPresent: true });
    await rejectsCode(() => m.forward([[1, 2]], { past: present }), 'INPUT_TOO_LONG');
    await rejectsCode(() => m.forward([[1], [2]], { past: present }), 'INPUT_SHAPE');
    await rejectsCode(() => generate(m, [[1]], { maxTokens: -1 }), 'GENERATE_ARG');
  });

  test('intervention values of the wrong shape -> INTERVENTION_SHAPE or a feed error, never an ORT crash', async () => {
    const m = await load(fx.path);
    const h = 'blocks.0.hook_resid_post';
    await rejectsCode(() => m.forward([row], { interventions: { [h]: [{ kind: 'add', vector: NDArray.f32(new Float32Array(15), [15]) }] } }), 'INTERVENTION_SHAPE', [h]);
    await rejectsCode(() => m.forward([row], { interventions: { [h]: [{ kind: 'mean', mean: NDArray.f32(new Float32Array(17), [17]) }] } }), 'INTERVENTION_SHAPE', [h]);
    await rejectsCode(() => m.forward([row], { interventions: { [h]: [{ kind: 'clamp', direction: NDArray.f32(new Float32Array(3), [3]), value: 1 }] } }), 'INTERVENTION_SHAPE', [h]);
    await rejectsCode(() => m.forward([row], { interventions: { [h]: [{ kind: 'fn', fn: () => NDArray.f32(new Float32Array(16), [1, 1, 16]) }] } }), 'INTERVENTION_SHAPE', [h]);
    // A patch source from a run of another length or width.
    const src = (await m.forward([row, row], { cache: [h] })).cache[h];
    await rejectsCode(() => m.forward([row.slice(0, 3), row.slice(0, 3)], { interventions: { [h]: [{ kind: 'patch', source: src }] } }), 'FEED_SHAPE');
    await rejectsCode(() => m.forward([row, row], { interventions: { [h]: [{ kind: 'patch', source: NDArray.f32(new Float32Array(2 * 5 * 8), [2, 5, 8]) }] } }), 'FEED_SHAPE');
    // And the model still works afterwards.
    const ok = await m.forward([row]);
    assert.ok(ok.logits!.data.every(Number.isFinite));
  });
});
