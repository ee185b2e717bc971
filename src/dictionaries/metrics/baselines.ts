// Unsupervised baselines an SAE has to beat at equal sparsity (equal L0). All three decode the same way,
// xhat = center + sum_j value_j * atom_j, and differ only in how atoms and coefficients are chosen:
//   PCA              - atoms are the principal directions, the k largest |projections| are kept per token;
//   k-means          - atoms are centroids; L0 = 1 is one centroid times a scale, L0 = k is orthogonal matching pursuit;
//   random dictionary - random unit directions with the TopK SAE encoder rule: the "no learning" control.
// Plain float64 TypeScript, sized for d_in <= 1024 and fits on <= 100k tokens. Every random choice comes from a seeded Rng.
import { ProbityError, show } from '../../errors.js';
import { Rng } from '../../stats/rng.js';
import { checkCode, checkRows, topKIndices, type Codec, type SparseCode } from './codes.js';
import { solveSpd, symmetricEigen } from './linalg.js';

function checkK(k: number, max: number, what: string): void {
  if (!Number.isInteger(k) || k < 1 || k > max) throw new ProbityError('METRICS_INPUT', `${what} must be an integer in [1, ${max}], got ${show(k)}`);
}

// Float64Array-only on purpose: a dot product that also saw Float32Arrays would be polymorphic and several times slower in V8.
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < d; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + (s2 + s3);
}

/** Per-dimension mean of x [n, d]. */
export function columnMean(x: ArrayLike<number>, n: number, d: number): Float64Array {
  checkRows(x, n, d, 'x');
  if (n < 1) throw new ProbityError('METRICS_INPUT', 'cannot fit a baseline on 0 tokens');
  const mu = new Float64Array(d);
  for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) mu[j] += x[t * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  return mu;
}

/** Shared decoder: xhat = center + sum over active entries of value * atoms[index]. */
abstract class AtomCodec implements Codec {
  constructor(
    readonly name: string,
    readonly dIn: number,
    readonly dSae: number,
    /** [dSae, dIn] row-major, one atom per latent. */
    readonly atoms: Float64Array,
    /** Added back after decoding (the data mean for PCA and the random dictionary, zeros for k-means). */
    readonly center: Float64Array,
    /** Code width (L0 upper bound). */
    readonly k: number,
  ) {}

  abstract encode(x: Float32Array, n: number): SparseCode;

  decode(code: SparseCode): Float32Array {
    const d = this.dIn;
    if (code.dSae !== this.dSae) throw new ProbityError('METRICS_SHAPE', `${this.name}: code has dSae ${code.dSae}, codec has ${this.dSae}`);
    checkCode(code);
    const out = new Float32Array(code.n * d);
    const row = new Float64Array(d);
    for (let t = 0; t < code.n; t++) {
      row.set(this.center);
      for (let s = 0; s < code.k; s++) {
        const v = code.values[t * code.k + s];
        if (v === 0) continue;
        const a = code.indices[t * code.k + s] * d;
        for (let j = 0; j < d; j++) row[j] += v * this.atoms[a + j];
      }
      out.set(row, t * d);
    }
    return out;
  }

  protected emptyCode(n: number): SparseCode {
    return { kind: 'sparse', n, k: this.k, dSae: this.dSae, indices: new Int32Array(n * this.k), values: new Float32Array(n * this.k) };
  }

  protected centred(x: Float32Array, t: number, out: Float64Array): Float64Array {
    for (let j = 0; j < this.dIn; j++) out[j] = x[t * this.dIn + j] - this.center[j];
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PCA

export class PcaCodec extends AtomCodec {
  constructor(
    mean: Float64Array,
    /** Principal directions as rows [dIn, dIn], by decreasing variance. */
    readonly components: Float64Array,
    /** Variance along each component (covariance eigenvalues, population normalisation). */
    readonly variances: Float64Array,
    k: number,
  ) {
    checkK(k, mean.length, 'PCA k');
    super(`pca-top${k}`, mean.length, mean.length, components, mean, k);
  }

  /** Project the centred token on every component and keep the k largest |coefficients| (ties: lower component). */
  encode(x: Float32Array, n: number): SparseCode {
    checkRows(x, n, this.dIn, 'x');
    const d = this.dIn;
    const code = this.emptyCode(n);
    const xc = new Float64Array(d);
    const coef = new Float64Array(d);
    const mag = new Float64Array(d);
    for (let t = 0; t < n; t++) {
      this.centred(x, t, xc);
      for (let i = 0; i < d; i++) {
        coef[i] = dot(this.components, i * d, xc, 0, d);
        mag[i] = Math.abs(coef[i]);
      }
      topKIndices(mag, this.k).forEach((i, s) => {
        code.indices[t * this.k + s] = i;
        code.values[t * this.k + s] = coef[i];
      });
    }
    return code;
  }
}

/**
 * Fits mean and principal directions of x [n, dIn]: two passes (mean, then the covariance of the centred data,
 * so a large offset costs no precision), then the eigendecomposition of the dIn x dIn covariance. The covariance
 * costs n * dIn^2 / 2 multiply-adds (about 5e10 for 100k tokens at dIn = 1024: tens of seconds in plain JS).
 */
export function fitPca(x: Float32Array, n: number, dIn: number, opts: { k: number }): PcaCodec {
  const mu = columnMean(x, n, dIn);
  const cov = new Float64Array(dIn * dIn);
  const B = 64; // tokens per block: the block is stored transposed so the inner product over tokens is contiguous
  const xt = new Float64Array(dIn * B);
  for (let t0 = 0; t0 < n; t0 += B) {
    const b = Math.min(B, n - t0);
    for (let t = 0; t < b; t++) for (let j = 0; j < dIn; j++) xt[j * B + t] = x[(t0 + t) * dIn + j] - mu[j];
    for (let i = 0; i < dIn; i++) for (let j = i; j < dIn; j++) cov[i * dIn + j] += dot(xt, i * B, xt, j * B, b);
  }
  for (let i = 0; i < dIn; i++) {
    for (let j = i; j < dIn; j++) {
      cov[i * dIn + j] /= n;
      cov[j * dIn + i] = cov[i * dIn + j];
    }
  }
  const { values, vectors } = symmetricEigen(cov, dIn);
  return new PcaCodec(mu, vectors, values, opts.k);
}

// ---------------------------------------------------------------------------------------------------------------
// k-means

export interface KMeansFit {
  /** [nClusters, dIn] */
  centroids: Float64Array;
  /** Nearest centroid of each training token. */
  assignments: Int32Array;
  /** Sum of squared distances of tokens to their centroid. */
  inertia: number;
  /** Lloyd iterations run (stops early when no assignment changes). */
  iterations: number;
}

/** Nearest centroid of token t by |x|^2 - 2 x.c + |c|^2 (x centred and float64; monomorphic dot products). */
function nearest(x: Float64Array, xo: number, xsq: number, c: Float64Array, csq: Float64Array, nc: number, d: number): [number, number] {
  let best = 0;
  let bestD = Infinity;
  for (let c0 = 0; c0 < nc; c0++) {
    const s = csq[c0] - 2 * dot(c, c0 * d, x, xo, d);
    if (s < bestD) {
      bestD = s;
      best = c0;
    }
  }
  return [best, Math.max(0, bestD + xsq)];
}

/** nearest() for the 4 tokens t0 .. t0 + 3 at once (each centroid value read once for 4 tokens). */
function nearest4(x: Float64Array, t0: number, xsq: Float64Array, c: Float64Array, csq: Float64Array, nc: number, d: number, best: Int32Array, bestD: Float64Array): void {
  const o0 = t0 * d;
  const o1 = o0 + d;
  const o2 = o1 + d;
  const o3 = o2 + d;
  let b0 = Infinity;
  let b1 = Infinity;
  let b2 = Infinity;
  let b3 = Infinity;
  for (let c0 = 0; c0 < nc; c0++) {
    const oc = c0 * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const w = c[oc + j];
      s0 += w * x[o0 + j];
      s1 += w * x[o1 + j];
      s2 += w * x[o2 + j];
      s3 += w * x[o3 + j];
    }
    const q = csq[c0];
    s0 = q - 2 * s0;
    s1 = q - 2 * s1;
    s2 = q - 2 * s2;
    s3 = q - 2 * s3;
    if (s0 < b0) (b0 = s0), (best[0] = c0);
    if (s1 < b1) (b1 = s1), (best[1] = c0);
    if (s2 < b2) (b2 = s2), (best[2] = c0);
    if (s3 < b3) (b3 = s3), (best[3] = c0);
  }
  bestD[0] = Math.max(0, b0 + xsq[t0]);
  bestD[1] = Math.max(0, b1 + xsq[t0 + 1]);
  bestD[2] = Math.max(0, b2 + xsq[t0 + 2]);
  bestD[3] = Math.max(0, b3 + xsq[t0 + 3]);
}

/**
 * k-means with k-means++ seeding (Arthur & Vassilvitskii 2007: each new seed drawn with probability proportional
 * to its squared distance to the nearest seed so far) and Lloyd iterations. A cluster that empties is re-seeded
 * at the token currently farthest from its own centroid, deterministically. Cost n * nClusters * dIn per iteration.
 */
export function fitKMeans(x: Float32Array, n: number, dIn: number, opts: { nClusters: number; seed: number; maxIterations?: number }): KMeansFit {
  checkRows(x, n, dIn, 'x');
  const K = opts.nClusters;
  checkK(K, n, 'k-means nClusters');
  const rng = new Rng(opts.seed);
  const d = dIn;
  // k-means is translation invariant: work on a centred float64 copy (precise |x|^2 - 2 x.c + |c|^2 distances, and
  // monomorphic dot products), and translate the centroids back at the end.
  const mu = columnMean(x, n, d);
  const xd = new Float64Array(n * d);
  const xsq = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < d; j++) xd[t * d + j] = x[t * d + j] - mu[j];
    xsq[t] = dot(xd, t * d, xd, t * d, d);
  }
  const C = new Float64Array(K * d);
  const csq = new Float64Array(K);
  const dist = new Float64Array(n).fill(Infinity);
  const seedAt = (c: number, t: number) => {
    for (let j = 0; j < d; j++) C[c * d + j] = xd[t * d + j];
    csq[c] = xsq[t];
    for (let u = 0; u < n; u++) {
      const s = Math.max(0, xsq[u] - 2 * dot(C, c * d, xd, u * d, d) + csq[c]);
      if (s < dist[u]) dist[u] = s;
    }
  };
  seedAt(0, rng.int(n));
  for (let c = 1; c < K; c++) {
    let total = 0;
    for (let u = 0; u < n; u++) total += dist[u];
    let pick = rng.int(n); // all tokens already coincide with a seed: any choice is as good
    if (total > 0) {
      let r = rng.next() * total;
      for (let u = 0; u < n; u++) {
        r -= dist[u];
        if (r < 0 || u === n - 1) {
          pick = u;
          break;
        }
      }
    }
    seedAt(c, pick);
  }

  const assign = new Int32Array(n).fill(-1);
  const near = new Int32Array(4);
  const nearD = new Float64Array(4);
  const sums = new Float64Array(K * d);
  const counts = new Int32Array(K);
  const maxIterations = opts.maxIterations ?? 100;
  let iterations = 0;
  let inertia = 0;
  for (; iterations < maxIterations; ) {
    iterations++;
    let changed = 0;
    inertia = 0;
    for (let t0 = 0; t0 < n; t0 += 4) {
      if (t0 + 4 <= n) nearest4(xd, t0, xsq, C, csq, K, d, near, nearD);
      else for (let i = 0; t0 + i < n; i++) [near[i], nearD[i]] = nearest(xd, (t0 + i) * d, xsq[t0 + i], C, csq, K, d);
      for (let i = 0; i < 4 && t0 + i < n; i++) {
        const t = t0 + i;
        if (near[i] !== assign[t]) changed++;
        assign[t] = near[i];
        dist[t] = nearD[i];
        inertia += nearD[i];
      }
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let t = 0; t < n; t++) {
      counts[assign[t]]++;
      for (let j = 0; j < d; j++) sums[assign[t] * d + j] += xd[t * d + j];
    }
    for (let c = 0; c < K; c++) {
      if (counts[c] > 0) {
        for (let j = 0; j < d; j++) C[c * d + j] = sums[c * d + j] / counts[c];
      } else {
        let far = 0;
        for (let t = 1; t < n; t++) if (dist[t] > dist[far]) far = t;
        for (let j = 0; j < d; j++) C[c * d + j] = xd[far * d + j];
        dist[far] = 0; // so a second empty cluster takes a different token
      }
      csq[c] = dot(C, c * d, C, c * d, d);
    }
  }
  for (let c = 0; c < K; c++) for (let j = 0; j < d; j++) C[c * d + j] += mu[j];
  return { centroids: C, assignments: assign, inertia, iterations };
}

/**
 * Codes tokens with k-means centroids as atoms, no centring. For L0 = 1 the code is one centroid index plus a scale
 * s = <x, c> / |c|^2, xhat = s c; the centroid chosen is the one whose scaled copy is closest to x, i.e. argmax
 * <x, c>^2 / |c|^2 (not the Euclidean-nearest centroid: this choice is never worse and is the first step of
 * matching pursuit). For L0 = k > 1 it runs orthogonal matching pursuit: k times, add the centroid most correlated
 * with the residual, then refit all chosen scales by least squares. Residual correlations use the centroid Gram
 * matrix (nClusters^2 float64s, built once), so a step costs nClusters * k rather than nClusters * dIn.
 */
export class KMeansCodec extends AtomCodec {
  private gram: Float64Array | null = null;
  private readonly sqNorm: Float64Array;

  constructor(centroids: Float64Array, dIn: number, k = 1) {
    const K = centroids.length / dIn;
    if (!Number.isInteger(K) || K < 1) throw new ProbityError('METRICS_SHAPE', `k-means centroids: ${centroids.length} values is not [K, ${dIn}]`);
    checkK(k, K, 'k-means atoms per token');
    super(`kmeans${K}-mp${k}`, dIn, K, centroids, new Float64Array(dIn), k);
    this.sqNorm = Float64Array.from({ length: K }, (_, c) => dot(centroids, c * dIn, centroids, c * dIn, dIn));
  }

  encode(x: Float32Array, n: number): SparseCode {
    checkRows(x, n, this.dIn, 'x');
    const { dIn: d, dSae: K, k, atoms } = this;
    if (k > 1 && !this.gram) {
      this.gram = new Float64Array(K * K);
      for (let a = 0; a < K; a++) for (let b = a; b < K; b++) this.gram[a * K + b] = this.gram[b * K + a] = dot(atoms, a * d, atoms, b * d, d);
    }
    const code = this.emptyCode(n);
    const xt = new Float64Array(d);
    const xc = new Float64Array(K); // <x, c_j>
    const rc = new Float64Array(K); // <residual, c_j>
    const taken = new Uint8Array(K);
    for (let t = 0; t < n; t++) {
      this.centred(x, t, xt); // center is zero for k-means: this only widens the row to float64
      for (let c = 0; c < K; c++) xc[c] = dot(atoms, c * d, xt, 0, d);
      rc.set(xc);
      const chosen: number[] = [];
      taken.fill(0);
      let coef: Float64Array = new Float64Array(0);
      for (let step = 0; step < k; step++) {
        let best = -1;
        let bestScore = 0;
        for (let c = 0; c < K; c++) {
          if (this.sqNorm[c] === 0 || taken[c]) continue;
          const score = (rc[c] * rc[c]) / this.sqNorm[c];
          if (score > bestScore) {
            bestScore = score;
            best = c;
          }
        }
        if (best < 0) break; // residual orthogonal to every remaining centroid (or exact): stop early
        chosen.push(best);
        taken[best] = 1;
        const m = chosen.length;
        const G = new Float64Array(m * m);
        const b = new Float64Array(m);
        for (let i = 0; i < m; i++) {
          b[i] = xc[chosen[i]];
          for (let j = 0; j < m; j++) G[i * m + j] = m === 1 ? this.sqNorm[best] : this.gram![chosen[i] * K + chosen[j]];
        }
        coef = solveSpd(G, b, m);
        if (step + 1 < k) {
          rc.set(xc);
          const gram = this.gram!;
          for (let i = 0; i < m; i++) {
            const g = chosen[i] * K;
            const a = coef[i];
            for (let c = 0; c < K; c++) rc[c] -= a * gram[g + c];
          }
        }
      }
      chosen.forEach((c, s) => {
        code.indices[t * k + s] = c;
        code.values[t * k + s] = coef[s];
      });
    }
    return code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Random dictionary

export type RandomDecoder = 'lstsq' | 'transpose';

/**
 * The "no learning" control: dSae random unit-norm directions W (Gaussian rows, normalised) used with the TopK
 * SAE's encoder rule, acts = ReLU(TopK(W (x - center))) with W as both encoder and decoder (tied, like a TopK SAE's
 * initialisation), center = the data mean (the one thing a TopK SAE's b_dec learns trivially).
 * Decoding, `decoder`:
 *  - 'lstsq' (default): the k chosen atoms get least-squares coefficients, the best reconstruction that support
 *    allows (coefficients may go negative). Random atoms are far from orthogonal, so the transpose over- or
 *    under-shoots for reasons unrelated to the question; least squares isolates "does a learned dictionary pick
 *    better directions?", and is a generous (conservative) control.
 *  - 'transpose': the ReLU'd pre-activations are the coefficients, exactly an untrained tied TopK SAE.
 * Chosen latents whose pre-activation is <= 0 are dropped by the ReLU in both modes, so L0 can be below k.
 */
export class RandomDictionaryCodec extends AtomCodec {
  constructor(opts: { dIn: number; dSae: number; k: number; seed: number; decoder?: RandomDecoder; center?: Float64Array }) {
    const { dIn, dSae, k, seed } = opts;
    const decoder = opts.decoder ?? 'lstsq';
    if (!Number.isInteger(dIn) || dIn < 1) throw new ProbityError('METRICS_INPUT', `random dictionary dIn must be a positive integer, got ${show(dIn)}`);
    checkK(dSae, Number.MAX_SAFE_INTEGER, 'random dictionary dSae');
    checkK(k, dSae, 'random dictionary k');
    const rng = new Rng(seed);
    const W = new Float64Array(dSae * dIn);
    for (let a = 0; a < dSae; a++) {
      let norm = 0;
      while (norm === 0) {
        for (let j = 0; j < dIn; j++) W[a * dIn + j] = rng.normal();
        norm = Math.sqrt(dot(W, a * dIn, W, a * dIn, dIn));
      }
      for (let j = 0; j < dIn; j++) W[a * dIn + j] /= norm;
    }
    const center = opts.center ?? new Float64Array(dIn);
    if (center.length !== dIn) throw new ProbityError('METRICS_SHAPE', `random dictionary center has ${center.length} values, dIn is ${dIn}`);
    super(`random${dSae}-top${k}-${decoder}`, dIn, dSae, W, center, k);
    this.decoder = decoder;
  }

  readonly decoder: RandomDecoder;

  encode(x: Float32Array, n: number): SparseCode {
    checkRows(x, n, this.dIn, 'x');
    const { dIn: d, dSae, k, atoms } = this;
    const code = this.emptyCode(n);
    const xc = new Float64Array(d);
    const pre = new Float64Array(dSae);
    const x4 = new Float64Array(4 * d);
    const pre4 = new Float64Array(4 * dSae);
    for (let t = 0; t < n; t++) {
      const q = t & 3;
      if (q === 0) {
        const m = Math.min(4, n - t);
        x4.fill(0);
        for (let i = 0; i < m; i++) x4.set(this.centred(x, t + i, xc), i * d);
        preActivations4(atoms, x4, pre4, dSae, d);
      }
      for (let a = 0; a < dSae; a++) pre[a] = pre4[a * 4 + q];
      this.centred(x, t, xc);
      const chosen = topKIndices(pre, k).filter((a) => pre[a] > 0);
      let coef: Float64Array = Float64Array.from(chosen, (a) => pre[a]);
      if (this.decoder === 'lstsq' && chosen.length > 0) {
        const m = chosen.length;
        const G = new Float64Array(m * m);
        for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] = dot(atoms, chosen[i] * d, atoms, chosen[j] * d, d);
        coef = solveSpd(G, coef, m); // right-hand side W_S xc is exactly the chosen pre-activations
      }
      chosen.forEach((a, s) => {
        code.indices[t * k + s] = a;
        code.values[t * k + s] = coef[s];
      });
    }
    return code;
  }
}

/** pre[a * 4 + i] = <atom a, token i> for 4 tokens x4 [4, d]: one pass over the atoms, each weight read once for 4 tokens. */
function preActivations4(atoms: Float64Array, x4: Float64Array, pre: Float64Array, dSae: number, d: number): void {
  for (let a = 0; a < dSae; a++) {
    const o = a * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const w = atoms[o + j];
      s0 += w * x4[j];
      s1 += w * x4[d + j];
      s2 += w * x4[2 * d + j];
      s3 += w * x4[3 * d + j];
    }
    pre[a * 4] = s0;
    pre[a * 4 + 1] = s1;
    pre[a * 4 + 2] = s2;
    pre[a * 4 + 3] = s3;
  }
}

/** Random dictionary centred on the mean of x [n, dIn]; see RandomDictionaryCodec. */
export function fitRandomDictionary(
  x: Float32Array,
  n: number,
  dIn: number,
  opts: { dSae: number; k: number; seed: number; decoder?: RandomDecoder },
): RandomDictionaryCodec {
  return new RandomDictionaryCodec({ ...opts, dIn, center: columnMean(x, n, dIn) });
}
