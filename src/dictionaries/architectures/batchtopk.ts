// BatchTopK SAE (Bussmann, Leask & Nanda 2024, "BatchTopK Sparse Autoencoders"): during training keep the B*k largest
// ReLU'd pre-activations over the whole batch (k per token on average), so tokens can use more or fewer latents.
// Training is sparse like TopK: the kept entries are (row, latent) pairs taken from the flattened [B*S] batch; the
// encoder gradient is a scatter-add into the chosen rows of W_encT, the decoder gathers rows and scatter-adds each
// contribution into its token's reconstruction. The batch size must be static (k*B is the TopK width).
// Inference does not depend on the batch: it is a JumpReLU with one global threshold, the running mean of the
// smallest kept activation per batch. The graph reports that minimum as the metric `batch_threshold`; `afterStep`
// folds it into the non-trained parameter `threshold` [S] (all entries equal): a cumulative mean for the first 100
// steps, then an exponential moving average with rate 0.01 (SAELens's topk_threshold_lr). SAELens saves BatchTopK SAEs
// as JumpReLU SAEs; so do we (saeLensArchitecture "jumprelu", tensor `threshold`).
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { ProbityError, show } from '../../errors.js';
import { withSparseEncoderGrad, effectiveBias, gatherRows, type SparseSums } from './topk-core.js';
import {
  auxKCoefficientOf, auxKLoss, auxKOf, centered, decodeCode, fveMetric, hostCentered, hostDense, hostPre, linearParams, mseLoss, preActs,
  removeParallel, requireK, unitRows, zeros,
} from './common.js';
import type { GraphCode, SaeArchitecture, SaeConfig } from './types.js';

/** Minimum-kept-activation metric value meaning "nothing positive was kept" (afterStep skips it). */
export const NO_THRESHOLD = 1e30;
/** Rate of the threshold's moving average once past the cumulative-mean phase. */
export const THRESHOLD_RATE = 0.01;

function jumpEncode(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): Tensor {
  const pre = preActs(centered(p, x, cfg), p.W_encT, p.b_enc);
  return op.mul(op.relu(pre), op.mask(op.greater(pre, p.threshold), pre.dtype));
}

export const batchtopk: SaeArchitecture = {
  name: 'batchtopk',
  saeLensArchitecture: 'jumprelu',
  decoderInitNorm: 1,
  params: (cfg) => {
    requireK(cfg);
    return [
      ...linearParams(cfg),
      { name: 'b_enc', dims: [cfg.dSae], init: zeros },
      { name: 'b_dec', dims: [cfg.dOut], init: zeros },
      { name: 'threshold', dims: [cfg.dSae], init: zeros, trainable: false },
    ];
  },
  encode: (p, x, cfg): GraphCode => ({ kind: 'dense', acts: jumpEncode(p, x, cfg) }),
  decode: (p, code) => decodeCode(p, code),
  loss(p, x, target, cfg, s) {
    const B = x.shape[0];
    if (typeof B !== 'number') throw new ProbityError('SAE_BATCH_STATIC', `batchtopk training needs a static batch size, x has shape ${show(x.shape)}`);
    const S = cfg.dSae;
    const N = B * requireK(cfg);
    const b_eff = effectiveBias({ W_encT: p.W_encT, b_enc: p.b_enc, b_dec: p.b_dec }, cfg.applyBDecToInput);
    const pre = op.gemm(op.stopGradient(x), op.stopGradient(p.W_encT), { transB: true }, op.stopGradient(b_eff)); // [B, S]
    const [vals, flatIdx] = op.topk(op.reshape(op.relu(pre), [B * S]), N, -1); // [N]
    const rows = op.div(flatIdx, S); // token of each kept entry
    const cols = op.sub(flatIdx, op.mul(rows, S)); // latent of each kept entry
    // Same sparse encoder gradient as TopK, each pick reading its own token's input: d[j] * x[rows[j]] into row
    // cols[j] of W_encT.
    const picked = withSparseEncoderGrad(vals, cols, p.W_encT, b_eff, x, s.sums, rows); // [N]
    const acts = op.relu(picked); // [N]; forward value equals vals (already >= 0), gradient only where > 0
    const xhat = op.add(batchDecode(p.W_dec, rows, cols, acts, op.stopGradient(target), s.sums ?? 'host'), p.b_dec);
    const mse = mseLoss(xhat, target);
    const on = op.mask(op.greater(vals, 0), vals.dtype);
    const minKept = op.neg(op.reduceMax(op.neg(op.where(op.greater(vals, 0), vals, NO_THRESHOLD)), 0));
    const metrics: Record<string, Tensor> = { mse, l0: op.div(op.reduceSum(on, 0), B), fve: fveMetric(xhat, target), batch_threshold: minKept };
    let loss = mse;
    const coef = auxKCoefficientOf(cfg);
    if (s.deadMask && coef > 0) {
      const aux = auxKLoss({ pre, W_encT: p.W_encT, b_eff, W_dec: p.W_dec, x, xhat, target, deadMask: s.deadMask }, auxKOf(cfg), s.sums);
      loss = op.add(loss, op.mul(aux, coef));
      metrics.auxk = aux;
    }
    const firing = op.scatterAddRows(op.zerosLike(op.stopGradient(p.b_enc)), cols, on);
    return { loss, metrics, firing };
  },
  postUpdate: () => ({ W_dec: unitRows }),
  gradTransform: () => ({ W_dec: removeParallel }),
  afterStep(params, metrics, step) {
    const m = metrics.batch_threshold;
    if (!(m < NO_THRESHOLD / 2)) return;
    const th = params.threshold;
    const rate = Math.max(1 / step, THRESHOLD_RATE);
    const next = Math.fround(th[0] + (m - th[0]) * rate);
    th.fill(next);
  },
  encodeHost(p, x, n, cfg) {
    const pre = hostPre(hostCentered(p, x, n, cfg), n, p.W_encT, p.b_enc, cfg.dSae, cfg.dIn);
    return hostDense(pre, cfg.dSae, (v, s) => (v > p.threshold[s] && v > 0 ? v : 0));
  },
  saeLens: {
    W_encT: { name: 'W_enc', transpose: true },
    b_enc: { name: 'b_enc' },
    W_dec: { name: 'W_dec' },
    b_dec: { name: 'b_dec' },
    threshold: { name: 'threshold' },
  },
};

/**
 * Each token's reconstruction from its kept entries (rows, cols, acts: [N]): xhat[rows[n]] += acts[n] W[cols[n]].
 * On the host it is one row sum, exact, and its gradients are a row sum into W and per-entry dot products (ops/host.ts);
 * the onnxruntime spellings gather [N, Do] rows and scatter-add them (with 'unordered' even this forward can lose a pick).
 */
function batchDecode(W: Tensor, rows: Tensor, cols: Tensor, acts: Tensor, like: Tensor, sums: SparseSums): Tensor {
  if (sums === 'host') return op.hostRowSum(like.shape[0] as number, rows, acts, W, cols);
  const contrib = op.mul(op.unsqueeze(acts, -1), gatherRows(W, cols, sums)); // [N, Do]
  return op.scatterAddRows(op.zerosLike(like), rows, contrib, sums);
}
