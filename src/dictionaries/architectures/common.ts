// Pieces the architecture files share: graph fragments (input centring, decoding, losses, decoder-row constraints,
// AuxK) and the host (TypeScript) arithmetic behind the synchronous Codec path and parameter initialisation.
// Dims: B batch, D d_in, S d_sae, K per-token code width, Do d_out.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { ProbityError } from '../../errors.js';
import { sparseDecode, withSparseEncoderGrad, type SparseSums } from './topk-core.js';
import type { GraphCode, HostCode, InitContext, ParamSpec, SaeConfig } from './types.js';

// ---- configuration checks ---------------------------------------------------------------------------------------

/** k for TopK-style architectures: a positive integer no larger than dSae. */
export function requireK(cfg: SaeConfig): number {
  const k = cfg.k;
  if (k === undefined || !Number.isInteger(k) || k < 1 || k > cfg.dSae) {
    throw new ProbityError('SAE_CONFIG', `${cfg.architecture} SAE: k must be an integer in [1, dSae = ${cfg.dSae}], got ${String(k)}`);
  }
  return k;
}

// ---- graph fragments --------------------------------------------------------------------------------------------

/** The encoder's input: x - b_dec when applyBDecToInput, else x. */
export function centered(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): Tensor {
  return cfg.applyBDecToInput ? op.sub(x, p.b_dec) : x;
}

/** Pre-activations [B, S] = xc W_encT^T + b. */
export function preActs(xc: Tensor, W_encT: Tensor, b: Tensor): Tensor {
  return op.gemm(xc, W_encT, { transB: true }, b);
}

/** Decode a dense [B, S] or sparse [B, K] code: f W_dec + b_dec -> [B, Do]. */
export function decodeCode(p: Record<string, Tensor>, code: GraphCode): Tensor {
  if (code.kind === 'dense') return op.gemm(code.acts, p.W_dec, {}, p.b_dec);
  return op.add(sparseMix(p.W_dec, code.idx, code.acts), p.b_dec);
}

/** sum_j acts[b, j] W[idx[b, j]] -> [B, Do], without bias. */
export function sparseMix(W: Tensor, idx: Tensor, acts: Tensor, sums: SparseSums = 'exact'): Tensor {
  // Inference graphs (no gradient) keep the plain Gather: a host op would cut every spliced model forward into stages.
  return sparseDecode(W, idx, acts, sums);
}

/** Squared error summed over dims, averaged over the batch (SAELens's mse_loss). */
export function mseLoss(xhat: Tensor, target: Tensor): Tensor {
  const e = op.sub(xhat, target);
  return op.reduceMean(op.reduceSum(op.mul(e, e), -1), 0);
}

/** Fraction of variance explained on this batch, around the batch mean (a metric, no gradient). */
export function fveMetric(xhat: Tensor, target: Tensor): Tensor {
  const t = op.stopGradient(target);
  const e = op.sub(op.stopGradient(xhat), t);
  const c = op.sub(t, op.reduceMean(t, 0, true));
  const all = [0, 1];
  return op.sub(1, op.div(op.reduceSum(op.mul(e, e), all), op.reduceSum(op.mul(c, c), all)));
}

/** Mean number of non-zero entries per row of a [B, W] code (a metric). */
export function l0Metric(acts: Tensor): Tensor {
  return op.reduceMean(op.reduceSum(op.mask(op.greater(op.stopGradient(acts), 0), acts.dtype), -1), 0);
}

/** [S]: on how many tokens each latent of a dense [B, S] code fired. */
export function denseFiring(acts: Tensor): Tensor {
  return op.reduceSum(op.mask(op.greater(op.stopGradient(acts), 0), acts.dtype), 0);
}

/** [S]: firing counts from a sparse code (idx [B, K], acts [B, K]); `like` is any [S] tensor. */
export function sparseFiring(idx: Tensor, acts: Tensor, like: Tensor): Tensor {
  const on = op.mask(op.greater(op.stopGradient(acts), 0), acts.dtype);
  return op.scatterAddRows(op.zerosLike(op.stopGradient(like)), idx, on);
}

/** Euclidean norm of each decoder row [S]. */
export function rowNorms(W: Tensor): Tensor {
  return op.sqrt(op.reduceSum(op.mul(W, W), -1));
}

/** postUpdate: rescale every row to unit norm. */
export function unitRows(W: Tensor): Tensor {
  return op.div(W, op.sqrt(op.reduceSumSquare(W, -1, true)));
}

/** gradTransform: remove from each row's gradient its component along the row (Gao et al. 2024; Bricken et al. 2023). */
export function removeParallel(g: Tensor, W: Tensor): Tensor {
  const along = op.div(op.reduceSum(op.mul(g, W), -1, true), op.reduceSumSquare(W, -1, true));
  return op.sub(g, op.mul(along, W));
}

/**
 * AuxK (Gao et al. 2024, appendix A.2): reconstruct the main reconstruction's error e = target - xhat (no gradient)
 * from the top kAux pre-activations among dead latents, decoded without bias; mse(ê, e) scaled by
 * min(#dead / kAux, 1) as SAELens does (so a handful of dead latents does not dominate). As in SAELens and EleutherAI's
 * implementation the chosen pre-activations are used as they are (no ReLU). Picks that land on live latents (fewer
 * dead latents than kAux) are masked out. Gradients reach W_encT/b_eff sparsely and W_dec through the gather.
 */
export function auxKLoss(
  a: { pre: Tensor; W_encT: Tensor; b_eff: Tensor; W_dec: Tensor; x: Tensor; xhat: Tensor; target: Tensor; deadMask: Tensor },
  kAux: number,
  sums: SparseSums = 'host',
): Tensor {
  const dead = op.greater(a.deadMask, 0.5); // [S] bool
  const masked = op.where(dead, a.pre, -1e30); // [B, S]
  const [vals, idx] = op.topk(masked, kAux, -1); // [B, Ka]
  const valid = op.gather(a.deadMask, idx); // [B, Ka] 1 where the pick is dead
  const picked = op.mul(withSparseEncoderGrad(vals, idx, a.W_encT, a.b_eff, a.x, sums), valid);
  const ehat = sparseMix(a.W_dec, idx, picked, sums); // [B, Do]
  const e = op.stopGradient(op.sub(a.target, a.xhat));
  const nDead = op.reduceSum(a.deadMask, 0);
  const scale = op.minimum(op.div(nDead, kAux), 1);
  return op.mul(mseLoss(ehat, e), scale);
}

/** Default AuxK width: d_in / 2 as in SAELens (Gao et al. use 512 at scale), at most dSae. */
export function auxKOf(cfg: SaeConfig): number {
  return Math.max(1, Math.min(cfg.auxK ?? Math.floor(cfg.dIn / 2), cfg.dSae));
}

/** Default AuxK weight: 1/32 (Gao et al. 2024). */
export function auxKCoefficientOf(cfg: SaeConfig): number {
  return cfg.auxKCoefficient ?? 1 / 32;
}

// ---- parameter specs ----------------------------------------------------------------------------------------------

/** Gaussian rows normalised to `norm` each. */
export function randomRows(rows: number, cols: number, rng: () => number, norm: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      // Box-Muller
      const v = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      out[r * cols + c] = v;
      ss += v * v;
    }
    const s = norm / Math.sqrt(ss || 1);
    for (let c = 0; c < cols; c++) out[r * cols + c] *= s;
  }
  return out;
}

export const zeros = (n: number): Float32Array => new Float32Array(n);

/** W_dec [S, Do] then W_encT [S, D]: random rows of norm decoderInitNorm; W_encT = W_dec when D = Do (SAELens, Gao et al.). */
export function linearParams(cfg: SaeConfig): ParamSpec[] {
  const S = cfg.dSae;
  return [
    { name: 'W_dec', dims: [S, cfg.dOut], init: (_n, rng, ctx: InitContext) => randomRows(S, cfg.dOut, rng, ctx.decoderInitNorm) },
    {
      name: 'W_encT',
      dims: [S, cfg.dIn],
      init: (_n, rng, ctx: InitContext) => (cfg.dIn === cfg.dOut ? Float32Array.from(ctx.prev.W_dec) : randomRows(S, cfg.dIn, rng, ctx.decoderInitNorm)),
    },
  ];
}

// ---- host arithmetic ----------------------------------------------------------------------------------------------

/** x - b_dec (when applied) on the host, [n, D]. */
export function hostCentered(p: Record<string, Float32Array>, x: Float32Array, n: number, cfg: SaeConfig): Float32Array {
  if (!cfg.applyBDecToInput) return x;
  const D = cfg.dIn;
  const out = new Float32Array(n * D);
  for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) out[t * D + d] = x[t * D + d] - p.b_dec[d];
  return out;
}

/** [n, S] = xc W^T + b on the host (float64 accumulation), W [S, D]; `scale` multiplies each row of W (gated r_mag). */
export function hostPre(xc: Float32Array, n: number, W: Float32Array, b: Float32Array, S: number, D: number, rowScale?: Float64Array): Float32Array {
  const out = new Float32Array(n * S);
  for (let t = 0; t < n; t++) {
    const xo = t * D;
    for (let s = 0; s < S; s++) {
      const wo = s * D;
      let acc = 0;
      for (let d = 0; d < D; d++) acc += xc[xo + d] * W[wo + d];
      out[t * S + s] = (rowScale ? acc * rowScale[s] : acc) + b[s];
    }
  }
  return out;
}

/** Dense host code from pre-activations through an elementwise activation. */
export function hostDense(pre: Float32Array, S: number, f: (v: number, s: number) => number): HostCode {
  const values = new Float32Array(pre.length);
  for (let i = 0; i < pre.length; i++) values[i] = f(pre[i], i % S);
  return { kind: 'dense', values };
}
