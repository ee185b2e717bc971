// One description of a decoder-only transformer, whatever file it came from. Architectures read only this.
import type { Gpt2Config, LlamaConfig } from './loaders/hf-config.js';
import { ProbityError } from '../errors.js';

export type RopeLayout = 'interleaved' | 'half';

export interface TransformerSpec {
  arch: 'llama' | 'gpt2';
  dModel: number; // D
  nLayers: number; // L
  nHeads: number; // H
  nKvHeads: number; // K (grouped-query attention when K < H)
  dHead: number; // Dh
  dMlp: number; // F
  vocab: number; // V
  nCtx: number;
  normEps: number;
  /** Llama only. GGUF/llama2.c rotate interleaved pairs (x0,x1),(x2,x3)...; Hugging Face rotates halves. */
  rope?: { theta: number; layout: RopeLayout };
  act: 'silu' | 'gelu_tanh' | 'gelu';
  /** Unembedding shares the token embedding matrix. */
  tied: boolean;
}

export function specFromLlama(c: LlamaConfig, ropeLayout: RopeLayout): TransformerSpec {
  if (c.ropeScaling) throw new ProbityError('MODEL_UNSUPPORTED', `Llama rope_scaling ${JSON.stringify(c.ropeScaling)} is not supported yet`);
  return {
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
