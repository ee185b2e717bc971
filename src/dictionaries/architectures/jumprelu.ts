// JumpReLU SAE (Rajamanoharan et al. 2024, "Jumping Ahead: Improving Reconstruction Fidelity with JumpReLU Sparse
// Autoencoders"): f = z H(z - theta) with z = x W_enc + b_enc, theta = exp(log_threshold) > 0 per latent, and
// loss = ||x - xhat||^2 + lambda * ||f||_0 (L0 averaged over the batch). H has zero derivative almost everywhere, so
// the threshold learns through straight-through pseudo-derivatives with a rectangle kernel K(u) = 1[-1/2 < u < 1/2]
// of bandwidth eps (the paper's eqs. 11-12):
//   d/dtheta JumpReLU_theta(z) := -(theta / eps) K((z - theta) / eps)      d/dz JumpReLU_theta(z) = H(z - theta)
//   d/dtheta H(z - theta)       := -(1 / eps) K((z - theta) / eps)         (no gradient to z from the L0 term)
// Both are written with op.customVjp below. At inference f = ReLU(z) H(z - theta), as SAELens computes it.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { centered, decodeCode, denseFiring, fveMetric, hostCentered, hostDense, hostPre, l0Metric, linearParams, mseLoss, preActs, zeros } from './common.js';
import type { GraphCode, SaeArchitecture, SaeConfig } from './types.js';

/** Default kernel bandwidth and initial threshold (SAELens's jumprelu_bandwidth and jumprelu_init_threshold). */
export const DEFAULT_BANDWIDTH = 0.001;
export const DEFAULT_INIT_THRESHOLD = 0.001;

/** K((z - theta) / eps) as a float mask. */
function rectangle(z: Tensor, theta: Tensor, eps: number): Tensor {
  const u = op.div(op.sub(z, theta), eps);
  return op.mask(op.and(op.greater(u, -0.5), op.less(u, 0.5)), z.dtype);
}

/** Sum a [.., S] gradient over the leading (batch) axes down to theta's [S]. */
function toTheta(g: Tensor, theta: Tensor): Tensor {
  return op.unbroadcast(g, theta);
}

/** JumpReLU_theta(z) = z H(z - theta) with the paper's pseudo-derivative for theta. z [B, S], theta [S]. */
export function jumpRelu(z: Tensor, theta: Tensor, eps: number): Tensor {
  const zs = op.stopGradient(z);
  const ts = op.stopGradient(theta);
  const on = op.mask(op.greater(zs, ts), z.dtype);
  return op.customVjp(op.mul(zs, on), [z, theta], (d, needs) => [
    needs[0] ? op.mul(d, on) : null,
    needs[1] ? toTheta(op.mul(op.mul(d, rectangle(zs, ts, eps)), op.neg(op.div(ts, eps))), theta) : null,
  ]);
}

/** H(z - theta) with the paper's pseudo-derivative for theta and none for z. */
export function heaviside(z: Tensor, theta: Tensor, eps: number): Tensor {
  const zs = op.stopGradient(z);
  const ts = op.stopGradient(theta);
  return op.customVjp(op.mask(op.greater(zs, ts), z.dtype), [theta], (d, needs) => [
    needs[0] ? toTheta(op.mul(op.mul(d, rectangle(zs, ts, eps)), -1 / eps), theta) : null,
  ]);
}

function pre(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): Tensor {
  return preActs(centered(p, x, cfg), p.W_encT, p.b_enc);
}

export const jumprelu: SaeArchitecture = {
  name: 'jumprelu',
  saeLensArchitecture: 'jumprelu',
  decoderInitNorm: 0.1,
  params: (cfg) => [
    ...linearParams(cfg),
    { name: 'b_enc', dims: [cfg.dSae], init: zeros },
    { name: 'b_dec', dims: [cfg.dOut], init: zeros },
    { name: 'log_threshold', dims: [cfg.dSae], init: (n) => new Float32Array(n).fill(Math.log(cfg.initThreshold ?? DEFAULT_INIT_THRESHOLD)) },
  ],
  encode(p, x, cfg): GraphCode {
    const z = pre(p, x, cfg);
    return { kind: 'dense', acts: op.mul(op.relu(z), op.mask(op.greater(z, op.exp(p.log_threshold)), z.dtype)) };
  },
  decode: (p, code) => decodeCode(p, code),
  loss(p, x, target, cfg, s) {
    const eps = cfg.bandwidth ?? DEFAULT_BANDWIDTH;
    const z = pre(p, x, cfg);
    const theta = op.exp(p.log_threshold);
    const f = jumpRelu(z, theta, eps);
    const xhat = decodeCode(p, { kind: 'dense', acts: f });
    const mse = mseLoss(xhat, target);
    const l0 = op.reduceMean(op.reduceSum(heaviside(z, theta, eps), -1), 0);
    const loss = op.add(mse, op.mul(l0, s.sparsityCoefficient));
    return { loss, metrics: { mse, l0, fve: fveMetric(xhat, target), active: l0Metric(f) }, firing: denseFiring(f) };
  },
  encodeHost(p, x, n, cfg) {
    const z = hostPre(hostCentered(p, x, n, cfg), n, p.W_encT, p.b_enc, cfg.dSae, cfg.dIn);
    const theta = Float32Array.from(p.log_threshold, (v) => Math.exp(v));
    return hostDense(z, cfg.dSae, (v, s) => (v > theta[s] && v > 0 ? v : 0));
  },
  saeLens: {
    W_encT: { name: 'W_enc', transpose: true },
    b_enc: { name: 'b_enc' },
    W_dec: { name: 'W_dec' },
    b_dec: { name: 'b_dec' },
    log_threshold: { name: 'threshold', exp: true },
  },
};
