// Downstream metrics: how much of the model's next-token behaviour survives when the codec's reconstruction is
// spliced into the forward pass in place of the activation. Three runs over the same tokens are compared:
//   clean  - the unmodified model;
//   codec  - activation replaced by decode(encode(x));
//   zero   - activation replaced by zeros (zero ablation, the "knows nothing" reference).
// The accumulators take logits [n, vocab] per batch; log-softmax runs in float64 with the max subtracted.
import { ProbityError, show } from '../../errors.js';
import { checkRows } from './codes.js';

/**
 * Fraction of the zero-ablation cross-entropy increase that the codec recovers:
 * (CE_zero - CE_codec) / (CE_zero - CE_clean). 1 = as good as the clean model, 0 = no better than zeros; can fall
 * outside [0, 1]. CE = mean over (non-ignored) tokens of -log p(next token). NaN when CE_zero = CE_clean.
 */
export function ceLossScore(ceClean: number, ceWithCodec: number, ceZeroAblation: number): number {
  const denom = ceZeroAblation - ceClean;
  return denom === 0 ? NaN : (ceZeroAblation - ceWithCodec) / denom;
}

/**
 * The same on KL divergence: (KL_zero - KL_codec) / KL_zero, where KL_run = mean over tokens of
 * KL(p_clean || p_run) between the clean and the spliced next-token distributions (the clean model is the
 * reference, so KL_clean = 0 and no clean term is needed). NaN when KL_zero = 0.
 */
export function klScore(klCodec: number, klZero: number): number {
  return klZero === 0 ? NaN : (klZero - klCodec) / klZero;
}

/** log-softmax of row `t` of logits [n, vocab] into `out` (float64; max-shifted so large logits cannot overflow). */
export function logSoftmaxRow(logits: ArrayLike<number>, t: number, vocab: number, out: Float64Array): void {
  const o = t * vocab;
  let m = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[o + v] > m) m = logits[o + v];
  let s = 0;
  for (let v = 0; v < vocab; v++) s += Math.exp(logits[o + v] - m);
  const lse = m + Math.log(s);
  for (let v = 0; v < vocab; v++) out[v] = logits[o + v] - lse;
}

/** Running mean of per-token cross-entropy -log softmax(logits)[target]. Targets < 0 (padding) are skipped. */
export class CrossEntropyStats {
  private n = 0;
  private sum = 0;
  private row: Float64Array;

  constructor(readonly vocab: number) {
    this.row = new Float64Array(vocab);
  }

  add(logits: ArrayLike<number>, targets: ArrayLike<number>, n: number): this {
    checkRows(logits, n, this.vocab, 'logits');
    if (targets.length !== n) throw new ProbityError('METRICS_SHAPE', `targets has ${targets.length} entries for ${n} tokens`);
    for (let t = 0; t < n; t++) {
      const y = targets[t];
      if (y < 0) continue;
      if (!Number.isInteger(y) || y >= this.vocab) throw new ProbityError('METRICS_INPUT', `target ${show(y)} at token ${t} is outside [0, ${this.vocab})`);
      logSoftmaxRow(logits, t, this.vocab, this.row);
      this.sum -= this.row[y];
      this.n++;
    }
    return this;
  }

  get count(): number {
    return this.n;
  }

  mean(): number {
    return this.n > 0 ? this.sum / this.n : NaN;
  }
}

/** Running mean over tokens of KL(p_clean || p_spliced) = sum_v p_clean(v) (log p_clean(v) - log p_spliced(v)). */
export class KLStats {
  private n = 0;
  private sum = 0;
  private p: Float64Array;
  private q: Float64Array;

  constructor(readonly vocab: number) {
    this.p = new Float64Array(vocab);
    this.q = new Float64Array(vocab);
  }

  /** `mask` (optional, length n): tokens with mask 0 are skipped, matching CrossEntropyStats' padding. */
  add(cleanLogits: ArrayLike<number>, splicedLogits: ArrayLike<number>, n: number, mask?: ArrayLike<number | boolean>): this {
    checkRows(cleanLogits, n, this.vocab, 'clean logits');
    checkRows(splicedLogits, n, this.vocab, 'spliced logits');
    if (mask && mask.length !== n) throw new ProbityError('METRICS_SHAPE', `mask has ${mask.length} entries for ${n} tokens`);
    for (let t = 0; t < n; t++) {
      if (mask && !mask[t]) continue;
      logSoftmaxRow(cleanLogits, t, this.vocab, this.p);
      logSoftmaxRow(splicedLogits, t, this.vocab, this.q);
      let kl = 0;
      for (let v = 0; v < this.vocab; v++) {
        const lp = this.p[v];
        if (lp > -Infinity) kl += Math.exp(lp) * (lp - this.q[v]); // p = 0 terms contribute 0, not 0 * inf
      }
      this.sum += kl;
      this.n++;
    }
    return this;
  }

  get count(): number {
    return this.n;
  }

  mean(): number {
    return this.n > 0 ? this.sum / this.n : NaN;
  }
}
