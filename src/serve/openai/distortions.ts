// Simulated logprob distortions: test aids that make probity's own server behave like providers seen in the wild, so
// the logprob forensics (`probity logprobs`) can be checked against a known truth. They change only the logprobs a
// response returns, never which token is sampled.
//   logprobGrid g           lp -> top + g * round((lp - top) / g), top = the most likely token's true logprob: the
//                           differences from the top sit on the grid, the raw values do not, probabilities can sum past 1
//   roundBeforeNormalise    (with logprobGrid) the logits are rounded to multiples of g, then log-softmax over the
//                           whole vocabulary: exact logprobs of that rounded distribution (top-k never sums past 1)
//   topLogprobsCap c        top_logprobs / logprobs: N silently truncated to min(N, c) entries
//   logprobNoise s          Gaussian noise of sd s on each returned logprob, fresh per request (seed or not); one
//                           draw per (position, token), so a token's logprob and its top_logprobs entry agree
import type { TokenLogprob } from '../../models/sampling.js';
import { ProbityError, show } from '../../errors.js';

export interface Distortions {
  logprobGrid?: number;
  topLogprobsCap?: number;
  logprobNoise?: number;
  roundBeforeNormalise?: boolean;
}

export function checkDistortions(d: Distortions): void {
  const bad = (what: string, v: unknown, want: string) => new ProbityError('DISTORTION_ARG', `${what} is ${show(v)}; expected ${want}`);
  if (d.logprobGrid !== undefined && !(Number.isFinite(d.logprobGrid) && d.logprobGrid > 0)) throw bad('logprobGrid', d.logprobGrid, 'a number > 0');
  if (d.topLogprobsCap !== undefined && !(Number.isInteger(d.topLogprobsCap) && d.topLogprobsCap >= 0)) throw bad('topLogprobsCap', d.topLogprobsCap, 'an integer >= 0');
  if (d.logprobNoise !== undefined && !(Number.isFinite(d.logprobNoise) && d.logprobNoise >= 0)) throw bad('logprobNoise', d.logprobNoise, 'a number >= 0');
  if (d.roundBeforeNormalise && d.logprobGrid === undefined) throw bad('roundBeforeNormalise', true, 'logprobGrid to be set too (the grid to round the logits to)');
}

/** The logprobs one request returns: what to ask the scheduler for, and how to turn its answers into the response's. */
export class LogprobView {
  /** Alternatives to ask the scheduler for (the grid needs the top one even when none are returned). */
  readonly internalTop: number;
  /** Alternatives returned. */
  readonly returnedTop: number;
  /** Logits as the returned logprobs see them (roundBeforeNormalise), or undefined. */
  readonly logprobLogits?: (logits: Float32Array) => Float64Array;
  private readonly gauss: (() => number) | null;
  private readonly grid: number | null;

  constructor(d: Distortions, requested: number) {
    this.returnedTop = Math.min(requested, d.topLogprobsCap ?? Infinity);
    const g = d.logprobGrid ?? null;
    this.grid = g !== null && !d.roundBeforeNormalise ? g : null;
    this.internalTop = this.grid !== null ? Math.max(this.returnedTop, 1) : this.returnedTop;
    if (g !== null && d.roundBeforeNormalise) this.logprobLogits = (x) => Float64Array.from(x, (v) => g * Math.round(v / g));
    this.gauss = d.logprobNoise ? gaussian(d.logprobNoise) : null;
  }

  apply(lp: TokenLogprob): TokenLogprob {
    const top = lp.top[0]?.logprob ?? lp.logprob;
    const noise = new Map<number, number>();
    const f = (token: number, x: number) => {
      let y = this.grid !== null ? top + this.grid * Math.round((x - top) / this.grid) : x;
      if (this.gauss) {
        if (!noise.has(token)) noise.set(token, this.gauss());
        y += noise.get(token)!;
      }
      return y;
    };
    return { token: lp.token, logprob: f(lp.token, lp.logprob), top: lp.top.slice(0, this.returnedTop).map((t) => ({ token: t.token, logprob: f(t.token, t.logprob) })) };
  }
}

/** N(0, sd^2) draws (Box-Muller) from Math.random: deliberately not seeded, so identical requests differ. */
function gaussian(sd: number): () => number {
  return () => {
    const u = 1 - Math.random();
    return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  };
}
