// GPT-NeoX / Pythia Hugging Face names -> ours (GPTNeoXForCausalLM: "gpt_neox." decoder, "embed_out" head).
// query_key_value stays fused in its per-head [H, 3, Dh] row order; the builder splits it.
import type { TransformerSpec } from '../spec.js';
import type { WeightEntry } from '../common/weights.js';

export function gptNeoxWeightTable(s: TransformerSpec): WeightEntry[] {
  const { dModel: D, dMlp: F, vocab: V, nHeads: H, dHead: Dh } = s;
  const hf = (n: string) => [`gpt_neox.${n}`, n];
  const t: WeightEntry[] = [
    { name: 'embed.W_E', file: hf('embed_in.weight'), dims: [V, D] },
    { name: 'ln_final.w', file: hf('final_layer_norm.weight'), dims: [D] },
    { name: 'ln_final.b', file: hf('final_layer_norm.bias'), dims: [D] },
  ];
  if (!s.tied) t.push({ name: 'unembed.W_U', file: ['embed_out.weight'], dims: [V, D] });
  for (let l = 0; l < s.nLayers; l++) {
    const b = `blocks.${l}`;
    const p = (n: string) => hf(`layers.${l}.${n}`);
    t.push(
      { name: `${b}.ln1.w`, file: p('input_layernorm.weight'), dims: [D] },
      { name: `${b}.ln1.b`, file: p('input_layernorm.bias'), dims: [D] },
      { name: `${b}.attn.W_QKV`, file: p('attention.query_key_value.weight'), dims: [3 * H * Dh, D] },
      { name: `${b}.attn.W_O`, file: p('attention.dense.weight'), dims: [D, H * Dh] },
      { name: `${b}.ln2.w`, file: p('post_attention_layernorm.weight'), dims: [D] },
      { name: `${b}.ln2.b`, file: p('post_attention_layernorm.bias'), dims: [D] },
      { name: `${b}.mlp.W_in`, file: p('mlp.dense_h_to_4h.weight'), dims: [F, D] },
      { name: `${b}.mlp.b_in`, file: p('mlp.dense_h_to_4h.bias'), dims: [F] },
      { name: `${b}.mlp.W_out`, file: p('mlp.dense_4h_to_h.weight'), dims: [D, F] },
      { name: `${b}.mlp.b_out`, file: p('mlp.dense_4h_to_h.bias'), dims: [D] },
    );
    if (s.bias?.qkv) t.push({ name: `${b}.attn.b_QKV`, file: p('attention.query_key_value.bias'), dims: [3 * H * Dh] });
    if (s.bias?.o) t.push({ name: `${b}.attn.b_O`, file: p('attention.dense.bias'), dims: [D] });
  }
  return t;
}
