// GPT-2 forward pass (LayerNorm, learned positions, fused qkv, GELU-tanh).
// Dims: B batch, T positions, D d_model, H heads, Dh head dim, F MLP width, V vocab, N context.
// Weights (canonical names; linear weights in GPT-2's Conv1D layout [in, out] from HF files, [out, in] from GGUF):
//   embed.W_E [V, D]; pos_embed.W_pos [N, D]; blocks.L.ln1.w/b [D]; blocks.L.attn.W_QKV [D, 3D] + b_QKV [3D];
//   blocks.L.attn.W_O [D, D] + b_O; blocks.L.ln2.w/b; blocks.L.mlp.W_in [D, F] + b_in; W_out [F, D] + b_out;
//   ln_final.w/b. The unembedding is tied to embed.W_E.
import * as op from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/graph/graph.js';
import type { BuildContext } from '../common/context.js';
import { attention, mergeHeads, splitHeads } from '../common/attention.js';

export function buildGpt2(ctx: BuildContext): void {
  const { spec } = ctx;
  const tok = ctx.hook('hook_embed', op.gather(ctx.w('embed.W_E'), ctx.tokens)); // [B, T, D]
  const pos = ctx.hook('hook_pos_embed', op.gather(ctx.w('pos_embed.W_pos'), ctx.positions)); // [B, T, D]
  let x = op.add(tok, pos);
  for (let l = 0; l < spec.nLayers; l++) x = gpt2Block(ctx, l, x);
  const h = ctx.hook('ln_final.hook_normalized', op.layerNorm(x, ctx.w('ln_final.w'), ctx.w('ln_final.b'), spec.normEps));
  ctx.unembed(h);
}

function gpt2Block(ctx: BuildContext, l: number, x0: Tensor): Tensor {
  const { spec } = ctx;
  const b = `blocks.${l}`;
  const { nHeads: H, dHead: Dh, dModel: D } = spec;
  const x = ctx.hook(`${b}.hook_resid_pre`, x0);

  const h = ctx.hook(`${b}.ln1.hook_normalized`, op.layerNorm(x, ctx.w(`${b}.ln1.w`), ctx.w(`${b}.ln1.b`), spec.normEps));
  const [q0, k0, v0] = op.split(ctx.linear(h, `${b}.attn.W_QKV`, `${b}.attn.b_QKV`), [D, D, D], -1);
  const q = ctx.hook(`${b}.attn.hook_q`, splitHeads(q0, H, Dh)); // [B, T, H, Dh]
  const k = ctx.hook(`${b}.attn.hook_k`, splitHeads(k0, H, Dh));
  const v = ctx.hook(`${b}.attn.hook_v`, splitHeads(v0, H, Dh));
  const z = attention(ctx, l, q, k, v);
  const attnOut = ctx.hook(`${b}.hook_attn_out`, ctx.linear(mergeHeads(z), `${b}.attn.W_O`, `${b}.attn.b_O`));
  const mid = ctx.hook(`${b}.hook_resid_mid`, op.add(x, attnOut));

  const h2 = ctx.hook(`${b}.ln2.hook_normalized`, op.layerNorm(mid, ctx.w(`${b}.ln2.w`), ctx.w(`${b}.ln2.b`), spec.normEps));
  const pre = ctx.hook(`${b}.mlp.hook_pre`, ctx.linear(h2, `${b}.mlp.W_in`, `${b}.mlp.b_in`)); // [B, T, F]
  const post = ctx.hook(`${b}.mlp.hook_post`, op.gelu(pre, spec.act === 'gelu' ? 'none' : 'tanh'));
  const mlpOut = ctx.hook(`${b}.hook_mlp_out`, ctx.linear(post, `${b}.mlp.W_out`, `${b}.mlp.b_out`));
  return ctx.hook(`${b}.hook_resid_post`, op.add(mid, mlpOut));
}
