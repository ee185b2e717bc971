// Model hyper-parameters from a Hugging Face config.json or from GGUF metadata, validated into typed configs.
import { readFileSync } from 'node:fs';
import { ProbityError, show } from '../../errors.js';
import type { GgufFile, GgufValue } from './gguf.js';

export interface LlamaConfig {
  arch: 'llama';
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention when smaller than numAttentionHeads. */
  numKeyValueHeads: number;
  /** hiddenSize / numAttentionHeads unless the config says otherwise. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Passed through untouched (e.g. Llama 3.1's {rope_type: "llama3", ...}) so a model can refuse what it cannot do. */
  ropeScaling: Record<string, unknown> | null;
}

export interface Gpt2Config {
  arch: 'gpt2';
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nPositions: number;
  vocabSize: number;
  layerNormEpsilon: number;
  /** MLP width; 4 * nEmbd unless the config says otherwise. */
  nInner: number;
  /** e.g. "gelu_new" (tanh approximation, GPT-2's own). */
  activationFunction: string;
}

export type ModelConfig = LlamaConfig | Gpt2Config;

/** Typed field access with errors naming the source, the field, the value seen and what was expected. */
class Fields {
  constructor(
    private readonly src: Record<string, unknown>,
    private readonly where: string,
  ) {}

  private bad(key: string, v: unknown, expected: string): never {
    const seen = v === undefined ? 'missing' : `${show(v)}${typeof v === 'bigint' ? ' (too large)' : ''}`;
    throw new ProbityError('CONFIG_FIELD', `${this.where}: field ${show(key)} is ${seen}, expected ${expected}`);
  }

  has(key: string): boolean {
    return this.src[key] !== undefined && this.src[key] !== null;
  }

  posInt(key: string, fallback?: number): number {
    const v = this.src[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.bad(key, v, 'a positive integer');
    return v;
  }

  posNum(key: string, fallback?: number): number {
    const v = this.src[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.bad(key, v, 'a positive number');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.src[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.bad(key, v, 'true or false');
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.src[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') this.bad(key, v, 'a non-empty string');
    return v;
  }

  object(key: string): Record<string, unknown> | null {
    const v = this.src[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.bad(key, v, 'an object or null');
    return v as Record<string, unknown>;
  }

  /** Throws CONFIG_FIELD about `key` unless `ok`. */
  check(ok: boolean, key: string, expected: string): void {
    if (!ok) this.bad(key, this.src[key], expected);
  }
}

/** kv heads must divide heads; heads must divide the width unless the head size is given explicitly. */
function checkHeads(f: Fields, hidden: number, heads: number, kvHeads: number, explicitHeadDim: boolean, keys: string[]): void {
  const [hiddenKey, headsKey, kvKey] = keys;
  f.check(heads % kvHeads === 0, kvKey, `a divisor of ${headsKey} (${heads})`);
  if (!explicitHeadDim) f.check(hidden % heads === 0, headsKey, `a divisor of ${hiddenKey} (${hidden})`);
}

/** Reads and validates config.json; dispatches on model_type / architectures. */
export function readHfConfig(path: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_READ_ERROR';
    throw new ProbityError(code, `config ${path}: cannot read file (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProbityError('CONFIG_BAD_JSON', `config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return hfConfigFromJson(json, path);
}

export function hfConfigFromJson(json: unknown, path = '<config.json>'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProbityError('CONFIG_BAD_JSON', `config ${path}: top level is ${show(json)}, expected a JSON object`);
  }
  const o = json as Record<string, unknown>;
  const archs = Array.isArray(o.architectures) ? o.architectures : [];
  if (o.model_type === 'llama' || archs.includes('LlamaForCausalLM')) return llamaConfigFromJson(o, path);
  if (o.model_type === 'gpt2' || archs.includes('GPT2LMHeadModel')) return gpt2ConfigFromJson(o, path);
  throw new ProbityError(
    'CONFIG_UNSUPPORTED_ARCH',
    `config ${path}: model_type ${show(o.model_type)} / architectures ${show(o.architectures)} is not supported, ` +
      'expected "llama" or "gpt2"',
  );
}

export function llamaConfigFromJson(o: Record<string, unknown>, path = '<config.json>'): LlamaConfig {
  const f = new Fields(o, `config ${path}`);
  const hiddenSize = f.posInt('hidden_size');
  const numAttentionHeads = f.posInt('num_attention_heads');
  const numKeyValueHeads = f.posInt('num_key_value_heads', numAttentionHeads);
  const headKeys = ['hidden_size', 'num_attention_heads', 'num_key_value_heads'];
  checkHeads(f, hiddenSize, numAttentionHeads, numKeyValueHeads, f.has('head_dim'), headKeys);
  // transformers >= 5 moves rope_theta into rope_parameters.
  const ropeParams = f.object('rope_parameters');
  const ropeFields = !f.has('rope_theta') && ropeParams ? new Fields(ropeParams, `config ${path} rope_parameters`) : f;
  const ropeTheta = ropeFields.posNum('rope_theta', 10000);
  return {
    arch: 'llama',
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size'),
    numHiddenLayers: f.posInt('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim: f.posInt('head_dim', hiddenSize / numAttentionHeads),
    rmsNormEps: f.posNum('rms_norm_eps'),
    ropeTheta,
    vocabSize: f.posInt('vocab_size'),
    maxPositionEmbeddings: f.posInt('max_position_embeddings'),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    ropeScaling: f.object('rope_scaling'),
  };
}

export function gpt2ConfigFromJson(o: Record<string, unknown>, path = '<config.json>'): Gpt2Config {
  const f = new Fields(o, `config ${path}`);
  const nEmbd = f.posInt('n_embd');
  const nHead = f.posInt('n_head');
  f.check(nEmbd % nHead === 0, 'n_head', `a divisor of n_embd (${nEmbd})`);
  return {
    arch: 'gpt2',
    nEmbd,
    nLayer: f.posInt('n_layer'),
    nHead,
    nPositions: f.posInt('n_positions'),
    vocabSize: f.posInt('vocab_size'),
    // transformers' GPT2Config defaults, which real config.json files spell out anyway.
    layerNormEpsilon: f.posNum('layer_norm_epsilon', 1e-5),
    nInner: f.posInt('n_inner', 4 * nEmbd),
    activationFunction: f.str('activation_function', 'gelu_new'),
  };
}

type GgufSource = GgufFile | Record<string, GgufValue>;

function ggufParts(src: GgufSource, arch: string): { f: Fields; meta: Record<string, GgufValue>; tensorNames?: Set<string> } {
  const isFile = typeof (src as GgufFile).tensorData === 'function';
  const meta = isFile ? (src as GgufFile).metadata : (src as Record<string, GgufValue>);
  const where = isFile ? `GGUF ${(src as GgufFile).path} metadata` : 'GGUF metadata';
  const f = new Fields(meta, where);
  if (meta['general.architecture'] !== undefined) {
    f.check(meta['general.architecture'] === arch, 'general.architecture', show(arch));
  }
  return { f, meta, tensorNames: isFile ? new Set((src as GgufFile).tensors.map((t) => t.name)) : undefined };
}

function ggufVocabSize(f: Fields, meta: Record<string, GgufValue>, arch: string): number {
  const tokens = meta['tokenizer.ggml.tokens'];
  if (Array.isArray(tokens) && tokens.length > 0) return tokens.length;
  return f.posInt(`${arch}.vocab_size`);
}

/**
 * Llama hyper-parameters from GGUF llama.* keys. Pass the GgufFile rather than its metadata to learn whether the
 * output matrix is tied to the embedding (no output.weight tensor); metadata alone reports untied.
 */
export function llamaConfigFromGguf(src: GgufSource): LlamaConfig {
  const { f, meta, tensorNames } = ggufParts(src, 'llama');
  const hiddenSize = f.posInt('llama.embedding_length');
  const numAttentionHeads = f.posInt('llama.attention.head_count');
  const numKeyValueHeads = f.posInt('llama.attention.head_count_kv', numAttentionHeads);
  checkHeads(f, hiddenSize, numAttentionHeads, numKeyValueHeads, f.has('llama.attention.key_length'), [
    'llama.embedding_length',
    'llama.attention.head_count',
    'llama.attention.head_count_kv',
  ]);
  return {
    arch: 'llama',
    hiddenSize,
    intermediateSize: f.posInt('llama.feed_forward_length'),
    numHiddenLayers: f.posInt('llama.block_count'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim: f.posInt('llama.attention.key_length', hiddenSize / numAttentionHeads),
    rmsNormEps: f.posNum('llama.attention.layer_norm_rms_epsilon'),
    ropeTheta: f.posNum('llama.rope.freq_base', 10000),
    vocabSize: ggufVocabSize(f, meta, 'llama'),
    maxPositionEmbeddings: f.posInt('llama.context_length'),
    tieWordEmbeddings: tensorNames !== undefined && tensorNames.has('token_embd.weight') && !tensorNames.has('output.weight'),
    ropeScaling: null,
  };
}

/** GPT-2 hyper-parameters from GGUF gpt2.* keys. */
export function gpt2ConfigFromGguf(src: GgufSource): Gpt2Config {
  const { f, meta } = ggufParts(src, 'gpt2');
  const nEmbd = f.posInt('gpt2.embedding_length');
  const nHead = f.posInt('gpt2.attention.head_count');
  f.check(nEmbd % nHead === 0, 'gpt2.attention.head_count', `a divisor of gpt2.embedding_length (${nEmbd})`);
  return {
    arch: 'gpt2',
    nEmbd,
    nLayer: f.posInt('gpt2.block_count'),
    nHead,
    nPositions: f.posInt('gpt2.context_length'),
    vocabSize: ggufVocabSize(f, meta, 'gpt2'),
    layerNormEpsilon: f.posNum('gpt2.attention.layer_norm_epsilon', 1e-5),
    nInner: f.posInt('gpt2.feed_forward_length', 4 * nEmbd),
    // llama.cpp's GPT-2 graph uses the tanh GELU, i.e. HF's "gelu_new".
    activationFunction: 'gelu_new',
  };
}
