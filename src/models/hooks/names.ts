// Hook names are the public API (TransformerLens's names), so SAEs trained elsewhere (SAELens `hook_name`) plug in.
// Shapes, with B batch, T positions, S key positions, D d_model, H heads, K kv heads, Dh head dim, F MLP width:
//   hook_embed, hook_pos_embed (GPT-2)        [B, T, D]
//   blocks.L.hook_resid_pre|mid|post          [B, T, D]
//   blocks.L.ln1.hook_normalized, ln2.…       [B, T, D]
//   blocks.L.attn.hook_q, hook_rot_q (RoPE)   [B, T, H, Dh]
//   blocks.L.attn.hook_k|v, hook_rot_k        [B, T, K, Dh]
//   blocks.L.attn.q_norm|k_norm.hook_normalized  [B, T, H|K, Dh]  (Qwen3, Gemma-3: per-head norm before RoPE)
//   blocks.L.attn.hook_attn_scores|pattern    [B, H, T, S]   (scores are pre-softmax, masked)
//   blocks.L.attn.hook_z                      [B, T, H, Dh]
//   blocks.L.hook_attn_out, hook_mlp_out      [B, T, D]      (Gemma: after ln1_post / ln2_post, what is added)
//   blocks.L.ln1_post|ln2_post.hook_normalized  [B, T, D]    (Gemma's post-attention / post-feedforward norms)
//   blocks.L.hook_resid_mid                   [B, T, D]      (absent with GPT-NeoX's parallel residual)
//   blocks.L.mlp.hook_pre, hook_post          [B, T, F]      (gated MLPs: hook_pre = gate, hook_pre_linear = up)
//   ln_final.hook_normalized                  [B, T, D]
import { ProbityError } from '../../errors.js';
import type { TransformerSpec } from '../spec.js';

export function hookNames(spec: TransformerSpec): string[] {
  const names = ['hook_embed'];
  if (spec.arch === 'gpt2') names.push('hook_pos_embed');
  const gated = spec.arch === 'llama' || spec.arch === 'gemma';
  const gemma = spec.arch === 'gemma';
  for (let l = 0; l < spec.nLayers; l++) {
    const b = `blocks.${l}`;
    names.push(`${b}.hook_resid_pre`, `${b}.ln1.hook_normalized`, `${b}.attn.hook_q`, `${b}.attn.hook_k`, `${b}.attn.hook_v`);
    if (spec.qkNorm) names.push(`${b}.attn.q_norm.hook_normalized`, `${b}.attn.k_norm.hook_normalized`);
    if (spec.rope) names.push(`${b}.attn.hook_rot_q`, `${b}.attn.hook_rot_k`);
    names.push(`${b}.attn.hook_attn_scores`, `${b}.attn.hook_pattern`, `${b}.attn.hook_z`);
    if (gemma) names.push(`${b}.ln1_post.hook_normalized`);
    names.push(`${b}.hook_attn_out`);
    if (!spec.parallelResidual) names.push(`${b}.hook_resid_mid`);
    names.push(`${b}.ln2.hook_normalized`, `${b}.mlp.hook_pre`);
    if (gated) names.push(`${b}.mlp.hook_pre_linear`);
    names.push(`${b}.mlp.hook_post`);
    if (gemma) names.push(`${b}.ln2_post.hook_normalized`);
    names.push(`${b}.hook_mlp_out`, `${b}.hook_resid_post`);
  }
  names.push('ln_final.hook_normalized');
  return names;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** Throw for a name the model does not have, naming the closest valid ones. */
export function checkHookName(name: string, valid: readonly string[]): void {
  if (valid.includes(name)) return;
  const near = [...valid].sort((x, y) => distance(name, x) - distance(name, y)).slice(0, 3);
  throw new ProbityError('HOOK_UNKNOWN', `unknown hook "${name}"; nearest valid names: ${near.join(', ')} (${valid.length} hooks in all; see \`probity inspect\`)`);
}
