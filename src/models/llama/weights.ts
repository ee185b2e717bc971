// Llama (and Qwen2/3, Mistral) checkpoint names -> ours, for GGUF (llama.cpp names) and Hugging Face safetensors.
import type { TransformerSpec } from '../spec.js';
import type { WeightEntry } from '../common/weights.js';

export function llamaWeightTable(s: TransformerSpec, format: 'gguf' | 'hf'): WeightEntry[] {
  const { dModel: D, nHeads: H, nKvHeads: K, dHead: Dh, dMlp: F, vocab: V } = s;
  const hf = (n: string) => [`model.${n}`, n];
  const t: WeightEntry[] = [
    { name: 'embed.W_E', file: format === 'gguf' ? ['token_embd.weight'] : hf('embed_tokens.weight'), dims: [V, D] },
    { name: 'ln_final.w', file: format === 'gguf' ? ['output_norm.weight'] : hf('norm.weight'), dims: [D] },
  ];
  if (!s.tied) t.push({ name: 'unembed.W_U', file: format === 'gguf' ? ['output.weight'] : ['lm_head.weight'], dims: [V, D] });
  for (let l = 0; l < s.nLayers; l++) {
    const g = (n: string) => [`blk.${l}.${n}.weight`];
    const h = (n: string) => hf(`layers.${l}.${n}.weight`);
    const pick = (gg: string, hh: string) => (format === 'gguf' ? g(gg) : h(hh));
    const b = `blocks.${l}`;
    t.push(
      { name: `${b}.ln1.w`, file: pick('attn_norm', 'input_layernorm'), dims: [D] },
      { name: `${b}.attn.W_Q`, file: pick('attn_q', 'self_attn.q_proj'), dims: [H * Dh, D] },
      { name: `${b}.attn.W_K`, file: pick('attn_k', 'self_attn.k_proj'), dims: [K * Dh, D] },
      { name: `${b}.attn.W_V`, file: pick('attn_v', 'self_attn.v_proj'), dims: [K * Dh, D] },
      { name: `${b}.attn.W_O`, file: pick('attn_output', 'self_attn.o_proj'), dims: [D, H * Dh] },
      { name: `${b}.ln2.w`, file: pick('ffn_norm', 'post_attention_layernorm'), dims: [D] },
      { name: `${b}.mlp.W_gate`, file: pick('ffn_gate', 'mlp.gate_proj'), dims: [F, D] },
      { name: `${b}.mlp.W_in`, file: pick('ffn_up', 'mlp.up_proj'), dims: [F, D] },
      { name: `${b}.mlp.W_out`, file: pick('ffn_down', 'mlp.down_proj'), dims: [D, F] },
    );
    // Qwen2 (q/k/v biases), Qwen3 (q_norm/k_norm, attention_bias); llama.cpp spells them attn_q.bias, attn_q_norm.
    const bias = (gg: string, hh: string) => (format === 'gguf' ? [`blk.${l}.${gg}.bias`] : hf(`layers.${l}.${hh}.bias`));
    if (s.bias?.qkv) {
      t.push(
        { name: `${b}.attn.b_Q`, file: bias('attn_q', 'self_attn.q_proj'), dims: [H * Dh] },
        { name: `${b}.attn.b_K`, file: bias('attn_k', 'self_attn.k_proj'), dims: [K * Dh] },
        { name: `${b}.attn.b_V`, file: bias('attn_v', 'self_attn.v_proj'), dims: [K * Dh] },
      );
    }
    if (s.bias?.o) t.push({ name: `${b}.attn.b_O`, file: bias('attn_output', 'self_attn.o_proj'), dims: [D] });
    if (s.qkNorm) {
      t.push(
        { name: `${b}.attn.q_norm.w`, file: pick('attn_q_norm', 'self_attn.q_norm'), dims: [Dh] },
        { name: `${b}.attn.k_norm.w`, file: pick('attn_k_norm', 'self_attn.k_norm'), dims: [Dh] },
      );
    }
  }
  return t;
}
