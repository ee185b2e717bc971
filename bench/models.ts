// Model benchmarks (issue: models): forward tokens/s on a random GPT-2-small-shaped model (12 layers, d 768,
// vocab 50257, batch 8 x 128, logits for every position) and generation tokens/s with the KV cache.
// Anchor on the reference machine: PyTorch 1.13 CPU, 440 tokens/s for the same forward.
import { Model } from '../src/models/model.js';
import { MapWeightStore } from '../src/models/common/weights.js';
import { gpt2WeightTable } from '../src/models/gpt2/weights.js';
import type { TransformerSpec } from '../src/models/spec.js';
import type { Tokenizer } from '../src/models/tokenizers/types.js';
import { NDArray } from '../src/engine/ndarray.js';
import { generate } from '../src/models/generate.js';
import { median, randn } from './util.js';

export function randomGpt2(spec: Partial<TransformerSpec> = {}): Model {
  const s: TransformerSpec = {
    arch: 'gpt2', dModel: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, dHead: 64, dMlp: 3072, vocab: 50257, nCtx: 1024,
    normEps: 1e-5, act: 'gelu_tanh', tied: true, ...spec,
  };
  const store = new MapWeightStore();
  let seed = 1;
  for (const e of gpt2WeightTable(s, 'hf')) {
    const n = e.dims.reduce((a, b) => a * b, 1);
    const data = e.name.endsWith('.w') ? new Float32Array(n).fill(1) : randn(n, seed++, 0.02);
    store.set(e.name, new NDArray(data, e.dims), e.layout ?? 'out_in');
  }
  const tokenizer: Tokenizer = {
    vocabSize: s.vocab, bos: null, eos: s.vocab - 1, addBos: false,
    encode: () => [], decode: () => '', decodeToken: () => new Uint8Array(0), tokenText: (i) => String(i),
  };
  return new Model(s, store, tokenizer, 'random-gpt2-small');
}

export async function benchGpt2(reps = 5) {
  const model = randomGpt2();
  const B = 8, T = 128;
  const rows = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7919 + t * 104729) % 50000));
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    await model.forward(rows, { logits: 'all' });
    if (i >= 1) times.push(performance.now() - t0);
  }
  const fwd = median(times);
  // Generation: batch 1, prompt 16 tokens, 64 new tokens with the KV cache (greedy).
  const genTimes: number[] = [];
  const newTokens = 64;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    await generate(model, [rows[0].slice(0, 16)], { maxTokens: newTokens, temperature: 0, stop: [] });
    genTimes.push(performance.now() - t0);
  }
  return {
    gpt2_small_forward_tokens_per_s: (B * T) / (fwd / 1e3),
    gpt2_small_forward_ms: fwd,
    gpt2_small_forward_config: { batch: B, seq: T, logits: 'all positions' },
    gpt2_small_pytorch_anchor_tokens_per_s: 440,
    generation_tokens_per_s: newTokens / (Math.min(...genTimes) / 1e3),
    generation_config: { batch: 1, prompt: 16, new_tokens: newTokens, kv_cache: true },
  };
}
