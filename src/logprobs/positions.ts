// The per-position views every detector shares: a position's returned alternatives (the -9999 "very unlikely"
// sentinel left out, one entry per token), its top logprob, and the float tolerance of a returned value.
import { quantileSorted } from '../stats/describe.js';
import type { Sequence, TokenObservation, TopEntry } from './types.js';

/** OpenAI returns -9999.0 for tokens outside the top 20; such values are markers, not logprobs. */
export const SENTINEL_BELOW = -9000;

export const isLogprob = (x: number | null): x is number => x !== null && x > SENTINEL_BELOW && x <= 0.001;

/** The position's alternatives, one per token (the larger value where a token repeats), in returned order. */
export function alternatives(o: TokenObservation): TopEntry[] {
  if (!o.top) return [];
  const seen = new Map<string, TopEntry>();
  for (const e of o.top) {
    if (!isLogprob(e.logprob)) continue;
    const prev = seen.get(e.token);
    if (!prev || e.logprob > prev.logprob) seen.set(e.token, e);
  }
  return [...seen.values()];
}

/** Significant digits in the shortest decimal that round-trips the double (how the value was printed). */
export function significantDigits(x: number): number {
  const m = Math.abs(x).toExponential().split('e')[0].replace('.', '');
  return m.length;
}

/**
 * Rounding error of a returned value. Most providers compute in float32 (half an ulp is 2^-24 |x|) and print it
 * either to ~9 digits or as the double of the float32; twice the float32 ulp leaves a margin. A value that is neither
 * a float32 nor printed short was computed in float64 and gets float64's (still generous) tolerance: there a grid
 * point 1e-7 away is not a hit.
 */
export function valueTolerance(x: number): number {
  if (Math.fround(x) === x || significantDigits(x) <= 9) return 2 ** -22 * Math.abs(x) + 1e-12;
  return 2 ** -44 * Math.abs(x) + 1e-15;
}

export function* observations(seqs: readonly Sequence[]): Generator<{ seq: Sequence; obs: TokenObservation; position: number }> {
  for (const seq of seqs) for (let i = 0; i < seq.tokens.length; i++) yield { seq, obs: seq.tokens[i], position: i };
}

/** Sum of the returned probabilities at a position (over distinct tokens), or null without alternatives. */
export function topMass(o: TokenObservation): number | null {
  const a = alternatives(o);
  if (a.length === 0) return null;
  return a.reduce((s, e) => s + Math.exp(e.logprob), 0);
}

/** q-quantile of unsorted values (src/stats's interpolating quantile). */
export function quantile(xs: readonly number[], q: number): number {
  return quantileSorted(Float64Array.from(xs).sort(), q);
}
