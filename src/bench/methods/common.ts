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

/**
 * Per-array memo for label-independent work (k-means clusters, SAE codes): detection fits every concept on the same
 * train array, so the work is done once per split instead of once per concept. Entries are keyed by the array object
 * (WeakMap: dropped with it) plus a fingerprint of its length and 64 strided values, so an array refilled in place
 * is recomputed rather than served stale.
 */
export class ArrayMemo<V> {
  private map = new WeakMap<Float32Array, Map<string, V>>();
  async get(x: Float32Array, key: string, make: () => Promise<V>): Promise<V> {
    let inner = this.map.get(x);
    if (!inner) this.map.set(x, (inner = new Map()));
    const k = `${key}|${fingerprint(x)}`;
    let v = inner.get(k);
    if (v === undefined) {
      v = await make();
      inner.set(k, v);
    }
    return v;
  }
}

function fingerprint(x: Float32Array): string {
  let h = x.length;
  const step = Math.max(1, Math.floor(x.length / 64));
  for (let i = 0; i < x.length; i += step) h = (Math.imul(h, 31) + Math.round(x[i] * 1e4)) | 0;
  return `${x.length}:${h}`;
}
