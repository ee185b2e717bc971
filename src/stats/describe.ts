// Descriptive statistics shared by the benchmark tables. Sums run in float64 in input order, so results do not
// depend on how the caller chunked its data.
import { ProbityError, show } from '../errors.js';

export type Labels = ArrayLike<number | boolean>;

export function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new ProbityError('STATS_INPUT', `${what}[${i}] is ${show(values[i])}; expected a finite number`);
  }
}

/** Labels as booleans: true / 1 is positive, false / 0 negative; anything else is an error. */
export function toBool(labels: Labels, n: number, what = 'labels'): boolean[] {
  if (labels.length !== n) throw new ProbityError('STATS_INPUT', `${what} has length ${labels.length}, scores have ${n}`);
  const out = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === true || l === 1) out[i] = true;
    else if (l === false || l === 0) out[i] = false;
    else throw new ProbityError('STATS_INPUT', `${what}[${i}] is ${show(l)}; expected 0/1 or a boolean`);
  }
  return out;
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new ProbityError('STATS_INPUT', 'mean of an empty list');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Standard deviation with `ddof` delta degrees of freedom (1 = sample std, the default; 0 = population). */
export function std(values: ArrayLike<number>, ddof = 1): number {
  const n = values.length;
  if (n - ddof <= 0) throw new ProbityError('STATS_INPUT', `std needs more than ${ddof} value(s), got ${n}`);
  const m = mean(values);
  let ss = 0; // two-pass: the mean is subtracted before squaring, so large offsets cost no precision
  for (let i = 0; i < n; i++) ss += (values[i] - m) ** 2;
  return Math.sqrt(ss / (n - ddof));
}

/** Quantile q in [0, 1] of ascending-sorted values, linear interpolation between order statistics (R type 7, numpy default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new ProbityError('STATS_INPUT', 'quantile of an empty list');
  if (!(q >= 0 && q <= 1)) throw new ProbityError('STATS_INPUT', `quantile q must be in [0, 1], got ${show(q)}`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
