// GPT-2 checkpoint names -> ours. Hugging Face stores Conv1D weights as [in, out]; llama.cpp's GGUF stores the
// usual [out, in] with q, k, v fused the same way.
import type { TransformerSpec } from '../spec.js';
import type { WeightEntry } from '../common/weights.js';

export function gpt2WeightTable(s: TransformerSpec, format: 'gguf' | 'hf'): WeightEntry[] {
  const { dModel: D, dMlp: F, vocab: V, nCtx: N } = s;
  const hf = (n: string) => [`transformer.${n}`, n];
  const gguf = format === 'gguf';
  const layout = gguf ? 'out_in' : 'in_out';
  const mat = (inD: number, outD: number) => (gguf ? [outD, inD] : [inD, outD]);
  const t: WeightEntry[] = [
    { name: 'embed.W_E', file: gguf ? ['token_embd.weight'] : hf('wte.weight'), dims: [V, D] },
    { name: 'pos_embed.W_pos', file: gguf ? ['position_embd.weight'] : hf('wpe.weight'), dims: [N, D] },
    { name: 'ln_final.w', file: gguf ? ['output_norm.weight'] : hf('ln_f.weight'), dims: [D] },
    { name: 'ln_final.b', file: gguf ? ['output_norm.bias'] : hf('ln_f.bias'), dims: [D] },
  ];
  for (let l = 0; l < s.nLayers; l++) {
    const b = `blocks.${l}`;
    const p = (gg: string, hh: string) => (gguf ? [`blk.${l}.${gg}`] : hf(`h.${l}.${hh}`));
    t.push(
      { name: `${b}.ln1.w`, file: p('attn_norm.weight', 'ln_1.weight'), dims: [D] },
      { name: `${b}.ln1.b`, file: p('attn_norm.bias', 'ln_1.bias'), dims: [D] },
      { name: `${b}.attn.W_QKV`, file: p('attn_qkv.weight', 'attn.c_attn.weight'), dims: mat(D, 3 * D), layout },
      { name: `${b}.attn.b_QKV`, file: p('attn_qkv.bias', 'attn.c_attn.bias'), dims: [3 * D] },
      { name: `${b}.attn.W_O`, file: p('attn_output.weight', 'attn.c_proj.weight'), dims: mat(D, D), layout },
      { name: `${b}.attn.b_O`, file: p('attn_output.bias', 'attn.c_proj.bias'), dims: [D] },
      { name: `${b}.ln2.w`, file: p('ffn_norm.weight', 'ln_2.weight'), dims: [D] },
      { name: `${b}.ln2.b`, file: p('ffn_norm.bias', 'ln_2.bias'), dims: [D] },
      { name: `${b}.mlp.W_in`, file: p('ffn_up.weight', 'mlp.c_fc.weight'), dims: mat(D, F), layout },
      { name: `${b}.mlp.b_in`, file: p('ffn_up.bias', 'mlp.c_fc.bias'), dims: [F] },
      { name: `${b}.mlp.W_out`, file: p('ffn_down.weight', 'mlp.c_proj.weight'), dims: mat(F, D), layout },
      { name: `${b}.mlp.b_out`, file: p('ffn_down.bias', 'mlp.c_proj.bias'), dims: [D] },
    );
  }
  return t;
}
