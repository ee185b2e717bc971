// Symmetric eigendecomposition and SPD solve: hand cases and matrices with known eigenvectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { solveSpd, symmetricEigen } from '../../../src/dictionaries/metrics/linalg.js';
import { Rng } from '../../../src/stats/rng.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Random orthogonal matrix (rows) by Gram-Schmidt on Gaussian rows. */
function randomOrthogonal(n: number, rng: Rng): Float64Array {
  const Q = Float64Array.from({ length: n * n }, () => rng.normal());
  for (let i = 0; i < n; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let p = 0;
        for (let t = 0; t < n; t++) p += Q[i * n + t] * Q[j * n + t];
        for (let t = 0; t < n; t++) Q[i * n + t] -= p * Q[j * n + t];
      }
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += Q[i * n + t] ** 2;
    for (let t = 0; t < n; t++) Q[i * n + t] /= Math.sqrt(norm);
  }
  return Q;
}

/** A = sum_i lambda_i q_i q_i^T for rows q_i of Q. */
function compose(Q: Float64Array, lambda: number[], n: number): Float64Array {
  const A = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] += lambda[k] * Q[k * n + i] * Q[k * n + j];
  return A;
}

test('2 x 2 by hand: [[2,1],[1,2]] has eigenpairs 3 (1,1)/sqrt2 and 1 (1,-1)/sqrt2', () => {
  const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
  close(values[0], 3, 1e-14);
  close(values[1], 1, 1e-14);
  close(Math.abs(vectors[0] + vectors[1]) / 2, Math.SQRT1_2, 1e-14); // row 0 = +-(1,1)/sqrt2
  close(vectors[0] - vectors[1], 0, 1e-14);
  close(vectors[2] + vectors[3], 0, 1e-14); // row 1 = +-(1,-1)/sqrt2
});

test('diagonal and 1 x 1 matrices', () => {
  const { values, vectors } = symmetricEigen(Float64Array.of(1, 0, 0, 0, 5, 0, 0, 0, -2), 3);
  assert.deepEqual(Array.from(values), [5, 1, -2]);
  assert.deepEqual(Array.from(vectors, Math.abs), [0, 1, 0, 1, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(symmetricEigen(Float64Array.of(7), 1).values), [7]);
});

test('recovers known eigenvectors of a 24 x 24 matrix, repeated eigenvalues included', () => {
  const n = 24;
  const rng = new Rng(1);
  const Q = randomOrthogonal(n, rng);
  // distinct 24..13, then a 4-fold 5, then zeros (low rank, as covariances of real activations often are)
  const lambda = [...Array.from({ length: 12 }, (_, i) => 24 - i), 5, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0];
  const { values, vectors } = symmetricEigen(compose(Q, lambda, n), n);
  lambda.forEach((l, i) => close(values[i], l, 1e-12));
  for (let i = 0; i < 12; i++) {
    let p = 0;
    for (let t = 0; t < n; t++) p += vectors[i * n + t] * Q[i * n + t];
    close(Math.abs(p), 1, 1e-12);
  }
  // All rows orthonormal, and they rebuild A (the repeated eigenspaces are only defined up to rotation).
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let p = 0;
      for (let t = 0; t < n; t++) p += vectors[i * n + t] * vectors[j * n + t];
      close(p, i === j ? 1 : 0, 1e-12);
    }
  }
  const A = compose(Q, lambda, n);
  const B = compose(vectors, Array.from(values), n);
  A.forEach((a, i) => close(B[i], a, 1e-11));
});

test('a 200 x 200 decomposition is accurate and quick', () => {
  const n = 200;
  const rng = new Rng(2);
  const X = Float64Array.from({ length: n * n }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = (X[i * n + j] + X[j * n + i]) / 2;
  const t0 = performance.now();
  const { values, vectors } = symmetricEigen(A, n);
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms} ms`);
  // Residual |A v - lambda v| for a few pairs.
  for (const i of [0, 77, 199]) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += A[r * n + t] * vectors[i * n + t];
      close(s, values[i] * vectors[i * n + r], 1e-10);
    }
  }
});

test('solveSpd: hand 2 x 2 and a singular Gram matrix', () => {
  // [[4,2],[2,3]] c = [2,1]: det 8, c = [(3*2 - 2*1)/8, (4*1 - 2*2)/8] = [0.5, 0]
  const c = solveSpd(Float64Array.of(4, 2, 2, 3), Float64Array.of(2, 1), 2);
  close(c[0], 0.5, 1e-14);
  close(c[1], 0, 1e-14);
  // Two identical atoms: G = [[1,1],[1,1]], b = [2,2]; any c with c0 + c1 = 2 fits; the ridge gives a finite one.
  const s = solveSpd(Float64Array.of(1, 1, 1, 1), Float64Array.of(2, 2), 2);
  close(s[0] + s[1], 2, 1e-6);
});
