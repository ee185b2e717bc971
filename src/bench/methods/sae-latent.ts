// SAE-latent methods: detect and steer a concept with the latents of a given (frozen) SAE.
//
//   saeBestLatent(sae)   the single latent with the highest train AUROC (exact, ties counted 1/2, computed per latent
//                        from the sparse code with all inactive tokens as one tied block at 0); score = that latent's
//                        activation; direction = its decoder row, normalised. Latents that never fire have AUROC 0.5.
//   saeTopKProbe(sae)    the k latents (default 8) ranked by train AUROC (or by mean activation difference
//                        positives - negatives), then logistic regression (fitLogistic, standardised, balanced) on
//                        those k activations; score = logit; direction = sum_j w_j W_dec[j], normalised, with w the
//                        logistic weights on raw activations.
// Codes come from Sae.encode in chunks of `batchSize` tokens. For a transcoder the decoder rows (and so the
// direction) live in its output space, not the input activation space. Only latents that help positively are
// selected (AUROC > 0.5 ranks first); a latent that fires *less* on the concept is not flipped.
import type { Sae } from '../../dictionaries/sae.js';
import type { SparseCode } from '../../dictionaries/metrics/index.js';
import type { ConceptData, FittedMethod, Method } from './types.js';
import { ArrayMemo, checkConcept, checkRowsX, unit } from './common.js';
import { fitLogistic, type LogisticOptions } from './probe.js';

/** SAE codes by chunk, per (SAE, activation array): detection scores the same arrays for every concept. */
const codes = new WeakMap<Sae, ArrayMemo<{ code: SparseCode; t0: number }[]>>();

async function encodeChunks(sae: Sae, x: Float32Array, n: number, batchSize: number, each: (code: SparseCode, t0: number) => void): Promise<void> {
  const d = sae.dIn;
  let memo = codes.get(sae);
  if (!memo) codes.set(sae, (memo = new ArrayMemo()));
  const chunks = await memo.get(x, `${n}|${batchSize}`, async () => {
    const out: { code: SparseCode; t0: number }[] = [];
    for (let t0 = 0; t0 < n; t0 += batchSize) {
      const b = Math.min(batchSize, n - t0);
      out.push({ code: await sae.encode(x.subarray(t0 * d, (t0 + b) * d), b), t0 });
    }
    return out;
  });
  for (const c of chunks) each(c.code, c.t0);
}

/** Activations of the chosen latents, [n, latents.length]. */
async function latentActs(sae: Sae, x: Float32Array, n: number, latents: readonly number[], batchSize: number): Promise<Float32Array> {
  const col = new Map<number, number>();
  latents.forEach((l, i) => col.set(l, i));
  const k = latents.length;
  const out = new Float32Array(n * k);
  await encodeChunks(sae, x, n, batchSize, (c, t0) => {
    for (let t = 0; t < c.n; t++) {
      for (let j = 0; j < c.k; j++) {
        const v = c.values[t * c.k + j];
        if (v === 0) continue;
        const i = col.get(c.indices[t * c.k + j]);
        if (i !== undefined) out[(t0 + t) * k + i] = v;
      }
    }
  });
  return out;
}

export interface LatentStats {
  /** [dSae] train AUROC of each latent's activation. */
  auroc: Float64Array;
  /** [dSae] mean activation on positives minus on negatives. */
  meanDiff: Float64Array;
}

/** Per-latent AUROC and mean difference on labelled activations, from sparse codes (O(nnz log nnz) per latent). */
export async function latentStats(sae: Sae, data: ConceptData, batchSize = 4096): Promise<LatentStats> {
  const { x, n, labels } = data;
  const S = sae.dSae;
  const vals: number[][] = Array.from({ length: S }, () => []);
  const pos: number[][] = Array.from({ length: S }, () => []);
  await encodeChunks(sae, x, n, batchSize, (c, t0) => {
    for (let t = 0; t < c.n; t++) {
      for (let j = 0; j < c.k; j++) {
        const v = c.values[t * c.k + j];
        if (v === 0) continue;
        const s = c.indices[t * c.k + j];
        vals[s].push(v);
        pos[s].push(labels[t0 + t] ? 1 : 0);
      }
    }
  });
  let nPos = 0;
  for (let t = 0; t < n; t++) if (labels[t]) nPos++;
  const nNeg = n - nPos;
  const auroc = new Float64Array(S);
  const meanDiff = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const v = vals[s];
    const p = pos[s];
    // The zero block: tokens where the latent is inactive.
    let zPos = nPos;
    let zNeg = nNeg;
    let sumPos = 0;
    let sumNeg = 0;
    for (let i = 0; i < v.length; i++) {
      if (p[i]) {
        zPos--;
        sumPos += v[i];
      } else {
        zNeg--;
        sumNeg += v[i];
      }
    }
    meanDiff[s] = (nPos ? sumPos / nPos : 0) - (nNeg ? sumNeg / nNeg : 0);
    const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a] - v[b]);
    // Walk groups of equal value in increasing order, inserting the zero block at its place.
    let negBelow = 0;
    let u = 0;
    let zeroDone = false;
    const zeroBlock = () => {
      u += zPos * (negBelow + 0.5 * zNeg);
      negBelow += zNeg;
      zeroDone = true;
    };
    for (let i = 0; i < order.length; ) {
      const val = v[order[i]];
      if (!zeroDone && val > 0) zeroBlock();
      let j = i;
      let gp = 0;
      let gn = 0;
      while (j < order.length && v[order[j]] === val) {
        if (p[order[j]]) gp++;
        else gn++;
        j++;
      }
      u += gp * (negBelow + 0.5 * gn);
      negBelow += gn;
      i = j;
    }
    if (!zeroDone) zeroBlock();
    auroc[s] = nPos && nNeg ? u / (nPos * nNeg) : NaN;
  }
  return { auroc, meanDiff };
}

function decoderRow(sae: Sae, s: number): Float32Array {
  const D = sae.dOut;
  return sae.params.W_dec.subarray(s * D, (s + 1) * D);
}

/** Latent indices sorted by a statistic, descending (ties: lower index; NaN last). */
function ranked(stat: Float64Array): number[] {
  const key = (i: number) => (Number.isNaN(stat[i]) ? -Infinity : stat[i]);
  return Array.from({ length: stat.length }, (_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
}

export interface SaeLatentOptions {
  /** Tokens per SAE encode call (default 4096). */
  batchSize?: number;
}

/** A fitted best-latent method: also reports the latent and its train AUROC. */
export interface BestLatentFit extends FittedMethod {
  latent: number;
  trainAuroc: number;
}

/** A fitted top-k probe: also reports the latents (best first) and their logistic weights on raw activations. */
export interface TopKProbeFit extends FittedMethod {
  latents: number[];
  weights: Float64Array;
  bias: number;
}

/** Best single latent by train AUROC. */
export function saeBestLatent(sae: Sae, opts: SaeLatentOptions = {}): Method<BestLatentFit> {
  const bs = opts.batchSize ?? 4096;
  return {
    name: 'sae',
    async fit(train: ConceptData): Promise<BestLatentFit> {
      checkConcept(train, 'sae');
      checkRowsX(train.x, train.n, sae.dIn, 'sae-best-latent (d must equal the SAE d_in)');
      const st = await latentStats(sae, train, bs);
      const latent = ranked(st.auroc)[0];
      return {
        name: 'sae',
        latent,
        trainAuroc: st.auroc[latent],
        direction: unit(decoderRow(sae, latent)),
        score: async (x, n) => {
          checkRowsX(x, n, sae.dIn, 'sae-best-latent score');
          return latentActs(sae, x, n, [latent], bs);
        },
      };
    },
  };
}

export interface SaeTopKOptions extends SaeLatentOptions {
  /** Latents kept (default 8, capped at dSae). */
  k?: number;
  /** How latents are ranked on the train split (default 'auroc'). */
  rankBy?: 'auroc' | 'meanDiff';
  /** Logistic regression options (defaults as fitLogistic). */
  logistic?: LogisticOptions;
}

/** Top-k latents + logistic regression on their activations. */
export function saeTopKProbe(sae: Sae, opts: SaeTopKOptions = {}): Method<TopKProbeFit> {
  const bs = opts.batchSize ?? 4096;
  const k = Math.max(1, Math.min(opts.k ?? 8, sae.dSae));
  const rankBy = opts.rankBy ?? 'auroc';
  const name = opts.k === undefined ? 'sae-topk-probe' : `sae-top${k}-probe`;
  return {
    name,
    async fit(train: ConceptData, seed: number): Promise<TopKProbeFit> {
      checkConcept(train, name);
      checkRowsX(train.x, train.n, sae.dIn, `${name} (d must equal the SAE d_in)`);
      const st = await latentStats(sae, train, bs);
      const latents = ranked(rankBy === 'auroc' ? st.auroc : st.meanDiff).slice(0, k);
      const feats = await latentActs(sae, train.x, train.n, latents, bs);
      const { w, b } = await fitLogistic(feats, train.n, k, train.labels, seed, opts.logistic);
      const D = sae.dOut;
      const dir = new Float64Array(D);
      latents.forEach((l, i) => {
        const row = decoderRow(sae, l);
        for (let j = 0; j < D; j++) dir[j] += w[i] * row[j];
      });
      return {
        name,
        latents,
        weights: w,
        bias: b,
        direction: unit(dir),
        score: async (x, n) => {
          checkRowsX(x, n, sae.dIn, `${name} score`);
          const f = await latentActs(sae, x, n, latents, bs);
          const out = new Float32Array(n);
          for (let t = 0; t < n; t++) {
            let s = b;
            for (let i = 0; i < k; i++) s += f[t * k + i] * w[i];
            out[t] = s;
          }
          return out;
        },
      };
    },
  };
}
