// Qwen2, Qwen3, Mistral, GPT-NeoX (parallel and sequential residual), Gemma-2, Gemma-3 (text-only and multimodal
// layout) from tiny random-weight Hugging Face folders, against the independent float64 reference (reference.ts):
// logits over ragged (left-padded) rows longer than the sliding window, every hook's value, an `add` intervention,
// and greedy generation through the KV cache. Windows are short and soft-caps small, so each feature can fail.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NDArray } from '../../src/engine/ndarray.js';
import { BuildContext } from '../../src/models/common/context.js';
import { buildForward } from '../../src/models/forward.js';
import { hfConfigFromJson } from '../../src/models/loaders/hf-config.js';
import { generate } from '../../src/models/generate.js';
import { hfSpec } from '../../src/models/load.js';
import { maxAbsDiff, type RefHook, type RefResult } from './reference.js';
import { close, familyFixture, FAMILY_NAMES, flat, load, logitsRow, prng, randomArray, randomTokens, rejectsCode, rowSlice, tempDir, WINDOW } from './tiny-models.js';

const dir = tempDir('families');
const rand = prng(202);
// Ragged rows (left padding) longer than the window: positions past WINDOW see only part of the past.
const ROWS = [randomTokens(rand, 11), randomTokens(rand, 8)];
const TOL = 1e-4;

function argmax(r: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < r.length; i++) if (r[i] > r[best]) best = i;
  return best;
}

/** Model [B, T, V] logits of row b (right-aligned: left padding) vs the reference logits of that row. */
function rowLogits(logits: { data: Float32Array; dims: readonly number[] }, b: number): Float64Array {
  return logitsRow(logits, b, logits.dims[1] - ROWS[b].length);
}

for (const family of FAMILY_NAMES) {
  describe(`family ${family}`, () => {
    const fx = familyFixture(join(dir, family), family);
    const refs = ROWS.map((r) => fx.reference(r));

    test('logits equal the float64 reference (ragged batch, beyond the window)', async () => {
      const m = await load(fx.path);
      const r = await m.forward(ROWS, {});
      ROWS.forEach((_, b) => close(`${family} logits row ${b}`, rowLogits(r.logits!, b), flat(refs[b].logits), TOL));
    });

    test('every declared hook is fired once by the builder, in order, and equals the reference', async () => {
      const m = await load(fx.path);
      const ctx = new BuildContext(m.spec, m.weights, { withPast: false, logits: 'all', cache: new Set(), interventions: {}, cutInputs: new Set() });
      buildForward(ctx);
      assert.deepEqual(ctx.seen, [...m.hookNames]);
      const r = await m.runWithCache(ROWS, { names: m.hookNames, logits: 'none' });
      let worst = 0;
      for (const name of m.hookNames) {
        const got = r.cache[name];
        ROWS.forEach((row, b) => {
          const ref = refs[b].acts.get(name);
          assert.ok(ref, `reference has no ${name}`);
          const attn = /attn\.hook_(attn_scores|pattern)$/.test(name);
          const pad = got.dims[attn ? 2 : 1] - row.length;
          let mine: Float64Array;
          let want = ref.data.slice();
          if (attn) {
            // [B, H, T, S]: take this row's real queries and keys; masked scores are -inf vs a large negative.
            const [, H, T, S] = got.dims;
            mine = new Float64Array(want.length);
            const n = row.length;
            for (let h = 0; h < H; h++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
              mine[(h * n + i) * n + j] = (got.data as Float32Array)[((b * H + h) * T + pad + i) * S + pad + j];
            }
            if (name.endsWith('scores')) {
              mine.forEach((v, i) => {
                if (!Number.isFinite(want[i])) {
                  assert.ok(v < -1e8, `${name}: masked score ${v}`);
                  mine[i] = want[i] = 0;
                }
              });
            }
          } else mine = rowSlice(got.data as Float32Array, got.dims, b, pad);
          const d = maxAbsDiff(mine, want);
          assert.ok(d <= TOL, `${name} row ${b}: max diff ${d}`);
          worst = Math.max(worst, d);
        });
      }
      console.log(`# ${family}: all ${m.hookNames.length} hooks vs reference: max |diff| = ${worst.toExponential(2)}`);
    });

    test('add at a resid hook changes logits exactly as the reference with the same addition', async () => {
      const m = await load(fx.path);
      const D = m.spec.dModel;
      const vec = randomArray(D, prng(7), 1);
      const hook = `blocks.${m.spec.nLayers - 2}.hook_resid_post`;
      const r = await m.forward(ROWS, { interventions: { [hook]: [{ kind: 'add', vector: NDArray.f32(vec, [D]), scale: 1.5 }] } });
      const refHook: RefHook = (name, x) => {
        if (name === hook) for (let i = 0; i < x.length; i++) x[i] += 1.5 * vec[i % D];
      };
      ROWS.forEach((row, b) => {
        const want = flat(fx.reference(row, refHook).logits);
        close(`${family} add at ${hook} row ${b}`, rowLogits(r.logits!, b), want, TOL);
        assert.ok(maxAbsDiff(want, flat(refs[b].logits)) > 1e-2, 'the addition changed the reference logits');
      });
    });

    test('a TypeScript fn at attn.hook_z (the graph cut there and resumed) matches the reference', async () => {
      const m = await load(fx.path);
      const hook = 'blocks.1.attn.hook_z';
      const r = await m.forward(ROWS, {
        interventions: { [hook]: [{ kind: 'fn', fn: (x) => new NDArray(Float32Array.from(x.data as Float32Array, (v) => 0.5 * v), [...x.dims]) }] },
      });
      const refHook: RefHook = (name, x) => {
        if (name === hook) for (let i = 0; i < x.length; i++) x[i] *= 0.5;
      };
      ROWS.forEach((row, b) => close(`${family} fn at ${hook} row ${b}`, rowLogits(r.logits!, b), flat(fx.reference(row, refHook).logits), TOL));
    });

    test('greedy generation (KV cache) matches greedy decoding of the reference', async () => {
      const m = await load(fx.path);
      const steps = 6;
      const gens = await generate(m, ROWS.map((r) => [...r]), { maxTokens: steps, temperature: 0, stop: [] });
      ROWS.forEach((row, b) => {
        const seq = [...row];
        for (let s = 0; s < steps; s++) {
          const ref: RefResult = fx.reference(seq);
          seq.push(argmax(ref.logits[ref.logits.length - 1]));
        }
        assert.deepEqual(gens[b].tokens, seq.slice(row.length), `${family} row ${b}`);
      });
    });
  });
}

describe('families: the features are load-bearing (the reference without them disagrees)', () => {
  test('sliding windows, soft-caps, partial rotary, q/k norm each change the reference logits', async () => {
    // Each feature is checked by editing the checkpoint's config and comparing the two models' logits.
    const pairs: [string, (typeof FAMILY_NAMES)[number], (c: Record<string, unknown>) => void][] = [
      ['mistral sliding_window', 'mistral', (c) => (c.sliding_window = null)],
      ['qwen2 use_sliding_window', 'qwen2', (c) => (c.use_sliding_window = false)],
      ['gemma2 attn_logit_softcapping', 'gemma2', (c) => (c.attn_logit_softcapping = 1000)],
      ['gemma2 final_logit_softcapping', 'gemma2', (c) => (c.final_logit_softcapping = 1000)],
      ['gemma2 sliding_window', 'gemma2', (c) => (c.sliding_window = 64)],
      ['gemma3 rope_local_base_freq', 'gemma3', (c) => (c.rope_local_base_freq = 1000000)],
      ['gemma3 rope_scaling', 'gemma3', (c) => (c.rope_scaling = null)],
      ['gemma3 query_pre_attn_scalar', 'gemma3', (c) => (c.query_pre_attn_scalar = 8)],
      ['gpt_neox rotary_pct', 'gpt_neox', (c) => (c.rotary_pct = 1)],
    ];
    const { writeFileSync, readFileSync, cpSync } = await import('node:fs');
    for (const [label, family, edit] of pairs) {
      const base = join(dir, family);
      const copy = join(dir, `${family}-${label.replace(/\W+/g, '_')}`);
      cpSync(base, copy, { recursive: true });
      const cfgPath = join(copy, 'config.json');
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
      edit(cfg);
      writeFileSync(cfgPath, JSON.stringify(cfg));
      const a = await (await load(base)).forward(ROWS, {});
      const b = await (await load(copy)).forward(ROWS, {});
      const d = maxAbsDiff(a.logits!.data, b.logits!.data);
      console.log(`# without ${label}: logits move by ${d.toExponential(2)}`);
      assert.ok(d > 1e-3, `${label} does not change the logits (${d})`);
    }
  });

  test('an unknown model_type is refused, naming every supported one', async () => {
    const e = await rejectsCode(() => hfConfigFromJson({ model_type: 'mamba' }, 'x/config.json'), 'CONFIG_UNSUPPORTED_ARCH', ['x/config.json', '"mamba"']);
    for (const t of ['llama', 'gpt2', 'qwen2', 'qwen3', 'mistral', 'gpt_neox', 'gemma2', 'gemma3']) assert.ok(e.message.includes(`"${t}"`), t);
  });

  test('spec per family', async () => {
    const s = async (f: (typeof FAMILY_NAMES)[number]) => (await load(join(dir, f))).spec;
    assert.deepEqual((await s('qwen2')).windows, [null, WINDOW]);
    assert.deepEqual((await s('qwen2')).bias, { qkv: true, o: false });
    assert.equal((await s('qwen3')).dHead, 8);
    assert.equal((await s('qwen3')).qkNorm, true);
    assert.deepEqual((await s('mistral')).windows, [WINDOW, WINDOW]);
    assert.equal((await s('gpt_neox')).rope!.dim, 4);
    assert.equal((await s('gpt_neox')).parallelResidual, true);
    assert.deepEqual((await s('gemma2')).windows, [WINDOW, null]);
    assert.deepEqual((await s('gemma3')).windows, [WINDOW, WINDOW, null]);
    assert.deepEqual((await s('gemma3')).rope, { theta: 1000000, layout: 'half', scale: 8, localTheta: 100 });
    assert.equal((await s('gemma3_multimodal')).family, 'gemma3');
  });
});

describe('families: config.json readers', () => {
  const gemma2 = { model_type: 'gemma2', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 10 };
  test('Gemma-2 caps by default; an explicit null turns a cap off', () => {
    const on = hfSpec(hfConfigFromJson(gemma2));
    assert.equal(on.attnSoftcap, 50);
    assert.equal(on.finalSoftcap, 30);
    assert.deepEqual(on.windows, [4096, null, 4096, null]);
    const off = hfSpec(hfConfigFromJson({ ...gemma2, attn_logit_softcapping: null, final_logit_softcapping: null }));
    assert.equal(off.attnSoftcap, undefined);
    assert.equal(off.finalSoftcap, undefined);
  });

  test('Gemma-3: layer_types wins over the pattern; multimodal text_config falls back to Gemma3TextConfig defaults', () => {
    const types = ['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'];
    const s = hfSpec(hfConfigFromJson({ ...gemma2, model_type: 'gemma3_text', sliding_window: 3, layer_types: types }));
    assert.deepEqual(s.windows, [null, 3, 3, null]);
    const mm = hfSpec(hfConfigFromJson({ model_type: 'gemma3', text_config: { hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 6, rope_scaling: { rope_type: 'linear', factor: 8 } } }));
    assert.deepEqual([mm.nHeads, mm.nKvHeads, mm.dHead, mm.vocab], [8, 4, 256, 262208]);
    assert.deepEqual(mm.windows, [4096, 4096, 4096, 4096, 4096, null]);
    assert.deepEqual(mm.rope, { theta: 1000000, layout: 'half', scale: 8, localTheta: 10000 });
    assert.throws(() => hfConfigFromJson({ ...gemma2, model_type: 'gemma3_text', rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_type/);
  });

  test('Qwen: sliding windows only with use_sliding_window, from max_window_layers on', () => {
    const q = { model_type: 'qwen2', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 4, num_attention_heads: 2, vocab_size: 10, rms_norm_eps: 1e-6, max_position_embeddings: 64, sliding_window: 32, max_window_layers: 2 };
    assert.equal(hfSpec(hfConfigFromJson({ ...q, use_sliding_window: false })).windows, undefined);
    assert.deepEqual(hfSpec(hfConfigFromJson({ ...q, use_sliding_window: true })).windows, [null, null, 32, 32]);
    const q3 = hfSpec(hfConfigFromJson({ ...q, model_type: 'qwen3', head_dim: 16, attention_bias: true }));
    assert.deepEqual([q3.dHead, q3.qkNorm, q3.bias], [16, true, { qkv: true, o: true }]);
  });
});
