// Gemma-2 / Gemma-3 Hugging Face names -> ours. Text-only checkpoints keep the decoder under "model."; multimodal
// Gemma-3 checkpoints (Gemma3ForConditionalGeneration) under "language_model.model." (transformers < 4.52) or
// "model.language_model." (later), with the vision tower beside it (ignored here).
import type { TransformerSpec } from '../spec.js';
import type { WeightEntry } from '../common/weights.js';

const PREFIXES = ['model.', 'language_model.model.', 'model.language_model.', ''];

export function gemmaWeightTable(s: TransformerSpec): WeightEntry[] {
  const { dModel: D, nHeads: H, nKvHeads: K, dHead: Dh, dMlp: F, vocab: V } = s;
  const hf = (n: string) => PREFIXES.map((p) => p + n);
  const t: WeightEntry[] = [
    { name: 'embed.W_E', file: hf('embed_tokens.weight'), dims: [V, D] },
    { name: 'ln_final.w', file: hf('norm.weight'), dims: [D] },
  ];
  if (!s.tied) t.push({ name: 'unembed.W_U', file: ['lm_head.weight', 'language_model.lm_head.weight'], dims: [V, D] });
  for (let l = 0; l < s.nLayers; l++) {
    const b = `blocks.${l}`;
    const h = (n: string) => hf(`layers.${l}.${n}.weight`);
    t.push(
      { name: `${b}.ln1.w`, file: h('input_layernorm'), dims: [D] },
      { name: `${b}.attn.W_Q`, file: h('self_attn.q_proj'), dims: [H * Dh, D] },
      { name: `${b}.attn.W_K`, file: h('self_attn.k_proj'), dims: [K * Dh, D] },
      { name: `${b}.attn.W_V`, file: h('self_attn.v_proj'), dims: [K * Dh, D] },
      { name: `${b}.attn.W_O`, file: h('self_attn.o_proj'), dims: [D, H * Dh] },
      { name: `${b}.ln1_post.w`, file: h('post_attention_layernorm'), dims: [D] },
      { name: `${b}.ln2.w`, file: h('pre_feedforward_layernorm'), dims: [D] },
      { name: `${b}.ln2_post.w`, file: h('post_feedforward_layernorm'), dims: [D] },
      { name: `${b}.mlp.W_gate`, file: h('mlp.gate_proj'), dims: [F, D] },
      { name: `${b}.mlp.W_in`, file: h('mlp.up_proj'), dims: [F, D] },
      { name: `${b}.mlp.W_out`, file: h('mlp.down_proj'), dims: [D, F] },
    );
    if (s.qkNorm) {
      t.push(
        { name: `${b}.attn.q_norm.w`, file: h('self_attn.q_norm'), dims: [Dh] },
        { name: `${b}.attn.k_norm.w`, file: h('self_attn.k_norm'), dims: [Dh] },
      );
    }
  }
  return t;
}
