// The TopK SAE forward pass in the sparse form that training uses (Gao et al. 2024, "Scaling and evaluating sparse
// autoencoders"). The encoder runs dense once to choose the k latents, and its gradient is written by hand as a
// scatter-add into the k chosen rows of W_enc (autodiff of the dense encoder would build a dense [B, S] gradient and
// a second full-size GEMM). The decoder gathers the k rows of W_dec, so its backward is sparse by construction.
// b_dec is subtracted from the input before encoding; that is folded into an effective encoder bias
// b_eff = b_enc - W_enc b_dec, so the per-token encoder gradient never needs the input gradient.
// Transcoders (dOut != dIn) pass applyBDecToInput = false: b_dec then lives in the output space only.
// The row sums of the sparse gradients (10^8 elements per step at GPT-2 width) use onnxruntime's multi-threaded
// scatter unless `scatter: 'exact'`: it is ~25x faster than the exact sequential one, but concurrent adds to one row
// can be lost (engine/ops/indexing.ts), so such runs are not reproducible bit for bit (the trainer's `deterministic`).
// Dims: B batch, D d_in, S d_sae, K k, Do d_out.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { ScatterAddMode } from '../../engine/ops/index.js';
import { selectTopK, type TopKSelection } from './topk-select.js';

export interface TopKParams {
  /** [S, D]: encoder rows, one per latent (SAELens stores the transpose, W_enc [D, S]). */
  W_encT: Tensor;
  b_enc: Tensor; // [S]
  W_dec: Tensor; // [S, Do]
  b_dec: Tensor; // [Do]
}

export interface TopKForward {
  idx: Tensor; // [B, K] int64
  acts: Tensor; // [B, K] post-ReLU values of the chosen latents
  xhat: Tensor; // [B, D]
  pre: Tensor; // [B, S] pre-activations (no gradient; for AuxK and statistics; approximate under 'int8' selection)
  b_eff: Tensor; // [S] effective encoder bias (b_dec folded in when applied to the input)
}

/**
 * Values `vals` [B, K] picked from the pre-activations at latents `idx` [B, K], given the hand-written sparse gradient
 * of pre = x W_encT^T + b_eff: row idx[b, j] of W_encT receives d[b, j] * x[b]; b_eff[idx[b, j]] receives d[b, j].
 * The forward value is `vals` itself (computed without gradient). Shared by TopK and AuxK.
 */
export function withSparseEncoderGrad(vals: Tensor, idx: Tensor, W_encT: Tensor, b_eff: Tensor, x: Tensor, scatter: ScatterAddMode = 'exact'): Tensor {
  return op.customVjp(vals, [W_encT, b_eff], (d, needs) => {
    const dW = needs[0] ? op.scatterAddRows(op.zerosLike(W_encT), idx, op.mul(op.unsqueeze(d, -1), op.unsqueeze(op.stopGradient(x), 1)), scatter) : null;
    const db = needs[1] ? op.scatterAddRows(op.zerosLike(b_eff), idx, d) : null; // B K scalars: always exact
    return [dW, db];
  });
}

/** Rows idx of W ([..., Do]), with the gradient to W summed by `scatter` (exact: the plain Gather rule). */
export function gatherRows(W: Tensor, idx: Tensor, scatter: ScatterAddMode = 'exact'): Tensor {
  if (scatter === 'exact') return op.gather(W, idx);
  return op.customVjp(op.gather(op.stopGradient(W), idx), [W], (d, needs) => [needs[0] ? op.scatterAddRows(op.zerosLike(W), idx, d, scatter) : null]);
}

/** Pre-activations of the k chosen latents, with a sparse hand-written gradient for W_encT and b_eff. */
function sparseEncode(W_encT: Tensor, b_eff: Tensor, x: Tensor, k: number, sel: SelectionOptions) {
  const { pre, idx, vals } = selectTopK(op.stopGradient(W_encT), op.stopGradient(b_eff), op.stopGradient(x), k, sel.selection, sel.candidates);
  return { pre, idx, vals: withSparseEncoderGrad(vals, idx, W_encT, b_eff, x, sel.scatter) };
}

/** Effective encoder bias: b_enc - W_encT b_dec when b_dec is subtracted from the input, else b_enc. */
export function effectiveBias(p: Pick<TopKParams, 'W_encT' | 'b_enc' | 'b_dec'>, applyBDecToInput = true): Tensor {
  return applyBDecToInput ? op.sub(p.b_enc, op.squeeze(op.matmul(p.W_encT, op.unsqueeze(p.b_dec, -1)), -1)) : p.b_enc; // [S]
}

export interface SelectionOptions {
  /** How the k latents are chosen (topk-select.ts); default 'exact'. */
  selection?: TopKSelection;
  candidates?: number;
  /** How the sparse gradients are summed into W_encT and W_dec (default 'exact'). */
  scatter?: ScatterAddMode;
}

export function topkForward(p: TopKParams, x: Tensor, k: number, applyBDecToInput = true, sel: SelectionOptions = {}): TopKForward {
  const b_eff = effectiveBias(p, applyBDecToInput);
  const { pre, idx, vals } = sparseEncode(p.W_encT, b_eff, x, k, sel);
  const acts = op.relu(vals); // [B, K]
  const dec = gatherRows(p.W_dec, idx, sel.scatter); // [B, K, Do]
  const xhat = op.add(op.squeeze(op.matmul(op.unsqueeze(acts, 1), dec), 1), p.b_dec); // [B, Do]
  return { idx, acts, xhat, pre, b_eff };
}
