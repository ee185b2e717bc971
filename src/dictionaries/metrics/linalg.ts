// Small dense linear algebra for the baselines, in float64: symmetric eigendecomposition (for PCA) and a
// symmetric positive-definite solve (for least-squares on a few chosen atoms).
import { ProbityError, show } from '../../errors.js';

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Unit eigenvectors as rows [n, n]: row i belongs to values[i]. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition of a symmetric matrix a [n, n] (row-major; only symmetry is assumed, not checked beyond a
 * cheap tolerance). Householder reduction to tridiagonal form, then the implicit QL algorithm with Wilkinson-style
 * shifts: the EISPACK tred2 / tql2 pair as in JAMA (public domain). O(n^3), robust for repeated eigenvalues, which
 * covariance matrices of low-rank data have.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new ProbityError('METRICS_SHAPE', `symmetricEigen: ${a.length} elements is not [${n}, ${n}]`);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-8 * scale) throw new ProbityError('METRICS_INPUT', `symmetricEigen: matrix is not symmetric at (${i}, ${j})`);
    }
  }
  // tred2 stores V column-major, which is Vt row-major: its hot loops then run along contiguous memory, its input
  // needs no transpose (a is symmetric), and its output is already the row layout tql2 rotates.
  const Vt = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(Vt, d, e, n);
  tql2(Vt, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => d[q] - d[p]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(Vt.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

/**
 * Householder tridiagonalisation in place: V becomes the orthogonal transform, d the diagonal, e the sub-diagonal.
 * V(i, j) lives at j * n + i (column-major; see symmetricEigen); the code reads as JAMA's row-major original.
 */
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (i: number, j: number) => j * n + i;
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[at(j, i)] = f;
        g = e[j] + V[at(j, j)] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[at(k, j)] * d[k];
          e[k] += V[at(k, j)] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[at(k, j)] -= f * e[k] + g * d[k];
        d[j] = V[at(i - 1, j)];
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)];
    V[at(i, i)] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[at(k, i + 1)] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[at(k, i + 1)] * V[at(k, j)];
        for (let k = 0; k <= i; k++) V[at(k, j)] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[at(n - 1, j)];
    V[at(n - 1, j)] = 0;
  }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); Vt holds eigenvectors as rows and is rotated along. */
function tql2(Vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n && Math.abs(e[m]) > eps * tst1) m++; // e[n-1] = 0 stops it
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new ProbityError('METRICS_NUMERIC', `symmetricEigen: QL did not converge for eigenvalue ${l}`);
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const hk = Vt[rj + k];
            Vt[rj + k] = s * Vt[ri + k] + c * hk;
            Vt[ri + k] = c * Vt[ri + k] - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * Solves G c = b for symmetric positive (semi-)definite G [k, k] by Cholesky. Atoms picked by a codec can be
 * nearly parallel, making G singular; then a ridge of 1e-10 * mean diagonal is added (growing x100 until the
 * factorisation succeeds), which picks the minimum-norm-ish solution instead of failing.
 */
export function solveSpd(G: Float64Array, b: Float64Array, k: number): Float64Array {
  if (G.length !== k * k || b.length !== k) throw new ProbityError('METRICS_SHAPE', `solveSpd: G has ${G.length} and b ${b.length} elements for k = ${show(k)}`);
  let trace = 0;
  for (let i = 0; i < k; i++) trace += G[i * k + i];
  const base = trace > 0 ? trace / k : 1;
  const L = new Float64Array(k * k);
  for (let ridge = 0; ridge < 1e3 * base; ridge = ridge === 0 ? 1e-10 * base : ridge * 100) {
    if (cholesky(G, k, ridge, L)) {
      const y = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        let s = b[i];
        for (let j = 0; j < i; j++) s -= L[i * k + j] * y[j];
        y[i] = s / L[i * k + i];
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = y[i];
        for (let j = i + 1; j < k; j++) s -= L[j * k + i] * y[j];
        y[i] = s / L[i * k + i];
      }
      return y;
    }
  }
  throw new ProbityError('METRICS_NUMERIC', 'solveSpd: matrix is not positive semi-definite');
}

function cholesky(G: Float64Array, k: number, ridge: number, L: Float64Array): boolean {
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i * k + j] + (i === j ? ridge : 0);
      for (let t = 0; t < j; t++) s -= L[i * k + t] * L[j * k + t];
      if (i === j) {
        // Relative pivot test: a pivot lost to rounding means the atoms are (numerically) dependent.
        if (!(s > 1e-12 * (G[i * k + i] + ridge))) return false;
        L[i * k + i] = Math.sqrt(s);
      } else L[i * k + j] = s / L[j * k + j];
    }
  }
  return true;
}
