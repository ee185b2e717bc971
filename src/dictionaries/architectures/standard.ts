// Standard ReLU SAE with the training recipe of Anthropic's April 2024 update ("Training SAEs"): f = ReLU(x W_enc +
// b_enc), loss = ||x - xhat||^2 (summed over dims, averaged over the batch) + lambda * sum_i f_i ||W_dec,i||. The L1
// term is weighted by decoder row norms instead of renormalising the decoder, so the decoder norms are free.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { centered, decodeCode, denseFiring, fveMetric, hostCentered, hostDense, hostPre, l0Metric, linearParams, mseLoss, preActs, rowNorms, zeros } from './common.js';
import type { GraphCode, SaeArchitecture, SaeConfig } from './types.js';

function encodeDense(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig): Tensor {
  return op.relu(preActs(centered(p, x, cfg), p.W_encT, p.b_enc));
}

export const standard: SaeArchitecture = {
  name: 'standard',
  saeLensArchitecture: 'standard',
  decoderInitNorm: 0.1,
  params: (cfg) => [
    ...linearParams(cfg),
    { name: 'b_enc', dims: [cfg.dSae], init: zeros },
    { name: 'b_dec', dims: [cfg.dOut], init: zeros },
  ],
  encode: (p, x, cfg): GraphCode => ({ kind: 'dense', acts: encodeDense(p, x, cfg) }),
  decode: (p, code) => decodeCode(p, code),
  loss(p, x, target, cfg, s) {
    const f = encodeDense(p, x, cfg); // [B, S]
    const xhat = decodeCode(p, { kind: 'dense', acts: f });
    const mse = mseLoss(xhat, target);
    const l1 = op.reduceMean(op.reduceSum(op.mul(f, rowNorms(p.W_dec)), -1), 0);
    const loss = op.add(mse, op.mul(l1, s.sparsityCoefficient));
    return { loss, metrics: { mse, l1, l0: l0Metric(f), fve: fveMetric(xhat, target) }, firing: denseFiring(f) };
  },
  encodeHost(p, x, n, cfg) {
    const pre = hostPre(hostCentered(p, x, n, cfg), n, p.W_encT, p.b_enc, cfg.dSae, cfg.dIn);
    return hostDense(pre, cfg.dSae, (v) => (v > 0 ? v : 0));
  },
  saeLens: {
    W_encT: { name: 'W_enc', transpose: true },
    b_enc: { name: 'b_enc' },
    W_dec: { name: 'W_dec' },
    b_dec: { name: 'b_dec' },
  },
};
