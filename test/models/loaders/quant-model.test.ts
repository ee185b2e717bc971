// A tiny random-weight Llama quantized to each type runs through loadModel and gives the logits of the same model
// built from F32 weights, those weights dequantized by the test's own reading of the block layouts (quant-blocks.ts),
// not by the reader. Also prints each type's own error: its logits against the unquantized model's.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { readGguf, writeGguf, type GgufFloatTensorInput, type GgufMetadataInput } from '../../../src/models/loaders/gguf.js';
import { loadModel } from '../../../src/models/load.js';
import type { Model } from '../../../src/models/model.js';
import { QUANT_TYPES, type QuantType } from '../../../src/models/loaders/quant/index.js';
import { maxAbsDiff } from '../reference.js';
import { close, ggufLlamaVocab, ggufName, prng, randomArray, randomTokens, tempDir, VOCAB } from '../tiny-models.js';
import { referenceDequantize } from './quant-blocks.js';

const dir = tempDir('quant-model');
// Every matrix's innermost dim (D or F) is a whole number of 256-element super-blocks.
const D = 256, H = 4, K = 2, L = 2, F = 512, Dh = D / H;

function weights(): { data: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  const rand = prng(1616);
  const data: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const put = (n: string, shape: number[], std: number, mean = 0) => {
    data[ggufName(n)] = randomArray(shape.reduce((a, b) => a * b, 1), rand, std, mean);
    shapes[ggufName(n)] = shape;
  };
  const s = 1 / Math.sqrt(D);
  put('model.embed_tokens.weight', [VOCAB, D], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    put(`${p}input_layernorm.weight`, [D], 0.1, 1);
    put(`${p}self_attn.q_proj.weight`, [H * Dh, D], s);
    put(`${p}self_attn.k_proj.weight`, [K * Dh, D], s);
    put(`${p}self_attn.v_proj.weight`, [K * Dh, D], s);
    put(`${p}self_attn.o_proj.weight`, [D, H * Dh], s);
    put(`${p}post_attention_layernorm.weight`, [D], 0.1, 1);
    put(`${p}mlp.gate_proj.weight`, [F, D], s);
    put(`${p}mlp.up_proj.weight`, [F, D], s);
    put(`${p}mlp.down_proj.weight`, [D, F], 1 / Math.sqrt(F));
  }
  put('model.norm.weight', [D], 0.1, 1);
  put('lm_head.weight', [VOCAB, D], 3 * s);
  return { data, shapes };
}

function metadata(fileType?: number): Record<string, GgufMetadataInput> {
  const u32 = (value: number) => ({ type: 'uint32' as const, value });
  return {
    'general.architecture': 'llama',
    'general.name': 'tiny-quant-llama',
    ...(fileType === undefined ? {} : { 'general.file_type': u32(fileType) }),
    'llama.context_length': u32(32),
    'llama.embedding_length': u32(D),
    'llama.block_count': u32(L),
    'llama.feed_forward_length': u32(F),
    'llama.rope.dimension_count': u32(Dh),
    'llama.attention.head_count': u32(H),
    'llama.attention.head_count_kv': u32(K),
    'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 1e-5 },
    'llama.rope.freq_base': { type: 'float32', value: 10000 },
    ...ggufLlamaVocab(),
  };
}

/** Type of each tensor: 1-D norms stay F32, matrices get `pick(name)`. */
type Mix = (name: string) => QuantType;
const MIXES: [label: string, mix: Mix, fileType: number][] = [
  ...QUANT_TYPES.map((t): [string, Mix, number] => [t, () => t, { Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q4_K: 15, Q5_K: 17, Q6_K: 18 }[t]]),
  // Shaped like llama-quantize's Q4_K_M (Q4_K, with output.weight and some layers' attn_v / ffn_down at Q6_K); here
  // attn_v is Q5_K so that all three k-quants meet in one file.
  ['Q4_K_M mix', (n) => (/^output\.|ffn_down/.test(n) ? 'Q6_K' : /attn_v/.test(n) ? 'Q5_K' : 'Q4_K'), 15],
];

describe('a tiny Llama quantized to each type', () => {
  const w = weights();
  const rand = prng(7);
  const rows = [randomTokens(rand, 9), randomTokens(rand, 9)];
  const logits = async (m: Model) => (await m.forward(rows)).logits!.data;

  const write = (file: string, type: (name: string) => GgufFloatTensorInput['type'], data: Record<string, Float32Array>, fileType?: number) =>
    writeGguf(file, {
      metadata: metadata(fileType),
      tensors: Object.keys(data).map((name) => ({ name, shape: w.shapes[name], data: data[name], type: w.shapes[name].length === 2 ? type(name) : 'F32' })),
    });

  const originalFile = join(dir, 'f32.gguf');
  write(originalFile, () => 'F32', w.data, 0);
  let original: Float32Array | undefined;
  const originalLogits = async () => (original ??= await logits(await loadModel(originalFile)));

  for (const [label, mix, fileType] of MIXES) {
    test(`${label}: loads, runs, and matches the F32 model of its dequantized weights`, async () => {
      const qFile = join(dir, `${label.replace(/ /g, '_')}.gguf`);
      write(qFile, mix, w.data, fileType);
      const g = readGguf(qFile);
      // The F32 reference: every quantized tensor's stored bytes read by the test's own layout code.
      const deq: Record<string, Float32Array> = {};
      for (const t of g.tensors) deq[t.name] = t.type === 'F32' ? g.tensorData(t.name).slice() : referenceDequantize(t.type, g.tensorBytes(t.name), t.nElements);
      const refFile = join(dir, `${label.replace(/ /g, '_')}-deq.gguf`);
      write(refFile, () => 'F32', deq);

      for (const t of g.tensors) assert.equal(t.type, t.shape.length === 2 ? mix(t.name) : 'F32', t.name);
      // Read lazily (tensor bytes from disk in chunks), the same values.
      const lazy = readGguf(qFile, { lazy: true });
      for (const t of g.tensors) assert.deepEqual(lazy.tensorData(t.name), g.tensorData(t.name), t.name);
      const q = await logits(await loadModel(qFile));
      const ref = await logits(await loadModel(refFile));
      close(`${label} logits vs F32 model of the dequantized weights`, q, ref, 1e-5);

      // The quantization's own error: logits against the unquantized model's, as RMS and max over all logits.
      const orig = await originalLogits();
      let ss = 0;
      let se = 0;
      for (let i = 0; i < orig.length; i++) {
        ss += orig[i] ** 2;
        se += (q[i] - orig[i]) ** 2;
      }
      const rel = Math.sqrt(se / ss);
      const max = maxAbsDiff(q, orig);
      console.log(`# ${label}: logits vs the unquantized model: RMS diff / RMS logit ${rel.toExponential(2)}, max |diff| ${max.toExponential(2)} (RMS logit ${Math.sqrt(ss / orig.length).toFixed(2)})`);
      assert.ok(rel > 0 && rel < 0.25, `${label}: relative logit error ${rel}`);
    });
  }

  test('probity inspect names the tensor types a quantized file holds and its file type', () => {
    const [label, mix, fileType] = MIXES[MIXES.length - 1];
    const file = join(dir, 'inspect.gguf');
    write(file, mix, w.data, fileType);
    // Expected, counted from what was written (matrices by the mix, everything else F32).
    const want = new Map<string, number>();
    for (const name of Object.keys(w.data)) {
      const t = w.shapes[name].length === 2 ? mix(name) : 'F32';
      want.set(t, (want.get(t) ?? 0) + 1);
    }
    const r = spawnSync(process.execPath, [resolve('bin/probity.js'), 'inspect', file, '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { tensor_types: { file_type: string | null; types: { type: string; tensors: number; readable: boolean }[] } };
    assert.deepEqual(new Map(info.tensor_types.types.map((t) => [t.type, t.tensors])), want, label);
    assert.ok(info.tensor_types.types.every((t) => t.readable));
    assert.equal(info.tensor_types.file_type, 'MOSTLY_Q4_K_M');
    const text = spawnSync(process.execPath, [resolve('bin/probity.js'), 'inspect', file], { encoding: 'utf8', timeout: 120_000 });
    assert.match(text.stdout, /^tensors +.*Q4_K x\d+.*\(MOSTLY_Q4_K_M\)$/m);
  });
});

