// Streaming reconstruction metrics: feed (x, xhat) batches of any size, read the metrics at the end. Everything is
// accumulated token by token in float64 in input order, so the result does not depend on how the data was batched
// (the same additions happen in the same order), and a million tokens cost O(dIn) memory.
import { checkRows } from './codes.js';

export interface ReconstructionMetrics {
  /**
   * Fraction of variance explained: 1 - sum_d Var_t(x_d - xhat_d) / sum_d Var_t(x_d), with Var_t the population
   * variance over tokens around each dimension's own mean. Centring matters: residual-stream activations carry a
   * large constant offset, and measured around zero a reconstruction that only gets the offset right would score
   * close to 1 (SAELens computed it that way for a year). A constant error (bias) is not penalised by FVE; mse_per_token sees it.
   */
  fve: number;
  /** Mean over tokens of sum over dims of (x - xhat)^2: sum over d, mean over t (per-token squared error, batch-size independent). */
  mse_per_token: number;
  /** Mean over tokens of cos(x, xhat). A token with |x| = 0 or |xhat| = 0 counts 0, or 1 when both are 0 (exact). */
  cosine: number;
  /** Mean over tokens with |x| > 0 of |xhat| / |x|. */
  l2_ratio: number;
  /**
   * Relative reconstruction bias gamma = E_t|xhat|^2 / E_t[x . xhat] (Rajamanoharan et al. 2024, Gated SAEs,
   * corrected: gamma = argmin_g E|xhat/g - x|^2). A ratio of means over tokens, not a mean of per-token ratios.
   * gamma < 1 means the codec shrinks reconstructions (the L1 penalty's signature); 1 is unbiased.
   */
  shrinkage: number;
  n_tokens: number;
}

export class ReconstructionStats {
  private n = 0;
  // Welford running mean / sum of squared deviations per dimension, for x and for the error e = x - xhat.
  private readonly meanX: Float64Array;
  private readonly m2X: Float64Array;
  private readonly meanE: Float64Array;
  private readonly m2E: Float64Array;
  private sqErr = 0;
  private cosSum = 0;
  private ratioSum = 0;
  private nonzeroX = 0;
  private xhatSq = 0;
  private xDotXhat = 0;

  constructor(readonly dIn: number) {
    this.meanX = new Float64Array(dIn);
    this.m2X = new Float64Array(dIn);
    this.meanE = new Float64Array(dIn);
    this.m2E = new Float64Array(dIn);
  }

  /** x, xhat: [n, dIn] row-major. */
  add(x: ArrayLike<number>, xhat: ArrayLike<number>, n: number): this {
    const d = this.dIn;
    checkRows(x, n, d, 'x');
    checkRows(xhat, n, d, 'xhat');
    for (let t = 0; t < n; t++) {
      this.n++;
      const inv = 1 / this.n;
      let xx = 0;
      let hh = 0;
      let xh = 0;
      let ee = 0;
      for (let j = 0, o = t * d; j < d; j++, o++) {
        const xv = x[o];
        const hv = xhat[o];
        const ev = xv - hv;
        xx += xv * xv;
        hh += hv * hv;
        xh += xv * hv;
        ee += ev * ev;
        const dx = xv - this.meanX[j];
        this.meanX[j] += dx * inv;
        this.m2X[j] += dx * (xv - this.meanX[j]);
        const de = ev - this.meanE[j];
        this.meanE[j] += de * inv;
        this.m2E[j] += de * (ev - this.meanE[j]);
      }
      this.sqErr += ee;
      this.xhatSq += hh;
      this.xDotXhat += xh;
      if (xx > 0) {
        this.nonzeroX++;
        this.ratioSum += Math.sqrt(hh / xx);
      }
      this.cosSum += xx > 0 && hh > 0 ? xh / Math.sqrt(xx * hh) : xx === 0 && hh === 0 ? 1 : 0;
    }
    return this;
  }

  get count(): number {
    return this.n;
  }

  /** Metrics so far; NaN where undefined (no tokens, or zero variance in x for fve). */
  metrics(): ReconstructionMetrics {
    let varX = 0;
    let varE = 0;
    for (let j = 0; j < this.dIn; j++) {
      varX += this.m2X[j];
      varE += this.m2E[j];
    }
    const n = this.n;
    return {
      fve: n > 0 && varX > 0 ? 1 - varE / varX : NaN, // the 1/n of both variances cancels
      mse_per_token: n > 0 ? this.sqErr / n : NaN,
      cosine: n > 0 ? this.cosSum / n : NaN,
      l2_ratio: this.nonzeroX > 0 ? this.ratioSum / this.nonzeroX : NaN,
      shrinkage: n > 0 ? this.xhatSq / this.xDotXhat : NaN, // the 1/n of both means cancels
      n_tokens: n,
    };
  }
}
