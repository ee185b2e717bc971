// Gated SAE (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders"): a gate path
// decides which latents fire, a magnitude path how strongly, sharing encoder directions:
//   pi_gate = xc W_enc + b_gate,  W_mag = W_enc * exp(r_mag) (per latent),  pi_mag = xc W_mag + b_mag,
//   f = 1[pi_gate > 0] * ReLU(pi_mag).
// The Heaviside gate passes no gradient, so the gate path learns from the sparsity term and an auxiliary
// reconstruction: loss = ||x - xhat||^2 + lambda * sum_i ReLU(pi_gate)_i ||W_dec,i|| + ||x - xhat_frozen(ReLU(pi_gate))||^2
// where xhat_frozen decodes with a stop-gradient copy of W_dec and b_dec (paper, eq. 8). The L1 is weighted by decoder
// norms as in SAELens's implementation, and decoder rows are also kept at unit norm as in the paper (gradTransform +
// postUpdate, like TopK): without that constraint the MSE is invariant to shrinking W_dec while exp(r_mag) grows, the
// L1 (which sees only the gate path) rewards the shrinking, and training drifts (observed: FVE falling, codes blowing up).
// SAELens layout (verified in sae_lens/saes/gated_sae.py): W_enc is shared by both paths; tensors b_gate, r_mag, b_mag;
// no b_enc.
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { centered, decodeCode, denseFiring, fveMetric, hostCentered, hostPre, l0Metric, linearParams, mseLoss, preActs, removeParallel, rowNorms, unitRows, zeros } from './common.js';
import type { GraphCode, HostCode, SaeArchitecture, SaeConfig } from './types.js';

function paths(p: Record<string, Tensor>, x: Tensor, cfg: SaeConfig) {
  const xc = centered(p, x, cfg);
  const piGate = preActs(xc, p.W_encT, p.b_gate);
  const W_mag = op.mul(p.W_encT, op.unsqueeze(op.exp(p.r_mag), -1)); // [S, D]
  const piMag = preActs(xc, W_mag, p.b_mag);
  const f = op.mul(op.mask(op.greater(piGate, 0), piGate.dtype), op.relu(piMag));
  return { piGate, f };
}

export const gated: SaeArchitecture = {
  name: 'gated',
  saeLensArchitecture: 'gated',
  decoderInitNorm: 1,
  params: (cfg) => [
    ...linearParams(cfg),
    { name: 'b_gate', dims: [cfg.dSae], init: zeros },
    { name: 'r_mag', dims: [cfg.dSae], init: zeros },
    { name: 'b_mag', dims: [cfg.dSae], init: zeros },
    { name: 'b_dec', dims: [cfg.dOut], init: zeros },
  ],
  encode: (p, x, cfg): GraphCode => ({ kind: 'dense', acts: paths(p, x, cfg).f }),
  decode: (p, code) => decodeCode(p, code),
  loss(p, x, target, cfg, s) {
    const { piGate, f } = paths(p, x, cfg);
    const xhat = decodeCode(p, { kind: 'dense', acts: f });
    const mse = mseLoss(xhat, target);
    const gate = op.relu(piGate);
    const l1 = op.reduceMean(op.reduceSum(op.mul(gate, rowNorms(p.W_dec)), -1), 0);
    const viaGate = op.gemm(gate, op.stopGradient(p.W_dec), {}, op.stopGradient(p.b_dec));
    const aux = mseLoss(viaGate, target);
    const loss = op.add(op.add(mse, op.mul(l1, s.sparsityCoefficient)), aux);
    return { loss, metrics: { mse, l1, aux, l0: l0Metric(f), fve: fveMetric(xhat, target) }, firing: denseFiring(f) };
  },
  postUpdate: () => ({ W_dec: unitRows }),
  gradTransform: () => ({ W_dec: removeParallel }),
  encodeHost(p, x, n, cfg): HostCode {
    const S = cfg.dSae;
    const xc = hostCentered(p, x, n, cfg);
    const gate = hostPre(xc, n, p.W_encT, p.b_gate, S, cfg.dIn);
    const mag = hostPre(xc, n, p.W_encT, p.b_mag, S, cfg.dIn, Float64Array.from(p.r_mag, (v) => Math.exp(v)));
    const values = new Float32Array(n * S);
    for (let i = 0; i < values.length; i++) values[i] = gate[i] > 0 && mag[i] > 0 ? mag[i] : 0;
    return { kind: 'dense', values };
  },
  saeLens: {
    W_encT: { name: 'W_enc', transpose: true },
    b_gate: { name: 'b_gate' },
    r_mag: { name: 'r_mag' },
    b_mag: { name: 'b_mag' },
    W_dec: { name: 'W_dec' },
    b_dec: { name: 'b_dec' },
  },
};
