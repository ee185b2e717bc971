// Small host helpers shared by the concept methods (float64 accumulation throughout).
import { ProbityError, show } from '../../errors.js';
import type { ConceptData } from './types.js';

/** Check a ConceptData's sizes and that both classes are present; returns the number of positives. */
export function checkConcept(data: ConceptData, where: string): number {
  const { x, n, d, labels } = data;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 1 || x.length !== n * d) {
    throw new ProbityError('BENCH_INPUT', `${where}: x has ${x.length} values for n = ${show(n)}, d = ${show(d)}`);
  }
  if (labels.length !== n) throw new ProbityError('BENCH_INPUT', `${where}: ${labels.length} labels for n = ${n}`);
  let pos = 0;
  for (let i = 0; i < n; i++) if (labels[i]) pos++;
  if (pos === 0 || pos === n) throw new ProbityError('BENCH_INPUT', `${where}: needs both classes, got ${pos} positive of ${n}`);
  return pos;
}

export function checkRowsX(x: Float32Array, n: number, d: number, where: string): void {
  if (!Number.isInteger(n) || n < 0 || x.length !== n * d) throw new ProbityError('BENCH_INPUT', `${where}: x has ${x.length} values for n = ${show(n)}, d = ${d}`);
}

/** Means of the positive and negative rows. */
export function classMeans(data: ConceptData): { pos: Float64Array; neg: Float64Array; all: Float64Array; nPos: number } {
  const { x, n, d, labels } = data;
  const pos = new Float64Array(d);
  const neg = new Float64Array(d);
  let nPos = 0;
  for (let t = 0; t < n; t++) {
    const m = labels[t] ? pos : neg;
    if (labels[t]) nPos++;
    for (let j = 0; j < d; j++) m[j] += x[t * d + j];
  }
  const all = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    all[j] = (pos[j] + neg[j]) / n;
    pos[j] /= nPos;
    neg[j] /= n - nPos;
  }
  return { pos, neg, all, nPos };
}

/** v / |v| as Float32Array (zero vector stays zero). */
export function unit(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const r = s > 0 ? 1 / Math.sqrt(s) : 0;
  return Float32Array.from(v, (a) => a * r);
}

/** Scores x [n, d] . w + b. */
export function project(x: Float32Array, n: number, d: number, w: ArrayLike<number>, b = 0): Float32Array {
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    let s = b;
    for (let j = 0, o = t * d; j < d; j++, o++) s += x[o] * w[j];
    out[t] = s;
  }
  return out;
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Mean score of positives minus mean score of negatives. */
export function meanGap(scores: ArrayLike<number>, labels: Uint8Array): number {
  let sp = 0;
  let sn = 0;
  let np = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i]) {
      sp += scores[i];
      np++;
    } else sn += scores[i];
  }
  const nn = scores.length - np;
  return (np ? sp / np : 0) - (nn ? sn / nn : 0);
}
