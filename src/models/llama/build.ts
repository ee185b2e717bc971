// Llama forward pass (RMSNorm, RoPE, grouped-query attention, SwiGLU), one block readable on one screen. Qwen2/2.5
// (q/k/v biases), Qwen3 (per-head q/k norm, explicit head_dim) and Mistral (sliding window) are this block with spec
// options, read in common/qkv.ts and common/attention.ts.
// Dims: B batch, T positions, D d_model, H heads, K kv heads, Dh head dim, F MLP width, V vocab.
// Weights (canonical names; linear weights in PyTorch Linear layout [out, in]):
//   embed.W_E [V, D]; blocks.L.ln1.w [D]; blocks.L.attn.W_Q [H*Dh, D], W_K/W_V [K*Dh, D], W_O [D, H*Dh];
//   optional b_Q [H*Dh], b_K/b_V [K*Dh], b_O [D], q_norm.w/k_norm.w [Dh];
//   blocks.L.ln2.w [D]; blocks.L.mlp.W_gate/W_in [F, D], W_out [D, F]; ln_final.w [D]; unembed.W_U [V, D] unless tied.
import * as op from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/graph/graph.js';
import type { BuildContext } from '../common/context.js';
import { attention, mergeHeads } from '../common/attention.js';
import { layerRopeTables, type RopeTables } from '../common/rope.js';
import { ropeQkv } from '../common/qkv.js';

export function buildLlama(ctx: BuildContext): void {
  const { spec } = ctx;
  const rope = layerRopeTables(ctx.positions, spec);
  let x = ctx.hook('hook_embed', op.gather(ctx.w('embed.W_E'), ctx.tokens)); // [B, T, D]
  for (let l = 0; l < spec.nLayers; l++) x = llamaBlock(ctx, l, x, rope(l));
  const h = ctx.hook('ln_final.hook_normalized', op.rmsNorm(x, ctx.w('ln_final.w'), spec.normEps));
  ctx.unembed(h);
}

function llamaBlock(ctx: BuildContext, l: number, x0: Tensor, rope: RopeTables): Tensor {
  const { spec } = ctx;
  const b = `blocks.${l}`;
  const x = ctx.hook(`${b}.hook_resid_pre`, x0);

  const h = ctx.hook(`${b}.ln1.hook_normalized`, op.rmsNorm(x, ctx.w(`${b}.ln1.w`), spec.normEps));
  const { q, k, v } = ropeQkv(ctx, l, h, rope);
  const z = attention(ctx, l, q, k, v); // [B, T, H, Dh]
  const attnOut = ctx.hook(`${b}.hook_attn_out`, ctx.linear(mergeHeads(z), `${b}.attn.W_O`, spec.bias?.o ? `${b}.attn.b_O` : undefined));
  const mid = ctx.hook(`${b}.hook_resid_mid`, op.add(x, attnOut));

  const h2 = ctx.hook(`${b}.ln2.hook_normalized`, op.rmsNorm(mid, ctx.w(`${b}.ln2.w`), spec.normEps));
  const gate = ctx.hook(`${b}.mlp.hook_pre`, ctx.linear(h2, `${b}.mlp.W_gate`)); // [B, T, F]
  const up = ctx.hook(`${b}.mlp.hook_pre_linear`, ctx.linear(h2, `${b}.mlp.W_in`)); // [B, T, F]
  const post = ctx.hook(`${b}.mlp.hook_post`, op.mul(op.silu(gate), up));
  const mlpOut = ctx.hook(`${b}.hook_mlp_out`, ctx.linear(post, `${b}.mlp.W_out`));
  return ctx.hook(`${b}.hook_resid_post`, op.add(mid, mlpOut));
}
