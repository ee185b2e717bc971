// GPT-NeoX / Pythia forward pass: LayerNorm with bias, fused QKV laid out per head ([H, 3, Dh] rows: q, k, v of
// head 0, then head 1, ...), partial rotary (rotary_pct of each head, half layout), parallel residual
// (x + attn(ln1(x)) + mlp(ln2(x))) unless use_parallel_residual is false, GELU MLP with biases, untied unembedding.
// Dims: B batch, T positions, D d_model, H heads, Dh head dim, F MLP width, V vocab.
// Weights (canonical names; linear weights [out, in]): embed.W_E [V, D]; blocks.L.ln1.w/b, ln2.w/b [D];
//   blocks.L.attn.W_QKV [3*D, D] + b_QKV [3*D]; W_O [D, D] + b_O; blocks.L.mlp.W_in [F, D] + b_in, W_out [D, F] + b_out;
//   ln_final.w/b [D]; unembed.W_U [V, D].
import * as op from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/graph/graph.js';
import type { BuildContext } from '../common/context.js';
import { attention, mergeHeads } from '../common/attention.js';
import { layerNormWB } from '../common/norm.js';
import { applyRope, layerRopeTables, type RopeTables } from '../common/rope.js';

export function buildGptNeox(ctx: BuildContext): void {
  const { spec } = ctx;
  const rope = layerRopeTables(ctx.positions, spec);
  let x = ctx.hook('hook_embed', op.gather(ctx.w('embed.W_E'), ctx.tokens)); // [B, T, D]
  for (let l = 0; l < spec.nLayers; l++) x = neoxBlock(ctx, l, x, rope(l));
  const h = ctx.hook('ln_final.hook_normalized', layerNormWB(ctx, x, 'ln_final'));
  ctx.unembed(h);
}

function neoxBlock(ctx: BuildContext, l: number, x0: Tensor, rope: RopeTables): Tensor {
  const { spec } = ctx;
  const b = `blocks.${l}`;
  const { nHeads: H, dHead: Dh } = spec;
  const x = ctx.hook(`${b}.hook_resid_pre`, x0);

  const h = ctx.hook(`${b}.ln1.hook_normalized`, layerNormWB(ctx, x, `${b}.ln1`));
  const qkv = ctx.linear(h, `${b}.attn.W_QKV`, spec.bias?.qkv ? `${b}.attn.b_QKV` : undefined); // [B, T, 3*H*Dh]
  const perHead = op.reshape(qkv, [qkv.shape[0], qkv.shape[1], H, 3 * Dh]);
  const [q0, k0, v0] = op.split(perHead, [Dh, Dh, Dh], -1); // each [B, T, H, Dh]
  const q = ctx.hook(`${b}.attn.hook_q`, q0);
  const k = ctx.hook(`${b}.attn.hook_k`, k0);
  const v = ctx.hook(`${b}.attn.hook_v`, v0);
  const qr = ctx.hook(`${b}.attn.hook_rot_q`, applyRope(q, rope, 'half'));
  const kr = ctx.hook(`${b}.attn.hook_rot_k`, applyRope(k, rope, 'half'));
  const z = attention(ctx, l, qr, kr, v); // [B, T, H, Dh]
  const attnOut = ctx.hook(`${b}.hook_attn_out`, ctx.linear(mergeHeads(z), `${b}.attn.W_O`, spec.bias?.o ? `${b}.attn.b_O` : undefined));
  // Parallel residual: the MLP reads the block input, not x + attention (no resid_mid hook then).
  const mid = spec.parallelResidual ? x : ctx.hook(`${b}.hook_resid_mid`, op.add(x, attnOut));

  const h2 = ctx.hook(`${b}.ln2.hook_normalized`, layerNormWB(ctx, mid, `${b}.ln2`));
  const pre = ctx.hook(`${b}.mlp.hook_pre`, ctx.linear(h2, `${b}.mlp.W_in`, `${b}.mlp.b_in`)); // [B, T, F]
  const post = ctx.hook(`${b}.mlp.hook_post`, op.gelu(pre, spec.act === 'gelu' ? 'none' : 'tanh'));
  const mlpOut = ctx.hook(`${b}.hook_mlp_out`, ctx.linear(post, `${b}.mlp.W_out`, `${b}.mlp.b_out`));
  const out = spec.parallelResidual ? op.add(op.add(x, attnOut), mlpOut) : op.add(mid, mlpOut);
  return ctx.hook(`${b}.hook_resid_post`, out);
}
