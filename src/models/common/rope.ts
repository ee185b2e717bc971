// Rotary position embeddings. Two layouts exist in the wild for the same maths: llama2.c and GGUF rotate interleaved
// pairs (x0, x1), (x2, x3), ...; Hugging Face checkpoints rotate the two halves (x_i, x_{i+Dh/2}). Reading a checkpoint
// with the wrong layout gives a model that runs and writes nonsense, so the layout is part of the spec.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { RopeLayout } from '../spec.js';

/** cos and sin tables [B, T, 1, Dh/2] for the given absolute positions [B, T]. */
export function ropeTables(positions: Tensor, dHead: number, theta: number): { cos: Tensor; sin: Tensor } {
  const half = dHead / 2;
  const inv = Float32Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / dHead));
  const invFreq = positions.graph.constant(inv, 'float32', [half], 'rope_inv_freq');
  const angles = op.mul(op.unsqueeze(op.cast(positions, 'float32'), -1), invFreq); // [B, T, Dh/2]
  return { cos: op.unsqueeze(op.cos(angles), 2), sin: op.unsqueeze(op.sin(angles), 2) };
}

/** Rotate x [B, T, n, Dh]. */
export function applyRope(x: Tensor, t: { cos: Tensor; sin: Tensor }, layout: RopeLayout): Tensor {
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
