// Gemma-2 and Gemma-3 (text) forward pass: embedding x sqrt(D), (1 + w) RMSNorm, four norms per block (the
// post-attention and post-feedforward norms act on each branch before its residual add), GeGLU with tanh GELU,
// attention scaled by query_pre_attn_scalar^-0.5, sliding window on local layers. Gemma-2 soft-caps attention scores
// and final logits; Gemma-3 instead norms q and k per head before RoPE and gives local layers their own RoPE base
// (all from the spec: common/attention.ts, common/qkv.ts, common/rope.ts, context.unembed).
// Dims: B batch, T positions, D d_model, H heads, K kv heads, Dh head dim, F MLP width, V vocab.
// Weights (canonical names; linear weights [out, in]): embed.W_E [V, D] (tied unembedding);
//   blocks.L.ln1.w, ln1_post.w, ln2.w, ln2_post.w [D]; blocks.L.attn.W_Q [H*Dh, D], W_K/W_V [K*Dh, D], W_O [D, H*Dh],
//   q_norm.w/k_norm.w [Dh] (Gemma-3); blocks.L.mlp.W_gate/W_in [F, D], W_out [D, F]; ln_final.w [D].
import * as op from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/graph/graph.js';
import type { BuildContext } from '../common/context.js';
import { attention, mergeHeads } from '../common/attention.js';
import { rmsNormW } from '../common/norm.js';
import { layerRopeTables, type RopeTables } from '../common/rope.js';
import { ropeQkv } from '../common/qkv.js';

export function buildGemma(ctx: BuildContext): void {
  const { spec } = ctx;
  const rope = layerRopeTables(ctx.positions, spec);
  // HF's embedding module returns the scaled rows (Gemma3TextScaledWordEmbedding), so hook_embed is the scaled value.
  let x = ctx.hook('hook_embed', op.mul(op.gather(ctx.w('embed.W_E'), ctx.tokens), spec.embedScale ?? 1)); // [B, T, D]
  for (let l = 0; l < spec.nLayers; l++) x = gemmaBlock(ctx, l, x, rope(l));
  const h = ctx.hook('ln_final.hook_normalized', rmsNormW(ctx, x, 'ln_final.w'));
  ctx.unembed(h);
}

function gemmaBlock(ctx: BuildContext, l: number, x0: Tensor, rope: RopeTables): Tensor {
  const b = `blocks.${l}`;
  const x = ctx.hook(`${b}.hook_resid_pre`, x0);

  const h = ctx.hook(`${b}.ln1.hook_normalized`, rmsNormW(ctx, x, `${b}.ln1.w`));
  const { q, k, v } = ropeQkv(ctx, l, h, rope);
  const z = attention(ctx, l, q, k, v); // [B, T, H, Dh]
  const o = ctx.hook(`${b}.ln1_post.hook_normalized`, rmsNormW(ctx, ctx.linear(mergeHeads(z), `${b}.attn.W_O`), `${b}.ln1_post.w`));
  const attnOut = ctx.hook(`${b}.hook_attn_out`, o);
  const mid = ctx.hook(`${b}.hook_resid_mid`, op.add(x, attnOut));

  const h2 = ctx.hook(`${b}.ln2.hook_normalized`, rmsNormW(ctx, mid, `${b}.ln2.w`));
  const gate = ctx.hook(`${b}.mlp.hook_pre`, ctx.linear(h2, `${b}.mlp.W_gate`)); // [B, T, F]
  const up = ctx.hook(`${b}.mlp.hook_pre_linear`, ctx.linear(h2, `${b}.mlp.W_in`)); // [B, T, F]
  const post = ctx.hook(`${b}.mlp.hook_post`, op.mul(op.gelu(gate, ctx.spec.act === 'gelu' ? 'none' : 'tanh'), up));
  const m = ctx.hook(`${b}.ln2_post.hook_normalized`, rmsNormW(ctx, ctx.linear(post, `${b}.mlp.W_out`), `${b}.ln2_post.w`));
  const mlpOut = ctx.hook(`${b}.hook_mlp_out`, m);
  return ctx.hook(`${b}.hook_resid_post`, op.add(mid, mlpOut));
}
