// Choosing the k latents of a TopK SAE during training. The dense encoder GEMM [B, D] @ [D, S] is the one cost of a
// TopK step that sparsity does not remove (Gao et al. 2024), and its only job is to *choose* k of S latents per token.
// Two ways to choose:
//   'exact': float32 GEMM, then TopK (the definition).
//   'int8' : an int8 GEMM (onnxruntime's DynamicQuantizeMatMul, VNNI) ranks the latents, the `candidates` best are
//            re-scored exactly in float32 (their encoder rows gathered), and the k best of those are kept. Values
//            are always exact; a latent is chosen differently from 'exact' only when the int8 ranking pushes a true
//            top-k latent below rank `candidates` (measured: test/dictionaries/topk-select.test.ts, bench).
// Per-dimension balancing (SmoothQuant, Xiao et al. 2023) keeps outlier dimensions of the activations (GPT-2's
// residual stream has dims 100x the others) from eating the 8-bit range of the per-tensor input quantization:
// x / c and W * c give the same product, with c_d growing with the range of dimension d (int8PreActs).
// Dims: B batch, D d_in, S d_sae, K k, C candidates.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';

export type TopKSelection = 'exact' | 'int8';

/**
 * 'auto' picks int8 where it is faster. Per token, int8 saves ~3/4 of a GEMM row (2 D S flops at ~170 GFLOP/s) and
 * pays a gather of C candidate rows (4 C D bytes at ~7 GB/s): a win by about S / (65 C), independent of D. At
 * S = 12288, D = 768, k = 32 the bench measures both (bench/results/engine.json: topk_sae_int8_over_exact); at
 * S = 3072, D = 192 (the organism's SAEs) int8 ran no faster (bench/results/topk-selection-parity/). Hence int8 from
 * S >= 128 C (S >= 6144 at k = 32).
 */
export function resolveSelection(how: TopKSelection | 'auto' | undefined, dSae: number, k: number, candidates?: number): TopKSelection {
  if (how === 'exact' || how === 'int8') return how;
  return dSae >= 128 * candidatesOf(k, candidates) ? 'int8' : 'exact';
}

export interface Selected {
  idx: Tensor; // [B, K] int64
  /** Exact pre-activations of the chosen latents [B, K] (no gradient attached). */
  vals: Tensor;
  /** Pre-activations of every latent [B, S], no gradient: exact for 'exact', the int8 ranking for 'int8'. */
  pre: Tensor;
}

/** Default candidate count for 'int8' selection: k plus half of k again. */
export function candidatesOf(k: number, candidates?: number): number {
  return Math.max(k, candidates ?? k + Math.ceil(k / 2));
}

/** The k largest pre-activations x W_encT^T + b_eff per row of x, chosen by `how`. Inputs must carry no gradient. */
export function selectTopK(W_encT: Tensor, b_eff: Tensor, x: Tensor, k: number, how: TopKSelection = 'exact', candidates?: number): Selected {
  if (how === 'exact') {
    const pre = op.gemm(x, W_encT, { transB: true }, b_eff); // [B, S]
    const [vals, idx] = op.topk(pre, k, -1);
    return { pre, vals, idx };
  }
  const pre = int8PreActs(W_encT, b_eff, x); // [B, S], approximate
  const c = candidatesOf(k, candidates);
  const [, cand] = op.topk(pre, c, -1); // [B, C]
  // Exact pre-activations of the candidates: encoder row cand[b, c] against x[b], as host row dots (no [B, C, D]
  // gather: 600 MB per step at 768 -> 12288).
  const dots = op.hostRowDot(W_encT, cand, x, { perSource: c });
  const exact = op.add(dots, op.gather(b_eff, cand)); // [B, C]
  if (c === k) return { pre, vals: exact, idx: cand };
  const [vals, j] = op.topk(exact, k, -1);
  return { pre, vals, idx: op.gatherElements(cand, j, 1) };
}

/** Approximate x W_encT^T + b_eff [B, S] from an int8 GEMM, rows of W quantized per latent, x per tensor. */
export function int8PreActs(W_encT: Tensor, b_eff: Tensor, x: Tensor): Tensor {
  const tiny = 1e-12;
  // Balance each input dimension by the square root of its range in this batch (SmoothQuant with alpha = 1/2 and
  // the weight side taken as uniform: SAE encoder columns have similar ranges, and a per-column max over W would
  // cost a strided pass over the whole matrix every step).
  const xMax = op.maximum(op.reduceMax(op.abs(x), 0), tiny); // [D]
  const c = op.sqrt(op.div(xMax, op.reduceMean(xMax, 0))); // [D]
  const Ws = op.mul(W_encT, c); // [S, D]
  const scale = op.div(op.maximum(op.reduceMax(op.abs(Ws), 1), tiny), 127); // [S]
  const Wq = op.quantizeRowsInt8(Ws, scale, op.cast(op.mul(scale, 0), 'int8'), 0); // [S, D] int8
  return op.dynamicQuantizeMatMul(op.div(x, c), op.transpose(Wq, [1, 0]), scale, b_eff);
}
