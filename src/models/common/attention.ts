// Causal self-attention shared by every architecture (scale, soft-cap and sliding window from the spec), from per-head q, k, v in TransformerLens layout.
// Dims: B batch, T query positions, S key positions (past + T), H heads, K kv heads, Dh head dim.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { BuildContext } from './context.js';
import { softCap } from './norm.js';

/** q [B, T, H, Dh], k/v [B, T, K, Dh] (after RoPE where it applies) -> z [B, T, H, Dh]. */
export function attention(ctx: BuildContext, l: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const { nHeads: H, nKvHeads: K, dHead: Dh } = ctx.spec;
  const b = `blocks.${l}.attn`;
  const qh = op.transpose(q, [0, 2, 1, 3]); // [B, H, T, Dh]
  const cached = ctx.withCache(l, op.transpose(k, [0, 2, 1, 3]), op.transpose(v, [0, 2, 1, 3])); // [B, K, S, Dh]
  let kh = cached.k;
  let vh = cached.v;
  if (K !== H) {
    // Grouped-query attention: each kv head serves H/K query heads (adjacent query heads share one).
    const rep = (t: Tensor) => op.reshape(op.expandTo(op.unsqueeze(t, 2), [t.shape[0], K, H / K, t.shape[2], Dh]), [t.shape[0], H, t.shape[2], Dh]);
    kh = rep(kh);
    vh = rep(vh);
  }
  const { attnScale, attnSoftcap, windows } = ctx.spec;
  let scores = op.mul(op.matmul(qh, op.transpose(kh, [0, 1, 3, 2])), attnScale ?? 1 / Math.sqrt(Dh)); // [B, H, T, S]
  if (attnSoftcap) scores = softCap(scores, attnSoftcap);
  scores = op.where(ctx.attentionMask(qh, kh, windows?.[l] ?? null), scores, -1e9);
  scores = ctx.hook(`${b}.hook_attn_scores`, scores);
  const pattern = ctx.hook(`${b}.hook_pattern`, op.softmax(scores, -1)); // [B, H, T, S]
  const z = op.transpose(op.matmul(pattern, vh), [0, 2, 1, 3]); // [B, T, H, Dh]
  return ctx.hook(`${b}.hook_z`, z);
}

/** [B, T, n*Dh] -> [B, T, n, Dh] and back. */
export function splitHeads(x: Tensor, n: number, Dh: number): Tensor {
  return op.reshape(x, [x.shape[0], x.shape[1], n, Dh]);
}
export function mergeHeads(x: Tensor): Tensor {
  return op.reshape(x, [x.shape[0], x.shape[1], (x.shape[2] as number) * (x.shape[3] as number)]);
}
