// The attention input shared by the RoPE families: per-head q/k/v from separate projections (optional biases),
// optional per-head q/k RMSNorm (Qwen3, Gemma-3), then RoPE. Hooks: attn.hook_q/k/v (projections),
// attn.q_norm/k_norm.hook_normalized, attn.hook_rot_q/k.
// Dims: B batch, T positions, D d_model, H heads, K kv heads, Dh head dim.
import type { Tensor } from '../../engine/graph/graph.js';
import type { BuildContext } from './context.js';
import { splitHeads } from './attention.js';
import { rmsNormW } from './norm.js';
import { applyRope, type RopeTables } from './rope.js';

/** h [B, T, D] -> rotated q [B, T, H, Dh], rotated k and v [B, T, K, Dh]. Weights blocks.L.attn.W_Q/K/V (+ b_Q/K/V, q_norm.w, k_norm.w). */
export function ropeQkv(ctx: BuildContext, l: number, h: Tensor, rope: RopeTables): { q: Tensor; k: Tensor; v: Tensor } {
  const { spec } = ctx;
  const { nHeads: H, nKvHeads: K, dHead: Dh } = spec;
  const a = `blocks.${l}.attn`;
  const bias = (n: string) => (spec.bias?.qkv ? `${a}.b_${n}` : undefined);
  let q = ctx.hook(`${a}.hook_q`, splitHeads(ctx.linear(h, `${a}.W_Q`, bias('Q')), H, Dh)); // [B, T, H, Dh]
  let k = ctx.hook(`${a}.hook_k`, splitHeads(ctx.linear(h, `${a}.W_K`, bias('K')), K, Dh)); // [B, T, K, Dh]
  const v = ctx.hook(`${a}.hook_v`, splitHeads(ctx.linear(h, `${a}.W_V`, bias('V')), K, Dh)); // [B, T, K, Dh]
  if (spec.qkNorm) {
    q = ctx.hook(`${a}.q_norm.hook_normalized`, rmsNormW(ctx, q, `${a}.q_norm.w`));
    k = ctx.hook(`${a}.k_norm.hook_normalized`, rmsNormW(ctx, k, `${a}.k_norm.w`));
  }
  const layout = spec.rope!.layout;
  return { q: ctx.hook(`${a}.hook_rot_q`, applyRope(q, rope, layout)), k: ctx.hook(`${a}.hook_rot_k`, applyRope(k, rope, layout)), v };
}
