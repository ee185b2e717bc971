// One description of a decoder-only transformer, whatever file it came from. Architectures read only this.
// `arch` picks the block builder; `family` is the checkpoint's own name for it (Hugging Face model_type). Families
// that are a builder plus options (Qwen2/3 and Mistral are Llama with biases, q/k norms or sliding windows) differ
// only in the optional fields below; every optional field absent means the plain Llama / GPT-2 block.
import type { GemmaConfig, GptNeoxConfig, Gpt2Config, LlamaConfig } from './loaders/hf-config.js';
import { ProbityError } from '../errors.js';

export type RopeLayout = 'interleaved' | 'half';
export type Family = 'llama' | 'gpt2' | 'qwen2' | 'qwen3' | 'mistral' | 'gpt_neox' | 'gemma2' | 'gemma3';

export interface TransformerSpec {
  arch: 'llama' | 'gpt2' | 'gptneox' | 'gemma';
  /** Hugging Face model_type; absent means the same as arch (llama, gpt2). */
  family?: Family;
  dModel: number; // D
  nLayers: number; // L
  nHeads: number; // H
  nKvHeads: number; // K (grouped-query attention when K < H)
  dHead: number; // Dh (may differ from D / H when the config gives head_dim)
  dMlp: number; // F
  vocab: number; // V
  nCtx: number;
  normEps: number;
  /**
   * Rotary embeddings. GGUF/llama2.c rotate interleaved pairs (x0,x1),(x2,x3)...; Hugging Face rotates halves.
   * `dim` < Dh rotates only the first `dim` dims of each head (GPT-NeoX rotary_pct). `scale` divides positions
   * (linear rope_scaling) on full-attention layers; `localTheta` is the base of sliding-window layers (Gemma-3).
   */
  rope?: { theta: number; layout: RopeLayout; dim?: number; scale?: number; localTheta?: number };
  act: 'silu' | 'gelu_tanh' | 'gelu';
  /** Unembedding shares the token embedding matrix. */
  tied: boolean;
  /** Biases on the q/k/v projections (Qwen2) and on the output projection. */
  bias?: { qkv: boolean; o: boolean };
  /** Per-head RMSNorm of q and k over Dh, before RoPE (Qwen3, Gemma-3). */
  qkNorm?: boolean;
  /** Gemma's RMSNorm scales by (1 + w) (Hugging Face files; GGUF files store w + 1 already). */
  normPlusOne?: boolean;
  /** Per layer: the sliding window (keys visible from a query, itself included), or null for full attention. */
  windows?: (number | null)[];
  /** Attention and MLP both read the block input and add to it together (GPT-NeoX use_parallel_residual). */
  parallelResidual?: boolean;
  /** Multiplies the token embedding (Gemma: sqrt(d_model)). */
  embedScale?: number;
  /** Attention score scale; 1 / sqrt(Dh) when absent (Gemma: query_pre_attn_scalar^-0.5). */
  attnScale?: number;
  /** cap * tanh(x / cap) on attention scores (before the mask) and on the final logits (Gemma-2). */
  attnSoftcap?: number;
  finalSoftcap?: number;
}

export function specFromLlama(c: LlamaConfig, ropeLayout: RopeLayout): TransformerSpec {
  if (c.ropeScaling) throw new ProbityError('MODEL_UNSUPPORTED', `${c.family ?? 'Llama'} rope_scaling ${JSON.stringify(c.ropeScaling)} is not supported yet`);
  const spec: TransformerSpec = {
    arch: 'llama',
    dModel: c.hiddenSize,
    nLayers: c.numHiddenLayers,
    nHeads: c.numAttentionHeads,
    nKvHeads: c.numKeyValueHeads,
    dHead: c.headDim,
    dMlp: c.intermediateSize,
    vocab: c.vocabSize,
    nCtx: c.maxPositionEmbeddings,
    normEps: c.rmsNormEps,
    rope: { theta: c.ropeTheta, layout: ropeLayout },
    act: 'silu',
    tied: c.tieWordEmbeddings,
  };
  if (c.family) spec.family = c.family;
  if (c.qkvBias || c.oBias) spec.bias = { qkv: !!c.qkvBias, o: !!c.oBias };
  if (c.qkNorm) spec.qkNorm = true;
  if (c.layerWindows?.some((w) => w !== null)) spec.windows = c.layerWindows;
  return spec;
}

export function specFromGpt2(c: Gpt2Config): TransformerSpec {
  const act = c.activationFunction;
  const known: Record<string, TransformerSpec['act']> = { gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu', gelu_fast: 'gelu_tanh' };
  if (!known[act]) throw new ProbityError('MODEL_UNSUPPORTED', `GPT-2 activation_function "${act}" is not supported; expected one of ${Object.keys(known).join(', ')}`);
  return {
    arch: 'gpt2',
    dModel: c.nEmbd,
    nLayers: c.nLayer,
    nHeads: c.nHead,
    nKvHeads: c.nHead,
    dHead: c.nEmbd / c.nHead,
    dMlp: c.nInner,
    vocab: c.vocabSize,
    nCtx: c.nPositions,
    normEps: c.layerNormEpsilon,
    act: known[act],
    tied: true,
  };
}

const GELU: Record<string, TransformerSpec['act']> = { gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu_fast: 'gelu_tanh' };

function act(family: string, key: string, value: string): TransformerSpec['act'] {
  const a = GELU[value];
  if (!a) throw new ProbityError('MODEL_UNSUPPORTED', `${family} ${key} "${value}" is not supported; expected one of ${Object.keys(GELU).join(', ')}`);
  return a;
}

export function specFromGptNeox(c: GptNeoxConfig): TransformerSpec {
  const dHead = c.hiddenSize / c.numAttentionHeads;
  return {
    arch: 'gptneox',
    family: 'gpt_neox',
    dModel: c.hiddenSize,
    nLayers: c.numHiddenLayers,
    nHeads: c.numAttentionHeads,
    nKvHeads: c.numAttentionHeads,
    dHead,
    dMlp: c.intermediateSize,
    vocab: c.vocabSize,
    nCtx: c.maxPositionEmbeddings,
    normEps: c.layerNormEps,
    rope: { theta: c.ropeTheta, layout: 'half', ...(c.rotaryDim < dHead ? { dim: c.rotaryDim } : {}) },
    act: act('gpt_neox', 'hidden_act', c.hiddenAct),
    tied: c.tieWordEmbeddings,
    bias: { qkv: c.attentionBias, o: c.attentionBias },
    parallelResidual: c.parallelResidual,
  };
}

/** Gemma-2 and Gemma-3 (text). `plusOne` is false for GGUF files, whose norm weights already hold 1 + w. */
export function specFromGemma(c: GemmaConfig, plusOne = true): TransformerSpec {
  const spec: TransformerSpec = {
    arch: 'gemma',
    family: c.family,
    dModel: c.hiddenSize,
    nLayers: c.numHiddenLayers,
    nHeads: c.numAttentionHeads,
    nKvHeads: c.numKeyValueHeads,
    dHead: c.headDim,
    dMlp: c.intermediateSize,
    vocab: c.vocabSize,
    nCtx: c.maxPositionEmbeddings,
    normEps: c.rmsNormEps,
    rope: {
      theta: c.ropeTheta,
      layout: 'half',
      ...(c.ropeScale !== 1 ? { scale: c.ropeScale } : {}),
      ...(c.ropeLocalTheta !== c.ropeTheta ? { localTheta: c.ropeLocalTheta } : {}),
    },
    act: act(c.family, 'hidden_activation', c.hiddenAct),
    tied: c.tieWordEmbeddings,
    normPlusOne: plusOne,
    embedScale: Math.sqrt(c.hiddenSize),
    attnScale: c.queryPreAttnScalar ** -0.5,
  };
  if (c.family === 'gemma3') spec.qkNorm = true;
  if (c.layerWindows.some((w) => w !== null)) spec.windows = c.layerWindows;
  if (c.attnSoftcap !== null) spec.attnSoftcap = c.attnSoftcap;
  if (c.finalSoftcap !== null) spec.finalSoftcap = c.finalSoftcap;
  return spec;
}
