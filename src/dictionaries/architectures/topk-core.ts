// The TopK SAE forward pass in the sparse form that training uses (Gao et al. 2024, "Scaling and evaluating sparse
// autoencoders"). The encoder runs dense once to choose the k latents, and its gradient is written by hand as a
// sum into the k chosen rows of W_enc (autodiff of the dense encoder would build a dense [B, S] gradient and a second
// full-size GEMM). The decoder gathers the k rows of W_dec; its gradient is again a sum into the chosen rows.
// b_dec is subtracted from the input before encoding; that is folded into an effective encoder bias
// b_eff = b_enc - W_enc b_dec, so the per-token encoder gradient never needs the input gradient.
// Transcoders (dOut != dIn) pass applyBDecToInput = false: b_dec then lives in the output space only.
//
// The sparse decoder and those row sums (10^8 multiply-adds per step at 768 -> 12288, k 32, batch 4096) run as host
// kernels by default (SparseSums 'host': HostRowSum / HostRowDot, engine/host/, exact and reproducible, no [B, K, D]
// tensor). The two onnxruntime spellings stay for comparison: 'unordered' (Gather + ScatterND 'add' over a [B, K, D]
// tensor, multi-threaded, loses concurrent updates: engine/ops/indexing.ts) and 'exact' (ScatterElements, ~25x slower).
// Dims: B batch, D d_in, S d_sae, K k, Do d_out.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import type { ScatterAddMode } from '../../engine/ops/index.js';
import { ShapeError } from '../../engine/graph/shape.js';
import { selectTopK, type TopKSelection } from './topk-select.js';

/** How sparse SAE gradients (and BatchTopK's reconstruction) are summed into rows; see the top of this file. */
export type SparseSums = 'host' | ScatterAddMode;

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

function staticRows(W: Tensor): number {
  const S = W.shape[0];
  if (typeof S !== 'number') throw new ShapeError(`sparse SAE gradient: ${W.name} needs a static number of rows, got ${S}`);
  return S;
}

/** Entry n of idx [..., K] reads row floor(n / K) of a [B, ...] tensor (row b for idx [B, K]) unless `rowOf` is given. */
function perRow(idx: Tensor, rowOf?: Tensor): Tensor | { perSource: number } {
  return rowOf ?? { perSource: idx.shape[idx.rank - 1] as number };
}

/**
 * Values `vals` picked from the pre-activations at latents `idx` (same shape), given the hand-written sparse gradient
 * of pre = x W_encT^T + b_eff: row idx[n] of W_encT receives d[n] * x[row of n]; b_eff[idx[n]] receives d[n]. The row
 * of entry n is rowOf[n], or its row in idx [B, K]. The forward value is `vals` itself. Shared by TopK, BatchTopK, AuxK.
 */
export function withSparseEncoderGrad(vals: Tensor, idx: Tensor, W_encT: Tensor, b_eff: Tensor, x: Tensor, sums: SparseSums = 'host', rowOf?: Tensor): Tensor {
  return op.customVjp(vals, [W_encT, b_eff], (d, needs) => {
    const xs = op.stopGradient(x);
    let dW: Tensor | null = null;
    if (needs[0]) {
      if (sums === 'host') dW = op.hostRowSum(staticRows(W_encT), idx, d, xs, perRow(idx, rowOf));
      else {
        const rows = rowOf ? op.gather(xs, rowOf) : op.unsqueeze(xs, 1); // [..., D] aligned with idx
        dW = op.scatterAddRows(op.zerosLike(W_encT), idx, op.mul(op.unsqueeze(d, -1), rows), sums);
      }
    }
    const db = needs[1] ? op.scatterAddRows(op.zerosLike(b_eff), idx, d) : null; // one scalar per entry: exact
    return [dW, db];
  });
}

/** Rows idx of W, their gradient summed into W by an onnxruntime scatter (`mode`; 'exact' is Gather's own rule). */
export function gatherRows(W: Tensor, idx: Tensor, mode: ScatterAddMode): Tensor {
  if (mode === 'exact') return op.gather(W, idx);
  return op.customVjp(op.gather(op.stopGradient(W), idx), [W], (d, needs) => [needs[0] ? op.scatterAddRows(op.zerosLike(W), idx, d, mode) : null]);
}

/**
 * sum_j acts[b, j] W[idx[b, j]] -> [B, Do] (no bias). With a static batch and host sums this is one host row sum
 * (token rows from decoder rows), whose gradients are host ops too: a row sum into W (acts[b, j] * d[b] into row
 * idx[b, j]) and row dots for acts (d[b] . W[idx[b, j]]); no [B, K, Do] tensor is formed (AuxK's K is d_in / 2).
 */
export function sparseDecode(W: Tensor, idx: Tensor, acts: Tensor, sums: SparseSums = 'host'): Tensor {
  if (sums !== 'host') return op.squeeze(op.matmul(op.unsqueeze(acts, 1), gatherRows(W, idx, sums)), 1);
  const token = op.rowPerEntry(idx, idx.shape[idx.rank - 1] as number); // row b of entry (b, j)
  return op.hostRowSum(acts, token, acts, W, idx);
}

/** Pre-activations of the k chosen latents, with a sparse hand-written gradient for W_encT and b_eff. */
function sparseEncode(W_encT: Tensor, b_eff: Tensor, x: Tensor, k: number, sel: SelectionOptions) {
  const { pre, idx, vals } = selectTopK(op.stopGradient(W_encT), op.stopGradient(b_eff), op.stopGradient(x), k, sel.selection, sel.candidates);
  return { pre, idx, vals: withSparseEncoderGrad(vals, idx, W_encT, b_eff, x, sel.sums) };
}

/** Effective encoder bias: b_enc - W_encT b_dec when b_dec is subtracted from the input, else b_enc. */
export function effectiveBias(p: Pick<TopKParams, 'W_encT' | 'b_enc' | 'b_dec'>, applyBDecToInput = true): Tensor {
  return applyBDecToInput ? op.sub(p.b_enc, op.squeeze(op.matmul(p.W_encT, op.unsqueeze(p.b_dec, -1)), -1)) : p.b_enc; // [S]
}

export interface SelectionOptions {
  /** How the k latents are chosen (topk-select.ts); default 'exact'. */
  selection?: TopKSelection;
  candidates?: number;
  /** How the sparse gradients are summed into W_encT and W_dec (default 'host'). */
  sums?: SparseSums;
}

export function topkForward(p: TopKParams, x: Tensor, k: number, applyBDecToInput = true, sel: SelectionOptions = {}): TopKForward {
  const b_eff = effectiveBias(p, applyBDecToInput);
  const { pre, idx, vals } = sparseEncode(p.W_encT, b_eff, x, k, sel);
  const acts = op.relu(vals); // [B, K]
  const xhat = op.add(sparseDecode(p.W_dec, idx, acts, sel.sums), p.b_dec); // [B, Do]
  return { idx, acts, xhat, pre, b_eff };
}
