// Synthetic activations for SAE tests: sparse non-negative combinations of known unit "ground-truth" feature
// directions, and the recovery score (mean over true features of the best cosine with any decoder row).
import { Rng } from '../../src/dictionaries/sae.js';

export interface Synthetic {
  dIn: number;
  nFeatures: number;
  /** [nFeatures, dIn] unit rows. */
  features: Float32Array;
  /** Batch `index` [B, dIn] (deterministic in the index). */
  batch(index: number): Float32Array;
  /** With dOut: the same codes written with a second set of unit features in R^dOut, as transcoder targets. */
  outFeatures: Float32Array;
  pair(index: number): { x: Float32Array; target: Float32Array };
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function unitRows(n: number, d: number, r: () => number): Float32Array {
  const out = new Float32Array(n * d);
  for (let f = 0; f < n; f++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += (out[f * d + j] = gaussian(r)) ** 2;
    for (let j = 0; j < d; j++) out[f * d + j] /= Math.sqrt(ss);
  }
  return out;
}

export function synthetic(o: { dIn: number; nFeatures: number; active: number; batchSize: number; seed: number; offset?: number; dOut?: number }): Synthetic {
  const { dIn, nFeatures, active, batchSize } = o;
  const dOut = o.dOut ?? dIn;
  const r = new Rng(o.seed).next;
  const features = unitRows(nFeatures, dIn, r);
  const outFeatures = unitRows(nFeatures, dOut, r);
  const pair = (index: number) => {
    const rr = new Rng(o.seed * 7919 + index * 104729 + 1).next;
    const x = new Float32Array(batchSize * dIn);
    const target = new Float32Array(batchSize * dOut);
    for (let t = 0; t < batchSize; t++) {
      const chosen = new Set<number>();
      while (chosen.size < active) chosen.add(Math.floor(rr() * nFeatures));
      for (const f of chosen) {
        const c = 0.5 + rr();
        for (let d = 0; d < dIn; d++) x[t * dIn + d] += c * features[f * dIn + d];
        for (let d = 0; d < dOut; d++) target[t * dOut + d] += c * outFeatures[f * dOut + d];
      }
      if (o.offset) for (let d = 0; d < dIn; d++) x[t * dIn + d] += o.offset;
    }
    return { x, target };
  };
  return { dIn, nFeatures, features, outFeatures, batch: (i) => pair(i).x, pair };
}

/** Mean over true features of max_j cos(feature, W_dec row j). */
export function meanMaxCosine(features: Float32Array, nFeatures: number, W_dec: Float32Array, dSae: number, dIn: number): number {
  const norms = new Float64Array(dSae);
  for (let j = 0; j < dSae; j++) {
    let ss = 0;
    for (let d = 0; d < dIn; d++) ss += W_dec[j * dIn + d] ** 2;
    norms[j] = Math.sqrt(ss) || 1;
  }
  let total = 0;
  for (let f = 0; f < nFeatures; f++) {
    let best = -1;
    for (let j = 0; j < dSae; j++) {
      let dot = 0;
      for (let d = 0; d < dIn; d++) dot += features[f * dIn + d] * W_dec[j * dIn + d];
      best = Math.max(best, dot / norms[j]);
    }
    total += best;
  }
  return total / nFeatures;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}
