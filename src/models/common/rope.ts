// Rotary position embeddings. Two layouts exist in the wild for the same maths: llama2.c and GGUF rotate interleaved
// pairs (x0, x1), (x2, x3), ...; Hugging Face checkpoints rotate the two halves (x_i, x_{i+Dh/2}). Reading a checkpoint
// with the wrong layout gives a model that runs and writes nonsense, so the layout is part of the spec.
// Partial rotary (GPT-NeoX rotary_pct) rotates the first `dim` dims of each head and passes the rest through.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { RopeLayout, TransformerSpec } from '../spec.js';

export interface RopeTables {
  cos: Tensor; // [B, T, 1, dim/2]
  sin: Tensor;
  dim: number;
}

/** cos and sin tables [B, T, 1, dim/2] for the given absolute positions [B, T]; positions divided by `scale` (linear scaling). */
export function ropeTables(positions: Tensor, dim: number, theta: number, scale = 1): RopeTables {
  const half = dim / 2;
  const inv = Float32Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / dim) / scale);
  const invFreq = positions.graph.constant(inv, 'float32', [half], `rope_inv_freq_${theta}_${scale}_${dim}`);
  const angles = op.mul(op.unsqueeze(op.cast(positions, 'float32'), -1), invFreq); // [B, T, dim/2]
  return { cos: op.unsqueeze(op.cos(angles), 2), sin: op.unsqueeze(op.sin(angles), 2), dim };
}

/**
 * The tables of each layer: full-attention layers use rope.theta (with rope.scale), sliding-window layers
 * rope.localTheta where the spec has one (Gemma-3). Tables are built once per distinct base.
 */
export function layerRopeTables(positions: Tensor, spec: TransformerSpec): (l: number) => RopeTables {
  const rope = spec.rope!;
  const dim = rope.dim ?? spec.dHead;
  const global = ropeTables(positions, dim, rope.theta, rope.scale ?? 1);
  if (rope.localTheta === undefined) return () => global;
  const local = ropeTables(positions, dim, rope.localTheta);
  return (l) => (spec.windows?.[l] != null ? local : global);
}

/** Rotate x [B, T, n, Dh] (its first t.dim dims when t.dim < Dh). */
export function applyRope(x: Tensor, t: RopeTables | { cos: Tensor; sin: Tensor }, layout: RopeLayout): Tensor {
  const Dh = x.shape[3] as number;
  const dim = 'dim' in t ? t.dim : Dh;
  if (dim < Dh) {
    const [rot, pass] = op.split(x, [dim, Dh - dim], -1);
    return op.concat([rotate(rot, t, layout), pass], -1);
  }
  return rotate(x, t, layout);
}

function rotate(x: Tensor, t: { cos: Tensor; sin: Tensor }, layout: RopeLayout): Tensor {
  const [B, T, n, Dh] = x.shape as [string, string, number, number];
  const half = Dh / 2;
  if (layout === 'half') {
    const [x1, x2] = op.split(x, [half, half], -1);
    return op.concat([op.sub(op.mul(x1, t.cos), op.mul(x2, t.sin)), op.add(op.mul(x2, t.cos), op.mul(x1, t.sin))], -1);
  }
  const pairs = op.reshape(x, [B, T, n, half, 2]);
  const [e, o] = op.split(pairs, [1, 1], -1).map((p) => op.squeeze(p, -1)); // [B, T, n, Dh/2]
  const re = op.sub(op.mul(e, t.cos), op.mul(o, t.sin));
  const ro = op.add(op.mul(e, t.sin), op.mul(o, t.cos));
  return op.reshape(op.concat([op.unsqueeze(re, -1), op.unsqueeze(ro, -1)], -1), [B, T, n, Dh]);
}
