import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readGguf, writeGguf } from '../../../src/models/loaders/gguf.js';
import {
  gpt2ConfigFromGguf,
  hfConfigFromJson,
  llamaConfigFromGguf,
  readHfConfig,
  type Gpt2Config,
  type LlamaConfig,
} from '../../../src/models/loaders/hf-config.js';
import { STORIES_GGUF, tempDir, throwsCode } from './helpers.js';

const dir = tempDir('hf-config');

// TinyLlama-1.1B's config.json, trimmed.
const TINYLLAMA = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  vocab_size: 32000,
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
};

// openai-community/gpt2's config.json, trimmed.
const GPT2 = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_inner: null,
  n_layer: 12,
  n_positions: 1024,
  vocab_size: 50257,
};

describe('Hugging Face config.json', () => {
  test('llama', () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(TINYLLAMA));
    const expected: LlamaConfig = {
      arch: 'llama',
      hiddenSize: 2048,
      intermediateSize: 5632,
      numHiddenLayers: 22,
      numAttentionHeads: 32,
      numKeyValueHeads: 4,
      headDim: 64,
      rmsNormEps: 1e-5,
      ropeTheta: 10000,
      vocabSize: 32000,
      maxPositionEmbeddings: 2048,
      tieWordEmbeddings: false,
      ropeScaling: null,
    };
    assert.deepEqual(readHfConfig(path), expected);
  });

  test('llama defaults, explicit head_dim, rope_parameters, rope_scaling', () => {
    const { num_key_value_heads, rope_theta, tie_word_embeddings, model_type, ...rest } = TINYLLAMA;
    const c = hfConfigFromJson(rest) as LlamaConfig;
    assert.equal(c.arch, 'llama');
    assert.equal(c.numKeyValueHeads, 32);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.tieWordEmbeddings, false);
    const c2 = hfConfigFromJson({
      ...TINYLLAMA,
      rope_theta: undefined,
      rope_parameters: { rope_theta: 500000, rope_type: 'default' },
      head_dim: 128,
      rope_scaling: { rope_type: 'llama3', factor: 8 },
      tie_word_embeddings: true,
    }) as LlamaConfig;
    assert.equal(c2.ropeTheta, 500000);
    assert.equal(c2.headDim, 128);
    assert.deepEqual(c2.ropeScaling, { rope_type: 'llama3', factor: 8 });
    assert.equal(c2.tieWordEmbeddings, true);
  });

  test('gpt2', () => {
    const expected: Gpt2Config = {
      arch: 'gpt2',
      nEmbd: 768,
      nLayer: 12,
      nHead: 12,
      nPositions: 1024,
      vocabSize: 50257,
      layerNormEpsilon: 1e-5,
      nInner: 3072,
      activationFunction: 'gelu_new',
    };
    assert.deepEqual(hfConfigFromJson(GPT2, 'gpt2/config.json'), expected);
    const { layer_norm_epsilon, activation_function, ...bare } = GPT2;
    assert.deepEqual(hfConfigFromJson({ ...bare, n_inner: 1000 }), { ...expected, nInner: 1000 });
  });

  test('missing and wrongly typed fields name the file, field, value and expectation', () => {
    const { hidden_size, ...noHidden } = TINYLLAMA;
    throwsCode(() => hfConfigFromJson(noHidden, 'm/config.json'), 'CONFIG_FIELD', ['m/config.json', '"hidden_size"', 'missing', 'positive integer']);
    throwsCode(() => hfConfigFromJson({ ...TINYLLAMA, num_hidden_layers: '22' }, 'c'), 'CONFIG_FIELD', ['"num_hidden_layers"', '"22"', 'positive integer']);
    throwsCode(() => hfConfigFromJson({ ...TINYLLAMA, rms_norm_eps: -1 }), 'CONFIG_FIELD', ['"rms_norm_eps"', '-1', 'positive number']);
    throwsCode(() => hfConfigFromJson({ ...TINYLLAMA, tie_word_embeddings: 'yes' }), 'CONFIG_FIELD', ['"tie_word_embeddings"', 'true or false']);
    throwsCode(() => hfConfigFromJson({ ...TINYLLAMA, num_key_value_heads: 5 }), 'CONFIG_FIELD', ['"num_key_value_heads"', '5', 'divisor']);
    throwsCode(() => hfConfigFromJson({ ...TINYLLAMA, hidden_size: 2050 }), 'CONFIG_FIELD', ['"num_attention_heads"', 'divisor of hidden_size (2050)']);
    throwsCode(() => hfConfigFromJson({ ...GPT2, n_head: 0 }), 'CONFIG_FIELD', ['"n_head"', '0']);
    throwsCode(() => hfConfigFromJson({ ...GPT2, activation_function: 3 }), 'CONFIG_FIELD', ['"activation_function"', '3']);
  });

  test('unsupported architecture, bad JSON, missing file', () => {
    throwsCode(() => hfConfigFromJson({ model_type: 'mamba' }, 'x.json'), 'CONFIG_UNSUPPORTED_ARCH', ['x.json', '"mamba"', '"qwen3"']);
    throwsCode(() => hfConfigFromJson([1]), 'CONFIG_BAD_JSON');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model_type": "llama",');
    throwsCode(() => readHfConfig(bad), 'CONFIG_BAD_JSON', ['bad.json']);
    throwsCode(() => readHfConfig(join(dir, 'absent.json')), 'FILE_NOT_FOUND', ['absent.json']);
  });
});

describe('configs from GGUF metadata', () => {
  test('llama.* keys from a written GGUF file, tied embeddings detected', () => {
    const path = join(dir, 'llama.gguf');
    writeGguf(path, {
      metadata: {
        'general.architecture': 'llama',
        'llama.embedding_length': { type: 'uint32', value: 16 },
        'llama.feed_forward_length': { type: 'uint32', value: 40 },
        'llama.block_count': { type: 'uint32', value: 2 },
        'llama.attention.head_count': { type: 'uint32', value: 4 },
        'llama.attention.head_count_kv': { type: 'uint32', value: 2 },
        'llama.attention.layer_norm_rms_epsilon': { type: 'float32', value: 0.5 },
        'llama.context_length': { type: 'uint32', value: 128 },
        'tokenizer.ggml.tokens': ['a', 'b', 'c'],
      },
      tensors: [{ name: 'token_embd.weight', shape: [3, 16], data: new Float32Array(48) }],
    });
    const g = readGguf(path);
    assert.deepEqual(llamaConfigFromGguf(g), {
      arch: 'llama',
      hiddenSize: 16,
      intermediateSize: 40,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
      headDim: 4,
      rmsNormEps: 0.5,
      ropeTheta: 10000,
      vocabSize: 3,
      maxPositionEmbeddings: 128,
      tieWordEmbeddings: true,
      ropeScaling: null,
    } satisfies LlamaConfig);
    assert.equal(llamaConfigFromGguf(g.metadata).tieWordEmbeddings, false);
    throwsCode(() => gpt2ConfigFromGguf(g), 'CONFIG_FIELD', [path, '"general.architecture"', '"llama"', '"gpt2"']);
    const { 'llama.block_count': _, ...noBlocks } = g.metadata;
    throwsCode(() => llamaConfigFromGguf(noBlocks), 'CONFIG_FIELD', ['"llama.block_count"', 'missing']);
    throwsCode(() => llamaConfigFromGguf({ ...g.metadata, 'llama.context_length': 'long' }), 'CONFIG_FIELD', ['"long"']);
  });

  test('gpt2.* keys', () => {
    const meta = {
      'general.architecture': 'gpt2',
      'gpt2.embedding_length': 768,
      'gpt2.block_count': 12,
      'gpt2.attention.head_count': 12,
      'gpt2.context_length': 1024,
      'gpt2.feed_forward_length': 3072,
      'gpt2.attention.layer_norm_epsilon': 1e-5,
      'tokenizer.ggml.tokens': Array.from({ length: 50257 }, (_, i) => String(i)),
    };
    assert.deepEqual(gpt2ConfigFromGguf(meta), {
      arch: 'gpt2',
      nEmbd: 768,
      nLayer: 12,
      nHead: 12,
      nPositions: 1024,
      vocabSize: 50257,
      layerNormEpsilon: 1e-5,
      nInner: 3072,
      activationFunction: 'gelu_new',
    } satisfies Gpt2Config);
    throwsCode(() => gpt2ConfigFromGguf({ ...meta, 'tokenizer.ggml.tokens': [] }), 'CONFIG_FIELD', ['"gpt2.vocab_size"']);
  });

  test('stories260K', (t) => {
    if (!existsSync(STORIES_GGUF)) return t.skip(`${STORIES_GGUF} absent`);
    const c = llamaConfigFromGguf(readGguf(STORIES_GGUF));
    assert.deepEqual(
      [c.hiddenSize, c.intermediateSize, c.numHiddenLayers, c.numAttentionHeads, c.numKeyValueHeads, c.headDim, c.vocabSize, c.ropeTheta],
      [64, 172, 5, 8, 4, 8, 512, 10000],
    );
    assert.ok(Math.abs(c.rmsNormEps - 1e-5) < 1e-10);
    // The file carries output.weight (a copy of the embedding), so loading it as untied is right.
    assert.equal(c.tieWordEmbeddings, false);
  });
});
