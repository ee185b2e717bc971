// Turning logits into tokens: greedy, temperature, top-k, top-p, all seeded; plus OpenAI-style logprobs.
export interface SamplingOptions {
  /** 0 = greedy (argmax, first index on ties, as llama2.c). */
  temperature?: number;
  topK?: number;
  topP?: number;
}

/** xorshift32: small, seeded, reproducible across platforms. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** log-softmax in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

export function sample(logits: ArrayLike<number>, opts: SamplingOptions, rand: () => number): number {
  const temp = opts.temperature ?? 1;
  if (temp === 0) return argmax(logits);
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const w = new Float64Array(n); // unnormalised probabilities at this temperature
  for (let i = 0; i < n; i++) w[i] = Math.exp((logits[i] - max) / temp);
  const restricted = (opts.topK && opts.topK > 0 && opts.topK < n) || (opts.topP !== undefined && opts.topP < 1);
  if (!restricted) {
    // Plain sampling: one pass, no sort (this is the hot path when sampling many completions).
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i];
    let r = rand() * total;
    for (let i = 0; i < n; i++) {
      r -= w[i];
      if (r <= 0) return i;
    }
    return n - 1;
  }
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => w[b] - w[a]);
  if (opts.topK && opts.topK > 0) order = order.slice(0, opts.topK);
  if (opts.topP !== undefined && opts.topP < 1) {
    let all = 0;
    for (let i = 0; i < n; i++) all += w[i];
    let cum = 0;
    const kept: number[] = [];
    for (const i of order) {
      kept.push(i);
      cum += w[i] / all;
      if (cum >= opts.topP) break;
    }
    order = kept;
  }
  let total = 0;
  for (const i of order) total += w[i];
  let r = rand() * total;
  for (const i of order) {
    r -= w[i];
    if (r <= 0) return i;
  }
  return order[order.length - 1];
}

export interface TokenLogprob {
  token: number;
  logprob: number;
  top: { token: number; logprob: number }[];
}

/** The chosen token's logprob under the model (temperature 1) and the n most likely alternatives. */
export function tokenLogprob(logits: ArrayLike<number>, token: number, n: number): TokenLogprob {
  const lp = logSoftmax(logits);
  const top: { token: number; logprob: number }[] = [];
  // Selection of the n best without sorting the whole vocabulary.
  for (let i = 0; i < lp.length && n > 0; i++) {
    if (top.length < n || lp[i] > top[top.length - 1].logprob) {
      top.push({ token: i, logprob: lp[i] });
      top.sort((a, b) => b.logprob - a.logprob || a.token - b.token);
      if (top.length > n) top.pop();
    }
  }
  return { token, logprob: lp[token], top };
}
