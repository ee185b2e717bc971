// The spurious suite's arithmetic, free of the model: pooled features, the probe head, the weather direction and its
// projection, the validation rule that picks how many latents to ablate, and the per-story outcomes the intervals
// resample. Synthetic tests drive these functions with planted directions.
import { ProbityError, show } from '../../../errors.js';
import { fitLogistic, type LogisticOptions } from '../../methods/probe.js';

/** Pooled features of one set of stories. */
export interface Pooled {
  n: number;
  d: number;
  /** [n, d] mean over each story's tokens (no <bos>, no <eos>). */
  x: Float32Array;
  /** [n, d] mean over each story's entity:weather tokens (zeros where it has none). */
  weatherTok: Float32Array;
  /** [n] how many entity:weather tokens each story has. */
  weatherCount: Int32Array;
  tone: Uint8Array;
  weather: Uint8Array;
}

export interface Head {
  w: Float64Array;
  b: number;
}

export async function fitHead(p: { x: Float32Array; n: number; d: number; tone: Uint8Array }, seed: number, opts: LogisticOptions = {}): Promise<Head> {
  if (p.n < 2) throw new ProbityError('BENCH_INPUT', `spurious: a probe needs at least 2 training stories, got ${show(p.n)}`);
  const f = await fitLogistic(p.x, p.n, p.d, p.tone, seed, opts);
  return { w: f.w, b: f.b };
}

/** Logits x . w + b, float64. */
export function logits(x: Float32Array, n: number, d: number, h: Head): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = h.b;
    for (let j = 0; j < d; j++) s += x[i * d + j] * h.w[j];
    z[i] = s;
  }
  return z;
}

/** Predicted tone class (1 where the logit is > 0; the loss is class-balanced, so 0 is the threshold). */
export const predict = (z: Float64Array): Uint8Array => Uint8Array.from(z, (v) => (v > 0 ? 1 : 0));

/** Unit DiffMean direction of the weather classes at their weather tokens: mean(class 1) - mean(class 0). */
export function weatherDirection(p: Pooled): Float64Array {
  const { n, d } = p;
  const m = [new Float64Array(d), new Float64Array(d)];
  const c = [0, 0];
  for (let i = 0; i < n; i++) {
    if (p.weatherCount[i] === 0) continue;
    const k = p.weather[i];
    c[k]++;
    for (let j = 0; j < d; j++) m[k][j] += p.weatherTok[i * d + j];
  }
  if (c[0] === 0 || c[1] === 0) throw new ProbityError('BENCH_INPUT', `spurious: the weather direction needs weather tokens in both weather classes, got ${show(c)} stories`);
  const u = new Float64Array(d);
  let nn = 0;
  for (let j = 0; j < d; j++) {
    u[j] = m[1][j] / c[1] - m[0][j] / c[0];
    nn += u[j] * u[j];
  }
  nn = Math.sqrt(nn);
  if (!(nn > 0)) throw new ProbityError('BENCH_INPUT', 'spurious: the weather classes have the same mean at their weather tokens');
  for (let j = 0; j < d; j++) u[j] /= nn;
  return u;
}

/** x - (x . u) u per row (u unit). */
export function projectOut(x: Float32Array, n: number, d: number, u: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] * u[j];
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] - s * u[j];
  }
  return out;
}

/** Per-story outcomes of one classifier on one test set. */
export interface Outcomes {
  /** 1 where the predicted tone is right. */
  toneRight: Uint8Array;
  /** 1 where the prediction equals the weather class (weather class i goes with tone i). */
  weatherRight: Uint8Array;
  group: Uint8Array;
}

export function outcomes(pred: Uint8Array, tone: Uint8Array, weather: Uint8Array): Outcomes {
  return {
    toneRight: Uint8Array.from(pred, (p, i) => (p === tone[i] ? 1 : 0)),
    weatherRight: Uint8Array.from(pred, (p, i) => (p === weather[i] ? 1 : 0)),
    group: Uint8Array.from(tone, (t, i) => t * 2 + weather[i]),
  };
}

/** Accuracy per group (NaN for a group with no stories). */
export function groupAccuracy(o: Outcomes): number[] {
  const s = [0, 0, 0, 0];
  const c = [0, 0, 0, 0];
  o.group.forEach((g, i) => {
    s[g] += o.toneRight[i];
    c[g]++;
  });
  return s.map((v, g) => (c[g] ? v / c[g] : NaN));
}

export const meanOf = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : NaN;
};

/** The point metrics of one classifier from its balanced and reversed test outcomes. */
export function metricsOf(bal: Outcomes, rev: Outcomes): { tone_acc: number; weather_acc: number; worst_group_acc: number; reversed_acc: number; groups: number[] } {
  const groups = groupAccuracy(bal);
  return { tone_acc: meanOf(bal.toneRight), weather_acc: meanOf(bal.weatherRight), worst_group_acc: Math.min(...groups.filter(Number.isFinite)), reversed_acc: meanOf(rev.toneRight), groups };
}

/**
 * How much of a classifier's margin on ambiguous validation stories comes from their weather sentence:
 * mean s (z - z_del) / mean s z, with s = +1 / -1 for tone 1 / 0 and z_del the logit of the same story with its
 * weather sentences deleted. 0: the weather sentence moves nothing; 1: all of the margin is the weather sentence's.
 */
export function weatherReliance(z: Float64Array, zDel: Float64Array, tone: Uint8Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < z.length; i++) {
    const s = tone[i] ? 1 : -1;
    num += s * (z[i] - zDel[i]);
    den += s * z[i];
  }
  return den > 0 ? num / den : Infinity;
}

export interface KCandidate {
  k: number;
  val_acc: number;
  reliance: number;
}

/**
 * The number of latents to ablate, on ambiguous validation only: among the k whose validation tone accuracy is at
 * least that of k = 0 minus `tolerance`, the one with the lowest weather reliance (ties: the smaller k).
 */
export function chooseK(cands: readonly KCandidate[], tolerance: number): KCandidate {
  const base = cands.find((c) => c.k === 0);
  if (!base) throw new ProbityError('INTERNAL', 'chooseK needs the k = 0 candidate');
  let best = base;
  for (const c of cands) {
    if (!(c.val_acc >= base.val_acc - tolerance)) continue;
    if (c.reliance < best.reliance - 1e-12 || (Math.abs(c.reliance - best.reliance) <= 1e-12 && c.k < best.k)) best = c;
  }
  return best;
}
