// TopK SAE (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): keep the k largest pre-activations per
// token, ReLU them, decode from those k latents. Training uses the sparse forward of topk-core.ts (hand-written sparse
// encoder gradient, gathered decoder rows), plus AuxK on latents dead for longer than the trainer's window.
// Decoder rows are kept at unit norm: the gradient component parallel to each row is removed before the update
// (gradTransform) and rows are renormalised after it (postUpdate).
import type { Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { auxKCoefficientOf, auxKLoss, auxKOf, centered, decodeCode, fveMetric, hostCentered, hostPre, l0Metric, linearParams, mseLoss, preActs, removeParallel, requireK, sparseFiring, unitRows, zeros } from './common.js';
import { topkForward } from './topk-core.js';
import { resolveSelection } from './topk-select.js';
import { topKIndices } from '../metrics/index.js';
import type { GraphCode, HostCode, SaeArchitecture } from './types.js';

export const topk: SaeArchitecture = {
  name: 'topk',
  saeLensArchitecture: 'topk',
  decoderInitNorm: 1,
  params: (cfg) => {
    requireK(cfg);
    return [...linearParams(cfg), { name: 'b_enc', dims: [cfg.dSae], init: zeros }, { name: 'b_dec', dims: [cfg.dOut], init: zeros }];
  },
  encode(p, x, cfg): GraphCode {
    const [vals, idx] = op.topk(preActs(centered(p, x, cfg), p.W_encT, p.b_enc), requireK(cfg), -1);
    return { kind: 'sparse', idx, acts: op.relu(vals) };
  },
  decode: (p, code) => decodeCode(p, code),
  loss(p, x, target, cfg, s) {
    const sel = { selection: resolveSelection(cfg.topkSelection, cfg.dSae, requireK(cfg), cfg.topkCandidates), candidates: cfg.topkCandidates, sums: s.sums };
    const f = topkForward({ W_encT: p.W_encT, b_enc: p.b_enc, W_dec: p.W_dec, b_dec: p.b_dec }, x, requireK(cfg), cfg.applyBDecToInput, sel);
    const mse = mseLoss(f.xhat, target);
    const metrics: Record<string, Tensor> = { mse, l0: l0Metric(f.acts), fve: fveMetric(f.xhat, target) };
    let loss = mse;
    const coef = auxKCoefficientOf(cfg);
    if (s.deadMask && coef > 0) {
      const aux = auxKLoss({ pre: f.pre, W_encT: p.W_encT, b_eff: f.b_eff, W_dec: p.W_dec, x, xhat: f.xhat, target, deadMask: s.deadMask }, auxKOf(cfg), s.sums);
      loss = op.add(loss, op.mul(aux, coef));
      metrics.auxk = aux;
    }
    return { loss, metrics, firing: sparseFiring(f.idx, f.acts, p.b_enc) };
  },
  postUpdate: () => ({ W_dec: unitRows }),
  gradTransform: () => ({ W_dec: removeParallel }),
  encodeHost(p, x, n, cfg): HostCode {
    const S = cfg.dSae;
    const k = requireK(cfg);
    const pre = hostPre(hostCentered(p, x, n, cfg), n, p.W_encT, p.b_enc, S, cfg.dIn);
    const indices = new Int32Array(n * k);
    const values = new Float32Array(n * k);
    for (let t = 0; t < n; t++) {
      const row = pre.subarray(t * S, (t + 1) * S);
      // Largest first; ties to the lower index (as ORT's TopK).
      topKIndices(row, k).forEach((s, j) => {
        indices[t * k + j] = s;
        values[t * k + j] = Math.max(0, row[s]);
      });
    }
    return { kind: 'sparse', k, indices, values };
  },
  saeLens: {
    W_encT: { name: 'W_enc', transpose: true },
    b_enc: { name: 'b_enc' },
    W_dec: { name: 'W_dec' },
    b_dec: { name: 'b_dec' },
  },
};
