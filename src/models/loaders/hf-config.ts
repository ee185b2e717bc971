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
  /** Llama-like families (absent for Llama itself). */
  family?: 'qwen2' | 'qwen3' | 'mistral';
  /** Biases on q_proj/k_proj/v_proj (Qwen2 always; Qwen3 attention_bias) and on o_proj (Qwen3 attention_bias). */
  qkvBias?: boolean;
  oBias?: boolean;
  /** Per-head q_norm/k_norm (Qwen3). */
  qkNorm?: boolean;
  /** Per layer sliding window or null (Mistral sliding_window; Qwen use_sliding_window from max_window_layers on). */
  layerWindows?: (number | null)[];
}

export interface GptNeoxConfig {
  arch: 'gpt_neox';
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Rotated dims per head: head_size * rotary_pct (partial_rotary_factor in newer configs). */
  rotaryDim: number;
  ropeTheta: number;
  layerNormEps: number;
  parallelResidual: boolean;
  hiddenAct: string;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
}

export interface GemmaConfig {
  arch: 'gemma';
  family: 'gemma2' | 'gemma3';
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  /** Base of full-attention layers, with linear rope_scaling `ropeScale` (1 = none); sliding layers use ropeLocalTheta. */
  ropeTheta: number;
  ropeScale: number;
  ropeLocalTheta: number;
  queryPreAttnScalar: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  layerWindows: (number | null)[];
  hiddenAct: string;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
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

export type ModelConfig = LlamaConfig | Gpt2Config | GptNeoxConfig | GemmaConfig;

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

  /** A positive number, or null when the field is absent or null. */
  optNum(key: string): number | null {
    return this.has(key) ? this.posNum(key) : null;
  }

  strList(key: string): string[] | null {
    const v = this.src[key];
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) this.bad(key, v, 'a list of strings');
    return v as string[];
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
  const type = typeof o.model_type === 'string' ? o.model_type : undefined;
  const reader = type !== undefined ? READERS[type] : undefined;
  if (reader) return reader(o, path);
  for (const [t, a] of Object.entries(ARCHITECTURES)) if (archs.includes(a)) return READERS[t](o, path);
  throw new ProbityError(
    'CONFIG_UNSUPPORTED_ARCH',
    `config ${path}: model_type ${show(o.model_type)} / architectures ${show(o.architectures)} is not supported; ` +
      `supported model_type values: ${SUPPORTED_MODEL_TYPES.map((t) => show(t)).join(', ')}`,
  );
}

/** config.json model_type -> reader. */
const READERS: Record<string, (o: Record<string, unknown>, path: string) => ModelConfig> = {
  llama: (o, p) => llamaConfigFromJson(o, p),
  gpt2: (o, p) => gpt2ConfigFromJson(o, p),
  qwen2: (o, p) => llamaLikeConfigFromJson(o, p, 'qwen2'),
  qwen3: (o, p) => llamaLikeConfigFromJson(o, p, 'qwen3'),
  mistral: (o, p) => llamaLikeConfigFromJson(o, p, 'mistral'),
  gpt_neox: (o, p) => gptNeoxConfigFromJson(o, p),
  gemma2: (o, p) => gemmaConfigFromJson(o, p, 'gemma2'),
  gemma3: (o, p) => gemmaConfigFromJson(o, p, 'gemma3'),
  gemma3_text: (o, p) => gemmaConfigFromJson(o, p, 'gemma3'),
};
/** For configs without model_type: the architectures entry of each. */
const ARCHITECTURES: Record<string, string> = {
  llama: 'LlamaForCausalLM',
  gpt2: 'GPT2LMHeadModel',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  mistral: 'MistralForCausalLM',
  gpt_neox: 'GPTNeoXForCausalLM',
  gemma2: 'Gemma2ForCausalLM',
  gemma3: 'Gemma3ForCausalLM',
};
export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(READERS);

/** Per-layer sliding windows from layer_types when the config lists them, else from `isSliding(l)`. */
function layerWindows(f: Fields, n: number, window: number | null, isSliding: (l: number) => boolean): (number | null)[] {
  const types = f.strList('layer_types');
  if (types) {
    f.check(types.length === n, 'layer_types', `${n} entries (num_hidden_layers)`);
    f.check(types.every((t) => t === 'sliding_attention' || t === 'full_attention'), 'layer_types', '"sliding_attention" or "full_attention" entries');
  }
  return Array.from({ length: n }, (_, l) => {
    const sliding = types ? types[l] === 'sliding_attention' : isSliding(l);
    if (sliding && window === null) f.check(false, 'sliding_window', 'a positive integer (some layers use sliding attention)');
    return sliding ? window : null;
  });
}

/**
 * Qwen2/2.5 (q/k/v biases), Qwen3 (per-head q/k RMSNorm, explicit head_dim, optional attention_bias) and Mistral
 * (sliding_window, explicit head_dim): a Llama block plus options (modeling_qwen2.py, modeling_qwen3.py,
 * modeling_mistral.py).
 */
export function llamaLikeConfigFromJson(o: Record<string, unknown>, path: string, family: 'qwen2' | 'qwen3' | 'mistral'): LlamaConfig {
  const f = new Fields(o, `config ${path}`);
  const c: LlamaConfig = { ...llamaConfigFromJson(o, path), family };
  const window = f.has('sliding_window') ? f.posInt('sliding_window') : null;
  if (family === 'mistral') {
    c.layerWindows = layerWindows(f, c.numHiddenLayers, window, () => window !== null);
  } else {
    // Qwen: sliding attention only with use_sliding_window, on layers from max_window_layers on.
    const use = f.bool('use_sliding_window', false);
    const from = f.has('max_window_layers') ? (o.max_window_layers as number) : 28; // Qwen2Config's default
    f.check(Number.isSafeInteger(from) && from >= 0, 'max_window_layers', 'a non-negative integer');
    // Without use_sliding_window HF sets sliding_window to None: every layer is full, whatever layer_types says.
    c.layerWindows = use ? layerWindows(f, c.numHiddenLayers, window, (l) => l >= from) : new Array(c.numHiddenLayers).fill(null);
  }
  if (family === 'qwen2') {
    c.qkvBias = true;
    c.oBias = false;
  } else if (family === 'qwen3') {
    const bias = f.bool('attention_bias', false);
    c.qkvBias = bias;
    c.oBias = bias;
    c.qkNorm = true;
  }
  return c;
}

/** GPT-NeoX / Pythia (modeling_gpt_neox.py). */
export function gptNeoxConfigFromJson(o: Record<string, unknown>, path = '<config.json>'): GptNeoxConfig {
  const f = new Fields(o, `config ${path}`);
  const hiddenSize = f.posInt('hidden_size');
  const numAttentionHeads = f.posInt('num_attention_heads');
  f.check(hiddenSize % numAttentionHeads === 0, 'num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  const headSize = hiddenSize / numAttentionHeads;
  const ropeParams = f.object('rope_parameters');
  const rp = ropeParams ? new Fields(ropeParams, `config ${path} rope_parameters`) : f;
  const pct = f.has('rotary_pct') ? f.posNum('rotary_pct') : rp.posNum('partial_rotary_factor', 1);
  f.check(pct <= 1, 'rotary_pct', 'a fraction in (0, 1]');
  const rotaryDim = Math.floor(headSize * pct);
  f.check(rotaryDim >= 2 && rotaryDim % 2 === 0, 'rotary_pct', `a fraction giving an even rotary size (head size ${headSize})`);
  const ropeTheta = f.has('rotary_emb_base') ? f.posNum('rotary_emb_base') : rp.posNum('rope_theta', 10000);
  if (f.object('rope_scaling')) f.check(false, 'rope_scaling', 'null (scaled RoPE is not supported yet)');
  return {
    arch: 'gpt_neox',
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size'),
    numHiddenLayers: f.posInt('num_hidden_layers'),
    numAttentionHeads,
    rotaryDim,
    ropeTheta,
    layerNormEps: f.posNum('layer_norm_eps', 1e-5),
    parallelResidual: f.bool('use_parallel_residual', true),
    hiddenAct: f.str('hidden_act', 'gelu'),
    vocabSize: f.posInt('vocab_size'),
    maxPositionEmbeddings: f.posInt('max_position_embeddings'),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    attentionBias: f.bool('attention_bias', true),
  };
}

/**
 * Gemma-2 and Gemma-3 (modeling_gemma2.py, modeling_gemma3.py). A multimodal Gemma-3 config
 * (Gemma3ForConditionalGeneration) holds the text model's fields under text_config.
 */
export function gemmaConfigFromJson(o: Record<string, unknown>, path: string, family: 'gemma2' | 'gemma3'): GemmaConfig {
  const outer = new Fields(o, `config ${path}`);
  const text = outer.object('text_config');
  const f = text ? new Fields(text, `config ${path} text_config`) : outer;
  const src = text ?? o;
  // Multimodal Gemma-3 text_configs spell out only what differs from Gemma3TextConfig's defaults, so those apply.
  const g3 = family === 'gemma3';
  const hiddenSize = f.posInt('hidden_size');
  const numAttentionHeads = f.posInt('num_attention_heads', g3 ? 8 : undefined);
  const numKeyValueHeads = f.posInt('num_key_value_heads', g3 ? 4 : numAttentionHeads);
  checkHeads(f, hiddenSize, numAttentionHeads, numKeyValueHeads, true, ['hidden_size', 'num_attention_heads', 'num_key_value_heads']);
  const headDim = f.posInt('head_dim', 256);
  if (f.bool('use_bidirectional_attention', false)) f.check(false, 'use_bidirectional_attention', 'false (bidirectional Gemma is not a causal LM)');
  if (f.bool('attention_bias', false)) f.check(false, 'attention_bias', 'false (Gemma attention biases are not supported yet)');
  // Gemma-2 caps by default (50, 30), Gemma-3 does not; an explicit null turns a cap off.
  const softcap = (key: string, gemma2Default: number): number | null =>
    key in src && src[key] === null ? null : family === 'gemma2' ? f.posNum(key, gemma2Default) : f.optNum(key);
  const n = f.posInt('num_hidden_layers');
  const window = f.posInt('sliding_window', 4096);
  const pattern = family === 'gemma2' ? 2 : f.posInt('sliding_window_pattern', f.has('_sliding_window_pattern') ? (src._sliding_window_pattern as number) : 6);
  // HF: layer l slides unless (l + 1) is a multiple of the pattern (Gemma-2: even layers slide).
  const windows = layerWindows(f, n, window, (l) => (l + 1) % pattern !== 0);
  let ropeTheta = f.posNum('rope_theta', family === 'gemma2' ? 10000 : 1000000);
  let ropeLocalTheta = family === 'gemma3' ? f.posNum('rope_local_base_freq', 10000) : ropeTheta;
  let ropeScale = 1;
  const scaling = f.object('rope_scaling');
  if (scaling) {
    const sf = new Fields(scaling, `config ${path} rope_scaling`);
    const type = sf.str('rope_type', sf.has('type') ? (scaling.type as string) : undefined);
    sf.check(type === 'linear' || type === 'default', 'rope_type', '"linear" (other RoPE scalings are not supported yet)');
    if (type === 'linear') ropeScale = sf.posNum('factor');
  }
  // transformers >= 5: rope_parameters per layer type.
  const rp = f.object('rope_parameters');
  if (rp && !f.has('rope_theta')) {
    const full = (rp.full_attention ?? rp) as Record<string, unknown>;
    const ff = new Fields(full, `config ${path} rope_parameters`);
    ff.check(full.rope_type === undefined || full.rope_type === 'default' || full.rope_type === 'linear', 'rope_type', '"default" or "linear" (other RoPE scalings are not supported yet)');
    ropeTheta = ff.posNum('rope_theta', ropeTheta);
    if (full.rope_type === 'linear') ropeScale = ff.posNum('factor');
    if (rp.sliding_attention) ropeLocalTheta = new Fields(rp.sliding_attention as Record<string, unknown>, `config ${path} rope_parameters`).posNum('rope_theta', ropeLocalTheta);
    else if (family === 'gemma2') ropeLocalTheta = ropeTheta;
  }
  return {
    arch: 'gemma',
    family,
    hiddenSize,
    intermediateSize: f.posInt('intermediate_size'),
    numHiddenLayers: n,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: f.posNum('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScale,
    ropeLocalTheta,
    queryPreAttnScalar: f.posNum('query_pre_attn_scalar', 256),
    attnSoftcap: softcap('attn_logit_softcapping', 50),
    finalSoftcap: softcap('final_logit_softcapping', 30),
    layerWindows: windows,
    hiddenAct: f.str('hidden_activation', f.has('hidden_act') ? (src.hidden_act as string) : 'gelu_pytorch_tanh'),
    vocabSize: f.posInt('vocab_size', g3 ? 262208 : 256000),
    maxPositionEmbeddings: f.posInt('max_position_embeddings', g3 ? 131072 : 8192),
    tieWordEmbeddings: outer.bool('tie_word_embeddings', f.bool('tie_word_embeddings', true)),
  };
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
