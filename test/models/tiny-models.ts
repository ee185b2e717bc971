// Tiny random-weight checkpoints written to a temp folder in every layout probity reads: a Hugging Face GPT-2 folder,
// Hugging Face Llama folders (tied and untied), and GGUF Llama files. Each comes with its weights in Hugging Face
// names so the float64 reference (reference.ts) can run the same model.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { ProbityError } from '../../src/errors.js';
import { writeSafetensors, type SafetensorsTensorInput } from '../../src/models/loaders/safetensors.js';
import { writeGguf, type GgufMetadataInput } from '../../src/models/loaders/gguf.js';
import { byteToUnicode } from '../../src/models/tokenizers/bpe.js';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/models/model.js';
import {
  gemmaReference, gptNeoxReference, gpt2Reference, llamaReference, maxAbsDiff,
  type GemmaRefConfig, type Gpt2RefConfig, type LlamaRefConfig, type NeoxRefConfig, type RefHook, type RefResult, type RefWeights,
} from './reference.js';
import { uniform } from '../../src/util/random.js';

export const VOCAB = 300;
export const N_CTX = 32;

/** A fresh temp directory, removed when the test file finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `probity-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** mulberry32 */
export const prng = (seed: number): (() => number) => uniform(seed);

/** Standard normal samples (Box-Muller). */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function randomArray(n: number, rand: () => number, std: number, mean = 0): Float32Array {
  const g = gaussian(rand);
  return Float32Array.from({ length: n }, () => mean + std * g());
}

export function randomTokens(rand: () => number, n: number, vocab = VOCAB): number[] {
  return Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizers

/** Byte-level BPE tokenizer.json: ids 0..255 are GPT-2's byte characters, then merges of letter pairs, and
 *  <|endoftext|> as the last id, `vocab` ids in all. */
export function tokenizerJson(vocab = VOCAB): object {
  const tokens = byteToUnicode();
  const merges: string[] = [];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  outer: for (const a of letters) {
    for (const b of letters) {
      if (tokens.length >= vocab - 1) break outer;
      merges.push(`${a} ${b}`);
      tokens.push(a + b);
    }
  }
  const eot = tokens.length;
  return {
    version: '1.0',
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges },
  };
}

/** GGUF "llama" (SentencePiece) vocabulary: <unk> <s> </s>, 256 byte tokens, then pieces, `vocab` in all. */
export function ggufLlamaVocab(vocab = VOCAB): Record<string, GgufMetadataInput> {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < vocab; i++) {
    tokens.push(i < 26 ? `\u2581${letters[i]}` : `${letters[i % 26]}${letters[Math.floor(i / 26) % 26]}${i}`);
    types.push(1);
  }
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': { type: 'array', itemType: 'float32', value: tokens.map((_, i) => -i) },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'int32', value: types },
    'tokenizer.ggml.bos_token_id': { type: 'uint32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'uint32', value: 2 },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Checkpoints

export interface Fixture<C> {
  /** What loadModel takes: a folder or a .gguf file. */
  path: string;
  /** config.json contents (HF folders). */
  config: Record<string, unknown>;
  refConfig: C;
  /** Weights in Hugging Face names and layouts (what the reference reads). */
  weights: Record<string, Float32Array>;
  shapes: Record<string, number[]>;
  reference(tokens: readonly number[], hook?: RefHook): RefResult;
}

function writeFolder(dir: string, config: object, weights: Record<string, Float32Array>, shapes: Record<string, number[]>, opts: { tokenizer?: boolean } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const [n, data] of Object.entries(weights)) tensors[n] = { dtype: 'F32', shape: shapes[n], data };
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  if (opts.tokenizer ?? true) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
}

export interface Gpt2Options {
  seed?: number;
  /** Prefix tensor names with "transformer." (as GPT2LMHeadModel saves them). */
  prefix?: boolean;
  eps?: number;
  /** Edit the weights/shapes/config before writing (bad-input tests). */
  edit?: (f: { config: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> }) => void;
  tokenizer?: boolean;
}

export function gpt2Fixture(dir: string, o: Gpt2Options = {}): Fixture<Gpt2RefConfig> {
  const D = 16, H = 4, L = 2, F = 4 * D;
  const eps = o.eps ?? 1e-3;
  const rand = prng(o.seed ?? 1);
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const pre = o.prefix ? 'transformer.' : '';
  const put = (n: string, shape: number[], std: number, mean = 0) => {
    weights[pre + n] = randomArray(shape.reduce((a, b) => a * b, 1), rand, std, mean);
    shapes[pre + n] = shape;
  };
  put('wte.weight', [VOCAB, D], 0.5);
  put('wpe.weight', [N_CTX, D], 0.3);
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    put(`${p}ln_1.weight`, [D], 0.1, 1);
    put(`${p}ln_1.bias`, [D], 0.1);
    put(`${p}attn.c_attn.weight`, [D, 3 * D], 0.3);
    put(`${p}attn.c_attn.bias`, [3 * D], 0.1);
    put(`${p}attn.c_proj.weight`, [D, D], 0.25);
    put(`${p}attn.c_proj.bias`, [D], 0.1);
    put(`${p}ln_2.weight`, [D], 0.1, 1);
    put(`${p}ln_2.bias`, [D], 0.1);
    put(`${p}mlp.c_fc.weight`, [D, F], 0.3);
    put(`${p}mlp.c_fc.bias`, [F], 0.1);
    put(`${p}mlp.c_proj.weight`, [F, D], 0.15);
    put(`${p}mlp.c_proj.bias`, [D], 0.1);
  }
  put('ln_f.weight', [D], 0.1, 1);
  put('ln_f.bias', [D], 0.1);
  const config: Record<string, unknown> = {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_embd: D,
    n_layer: L,
    n_head: H,
    n_positions: N_CTX,
    n_ctx: N_CTX,
    vocab_size: VOCAB,
    layer_norm_epsilon: eps,
    activation_function: 'gelu_new',
    n_inner: null,
  };
  o.edit?.({ config, weights, shapes });
  writeFolder(dir, config, weights, shapes, { tokenizer: o.tokenizer });
  const refConfig: Gpt2RefConfig = { nEmbd: D, nHead: H, nLayer: L, nInner: F, vocab: VOCAB, eps, act: 'gelu_new' };
  return { path: dir, config, refConfig, weights, shapes, reference: (t, hook) => gpt2Reference(refConfig, weights, t, hook) };
}

export interface LlamaOptions {
  seed?: number;
  tied?: boolean;
  theta?: number;
  eps?: number;
  /** hidden_size (default 16; 4 heads, 2 kv heads, intermediate 24 regardless). */
  hidden?: number;
  edit?: Gpt2Options['edit'];
  tokenizer?: boolean;
}

/** Llama weights in HF names: hidden 16 (unless given), 2 layers, 4 heads, 2 kv heads, intermediate 24. */
export function llamaWeights(o: LlamaOptions = {}) {
  const D = o.hidden ?? 16, H = 4, K = 2, L = 2, F = 24, Dh = D / H;
  const rand = prng(o.seed ?? 2);
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const put = (n: string, shape: number[], std: number, mean = 0) => {
    weights[n] = randomArray(shape.reduce((a, b) => a * b, 1), rand, std, mean);
    shapes[n] = shape;
  };
  put('model.embed_tokens.weight', [VOCAB, D], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    put(`${p}input_layernorm.weight`, [D], 0.1, 1);
    put(`${p}self_attn.q_proj.weight`, [H * Dh, D], 0.35);
    put(`${p}self_attn.k_proj.weight`, [K * Dh, D], 0.35);
    put(`${p}self_attn.v_proj.weight`, [K * Dh, D], 0.3);
    put(`${p}self_attn.o_proj.weight`, [D, H * Dh], 0.25);
    put(`${p}post_attention_layernorm.weight`, [D], 0.1, 1);
    put(`${p}mlp.gate_proj.weight`, [F, D], 0.3);
    put(`${p}mlp.up_proj.weight`, [F, D], 0.3);
    put(`${p}mlp.down_proj.weight`, [D, F], 0.2);
  }
  put('model.norm.weight', [D], 0.1, 1);
  if (!o.tied) put('lm_head.weight', [VOCAB, D], 0.3);
  const refConfig = (rope: 'half' | 'interleaved', theta: number, eps: number): LlamaRefConfig => ({
    hidden: D, nHeads: H, nKvHeads: K, nLayers: L, intermediate: F, vocab: VOCAB, eps, theta, rope, tied: !!o.tied,
  });
  return { weights, shapes, refConfig, dims: { D, H, K, L, F, Dh } };
}

export function llamaFixture(dir: string, o: LlamaOptions = {}): Fixture<LlamaRefConfig> {
  const { weights, shapes, refConfig: rc, dims } = llamaWeights(o);
  const theta = o.theta ?? 10000;
  const eps = o.eps ?? 1e-3;
  const config: Record<string, unknown> = {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: dims.D,
    intermediate_size: dims.F,
    num_hidden_layers: dims.L,
    num_attention_heads: dims.H,
    num_key_value_heads: dims.K,
    rms_norm_eps: eps,
    rope_theta: theta,
    vocab_size: VOCAB,
    max_position_embeddings: N_CTX,
    tie_word_embeddings: !!o.tied,
    hidden_act: 'silu',
    bos_token_id: 0,
    eos_token_id: VOCAB - 1,
  };
  o.edit?.({ config, weights, shapes });
  writeFolder(dir, config, weights, shapes, { tokenizer: o.tokenizer });
  const refConfig = rc('half', theta, eps);
  return { path: dir, config, refConfig, weights, shapes, reference: (t, hook) => llamaReference(refConfig, weights, t, hook) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Other Hugging Face families (config keys and tensor names as transformers writes them; windows short so that
// sliding attention matters at the test lengths; soft-caps small so that they bite on tiny random weights)

export type FamilyName = 'qwen2' | 'qwen3' | 'mistral' | 'gpt_neox' | 'gpt_neox_sequential' | 'gemma2' | 'gemma3' | 'gemma3_multimodal';
export const FAMILY_NAMES: FamilyName[] = ['qwen2', 'qwen3', 'mistral', 'gpt_neox', 'gpt_neox_sequential', 'gemma2', 'gemma3', 'gemma3_multimodal'];
export const WINDOW = 4;

type AnyRef = LlamaRefConfig | NeoxRefConfig | GemmaRefConfig;

export function familyFixture(dir: string, family: FamilyName, o: { seed?: number } = {}): Fixture<AnyRef> {
  const rand = prng(o.seed ?? 40 + FAMILY_NAMES.indexOf(family));
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const put = (n: string, shape: number[], std: number, mean = 0) => {
    weights[n] = randomArray(shape.reduce((a, b) => a * b, 1), rand, std, mean);
    shapes[n] = shape;
  };
  const eps = 1e-5;
  if (family === 'gpt_neox' || family === 'gpt_neox_sequential') {
    const D = 32, H = 4, L = 2, F = 48, Dh = D / H;
    const parallel = family === 'gpt_neox';
    put('gpt_neox.embed_in.weight', [VOCAB, D], 0.5);
    for (let l = 0; l < L; l++) {
      const p = `gpt_neox.layers.${l}.`;
      put(`${p}input_layernorm.weight`, [D], 0.1, 1);
      put(`${p}input_layernorm.bias`, [D], 0.1);
      put(`${p}post_attention_layernorm.weight`, [D], 0.1, 1);
      put(`${p}post_attention_layernorm.bias`, [D], 0.1);
      put(`${p}attention.query_key_value.weight`, [3 * D, D], 0.3);
      put(`${p}attention.query_key_value.bias`, [3 * D], 0.1);
      put(`${p}attention.dense.weight`, [D, D], 0.2);
      put(`${p}attention.dense.bias`, [D], 0.1);
      put(`${p}mlp.dense_h_to_4h.weight`, [F, D], 0.25);
      put(`${p}mlp.dense_h_to_4h.bias`, [F], 0.1);
      put(`${p}mlp.dense_4h_to_h.weight`, [D, F], 0.15);
      put(`${p}mlp.dense_4h_to_h.bias`, [D], 0.1);
    }
    put('gpt_neox.final_layer_norm.weight', [D], 0.1, 1);
    put('gpt_neox.final_layer_norm.bias', [D], 0.1);
    put('embed_out.weight', [VOCAB, D], 0.3);
    const config = {
      model_type: 'gpt_neox', architectures: ['GPTNeoXForCausalLM'], hidden_size: D, num_attention_heads: H, num_hidden_layers: L,
      intermediate_size: F, hidden_act: 'gelu', rotary_pct: 0.5, rotary_emb_base: 1000, max_position_embeddings: N_CTX,
      layer_norm_eps: eps, use_parallel_residual: parallel, vocab_size: VOCAB, tie_word_embeddings: false, attention_bias: true,
      bos_token_id: 0, eos_token_id: VOCAB - 1,
    };
    writeFolder(dir, config, weights, shapes);
    const refConfig: NeoxRefConfig = { hidden: D, nHeads: H, nLayers: L, intermediate: F, vocab: VOCAB, eps, theta: 1000, rotaryDims: Dh / 2, parallel, act: 'gelu' };
    return { path: dir, config, refConfig, weights, shapes, reference: (t, hook) => gptNeoxReference(refConfig, weights, t, hook) };
  }
  if (family.startsWith('gemma')) {
    const version = family === 'gemma2' ? 2 : 3;
    const multimodal = family === 'gemma3_multimodal';
    const D = 16, H = 4, K = 2, Dh = 8, F = 24, L = version === 2 ? 2 : 3;
    const prefix = multimodal ? 'language_model.model.' : 'model.';
    put(`${prefix}embed_tokens.weight`, [VOCAB, D], 0.5);
    for (let l = 0; l < L; l++) {
      const p = `${prefix}layers.${l}.`;
      for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm']) put(`${p}${n}.weight`, [D], 0.1);
      put(`${p}self_attn.q_proj.weight`, [H * Dh, D], 0.35);
      put(`${p}self_attn.k_proj.weight`, [K * Dh, D], 0.35);
      put(`${p}self_attn.v_proj.weight`, [K * Dh, D], 0.3);
      put(`${p}self_attn.o_proj.weight`, [D, H * Dh], 0.2);
      if (version === 3) {
        put(`${p}self_attn.q_norm.weight`, [Dh], 0.2);
        put(`${p}self_attn.k_norm.weight`, [Dh], 0.2);
      }
      put(`${p}mlp.gate_proj.weight`, [F, D], 0.3);
      put(`${p}mlp.up_proj.weight`, [F, D], 0.3);
      put(`${p}mlp.down_proj.weight`, [D, F], 0.2);
    }
    put(`${prefix}norm.weight`, [D], 0.1);
    if (multimodal) put('vision_tower.vision_model.embeddings.patch_embedding.weight', [4, 3, 2, 2], 0.1); // ignored
    const text: Record<string, unknown> = {
      hidden_size: D, intermediate_size: F, num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: K, head_dim: Dh,
      hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: N_CTX, rms_norm_eps: eps, vocab_size: VOCAB,
      query_pre_attn_scalar: 6, sliding_window: WINDOW, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
    };
    let refConfig: GemmaRefConfig;
    const common = { hidden: D, nHeads: H, nKvHeads: K, headDim: Dh, nLayers: L, intermediate: F, vocab: VOCAB, eps, queryPreAttnScalar: 6, prefix };
    if (version === 2) {
      Object.assign(text, { model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'], rope_theta: 1000, attn_logit_softcapping: 2.0, final_logit_softcapping: 3.0, tie_word_embeddings: true });
      refConfig = { version: 2, ...common, theta: 1000, ropeFactor: 1, localTheta: 1000, attnSoftcap: 2, finalSoftcap: 3, windows: [WINDOW, null] };
    } else {
      Object.assign(text, {
        model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], rope_theta: 1000000, rope_local_base_freq: 100,
        rope_scaling: { rope_type: 'linear', factor: 8.0 }, sliding_window_pattern: 3, attn_logit_softcapping: null, final_logit_softcapping: null,
      });
      refConfig = { version: 3, ...common, theta: 1000000, ropeFactor: 8, localTheta: 100, attnSoftcap: null, finalSoftcap: null, windows: [WINDOW, WINDOW, null] };
    }
    const config = multimodal
      ? { model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: text, vision_config: { model_type: 'siglip_vision_model' }, tie_word_embeddings: true }
      : text;
    writeFolder(dir, config, weights, shapes);
    return { path: dir, config, refConfig, weights, shapes, reference: (t, hook) => gemmaReference(refConfig, weights, t, hook) };
  }
  // Llama-like: Qwen2 (q/k/v biases, sliding from max_window_layers), Qwen3 (q/k norm, head_dim != D/H), Mistral (window, head_dim).
  const D = 16, H = 4, L = 2, F = 24;
  const K = family === 'mistral' ? 1 : 2;
  const Dh = family === 'qwen2' ? D / H : 8;
  const tied = family === 'qwen2';
  put('model.embed_tokens.weight', [VOCAB, D], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    put(`${p}input_layernorm.weight`, [D], 0.1, 1);
    put(`${p}self_attn.q_proj.weight`, [H * Dh, D], 0.35);
    put(`${p}self_attn.k_proj.weight`, [K * Dh, D], 0.35);
    put(`${p}self_attn.v_proj.weight`, [K * Dh, D], 0.3);
    put(`${p}self_attn.o_proj.weight`, [D, H * Dh], 0.25);
    if (family === 'qwen2') {
      put(`${p}self_attn.q_proj.bias`, [H * Dh], 0.2);
      put(`${p}self_attn.k_proj.bias`, [K * Dh], 0.2);
      put(`${p}self_attn.v_proj.bias`, [K * Dh], 0.2);
    }
    if (family === 'qwen3') {
      put(`${p}self_attn.q_norm.weight`, [Dh], 0.1, 1);
      put(`${p}self_attn.k_norm.weight`, [Dh], 0.1, 1);
    }
    put(`${p}post_attention_layernorm.weight`, [D], 0.1, 1);
    put(`${p}mlp.gate_proj.weight`, [F, D], 0.3);
    put(`${p}mlp.up_proj.weight`, [F, D], 0.3);
    put(`${p}mlp.down_proj.weight`, [D, F], 0.2);
  }
  put('model.norm.weight', [D], 0.1, 1);
  if (!tied) put('lm_head.weight', [VOCAB, D], 0.3);
  const config: Record<string, unknown> = {
    model_type: family, architectures: [({ qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM' } as Record<string, string>)[family]],
    hidden_size: D, intermediate_size: F, num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: K,
    hidden_act: 'silu', max_position_embeddings: N_CTX, rms_norm_eps: eps, rope_theta: 1000, vocab_size: VOCAB,
    tie_word_embeddings: tied, rope_scaling: null, bos_token_id: 0, eos_token_id: VOCAB - 1,
  };
  let windows: (number | null)[];
  if (family === 'qwen2') {
    // Qwen2.5 configs: sliding attention from layer max_window_layers on, only with use_sliding_window.
    Object.assign(config, { use_sliding_window: true, sliding_window: WINDOW, max_window_layers: 1 });
    windows = [null, WINDOW];
  } else if (family === 'qwen3') {
    Object.assign(config, { head_dim: Dh, attention_bias: false, use_sliding_window: false, sliding_window: null, max_window_layers: L });
    windows = [null, null];
  } else {
    Object.assign(config, { head_dim: Dh, sliding_window: WINDOW });
    windows = [WINDOW, WINDOW];
  }
  writeFolder(dir, config, weights, shapes);
  const refConfig: LlamaRefConfig = {
    hidden: D, nHeads: H, nKvHeads: K, nLayers: L, intermediate: F, vocab: VOCAB, eps, theta: 1000, rope: 'half', tied,
    headDim: Dh, qkvBias: family === 'qwen2', qkNorm: family === 'qwen3', windows,
  };
  return { path: dir, config, refConfig, weights, shapes, reference: (t, hook) => llamaReference(refConfig, weights, t, hook) };
}

/** HF q/k rows (head, half s, i) -> GGUF rows (head, i, s): llama.cpp convert_hf_to_gguf.py's permute. */
export function permuteForGguf(w: Float32Array, nHeads: number, Dh: number, nIn: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = Dh / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const src = h * Dh + s * half + i;
        const dst = h * Dh + 2 * i + s;
        out.set(w.subarray(src * nIn, (src + 1) * nIn), dst * nIn);
      }
    }
  }
  return out;
}

const GGUF_NAMES: [RegExp, string][] = [
  [/^model\.embed_tokens\.weight$/, 'token_embd.weight'],
  [/^model\.norm\.weight$/, 'output_norm.weight'],
  [/^lm_head\.weight$/, 'output.weight'],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'blk.$1.attn_norm.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj\.weight$/, 'blk.$1.attn_q.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj\.weight$/, 'blk.$1.attn_k.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj\.weight$/, 'blk.$1.attn_v.weight'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'blk.$1.attn_output.weight'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'blk.$1.ffn_norm.weight'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'blk.$1.ffn_gate.weight'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'blk.$1.ffn_up.weight'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'blk.$1.ffn_down.weight'],
];
export function ggufName(hf: string): string {
  for (const [re, to] of GGUF_NAMES) if (re.test(hf)) return hf.replace(re, to);
  throw new Error(`no GGUF name for ${hf}`);
}

export interface GgufLlamaOptions extends LlamaOptions {
  /** Write q/k as llama.cpp's converter does from an HF checkpoint (the reference then runs the HF layout). */
  fromHf?: boolean;
  /** Store this tensor with raw bytes of another ggml type (bad-input tests). */
  raw?: { name: string; type: string; raw: Uint8Array; shape: number[] };
  /** Edit the metadata before writing (bad-input tests). */
  editMetadata?: (m: Record<string, GgufMetadataInput>) => void;
}

/** A GGUF Llama. The weights are taken as GGUF-layout (interleaved RoPE) unless fromHf. */
export function llamaGgufFixture(file: string, o: GgufLlamaOptions = {}): Fixture<LlamaRefConfig> {
  const { weights, shapes, refConfig: rc, dims } = llamaWeights(o);
  const theta = o.theta ?? 1000;
  const eps = Math.fround(o.eps ?? 1e-3);
  const u32 = (value: number) => ({ type: 'uint32' as const, value });
  const metadata: Record<string, GgufMetadataInput> = {
    'general.architecture': 'llama',
    'general.name': 'tiny-llama',
    'llama.context_length': u32(N_CTX),
    'llama.embedding_length': u32(dims.D),
    'llama.block_count': u32(dims.L),
    'llama.feed_forward_length': u32(dims.F),
    'llama.rope.dimension_count': u32(dims.Dh),
    'llama.attention.head_count': u32(dims.H),
    'llama.attention.head_count_kv': u32(dims.K),
    'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: eps },
    'llama.rope.freq_base': { type: 'float32', value: theta },
    ...ggufLlamaVocab(),
  };
  o.edit?.({ config: {}, weights, shapes });
  const tensors = Object.entries(weights).map(([n, data]) => {
    const name = ggufName(n);
    if (o.raw && o.raw.name === name) return { name, shape: o.raw.shape, type: o.raw.type, raw: o.raw.raw };
    let d = data;
    if (o.fromHf && /q_proj/.test(n)) d = permuteForGguf(data, dims.H, dims.Dh, dims.D);
    if (o.fromHf && /k_proj/.test(n)) d = permuteForGguf(data, dims.K, dims.Dh, dims.D);
    return { name, shape: shapes[n], data: d };
  });
  o.editMetadata?.(metadata);
  writeGguf(file, { metadata, tensors });
  const refConfig = rc(o.fromHf ? 'half' : 'interleaved', Math.fround(theta), eps);
  return { path: file, config: {}, refConfig, weights, shapes, reference: (t, hook) => llamaReference(refConfig, weights, t, hook) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Comparisons

/** Row b of a [B, T, ...] array, positions [from, T). */
export function rowSlice(data: ArrayLike<number>, dims: readonly number[], b: number, from = 0): Float64Array {
  const per = dims.slice(2).reduce((a, c) => a * c, 1);
  const T = dims[1];
  const start = (b * T + from) * per;
  return Float64Array.from({ length: (T - from) * per }, (_, i) => data[start + i]);
}

/** Logits of one row at positions [from, T) as a flat array. */
export function logitsRow(logits: { data: Float32Array; dims: readonly number[] }, b: number, from = 0): Float64Array {
  return rowSlice(logits.data, logits.dims, b, from);
}

export const flat = (rows: Float64Array[]) => {
  const n = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * n);
  rows.forEach((r, i) => out.set(r, i * n));
  return out;
};

/** Asserts max |a - b| <= tol, logs it with a label, returns it. */
export function close(label: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): number {
  const d = maxAbsDiff(a, b);
  console.log(`# ${label}: max |diff| = ${d.toExponential(2)}`);
  assert.ok(d <= tol, `${label}: max abs diff ${d} > ${tol}`);
  return d;
}

/** Loads once per path. */
const loaded = new Map<string, Promise<Model>>();
export function load(path: string): Promise<Model> {
  let m = loaded.get(path);
  if (!m) loaded.set(path, (m = loadModel(path)));
  return m;
}

/** Asserts `fn` throws or rejects with a ProbityError of `code` whose message mentions every string given. */
export async function rejectsCode(fn: () => unknown, code: string, mentions: string[] = []): Promise<ProbityError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProbityError, `expected ProbityError ${code}, got ${caught === undefined ? 'no error' : String((caught as Error)?.stack ?? caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const m of mentions) assert.ok(caught.message.includes(m), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(m)}`);
  return caught;
}

export type { RefWeights };
