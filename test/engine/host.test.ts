// Host ops (ops/host.ts) and the staged graphs that run them (session/staged.ts): the row-sum kernel against a float64
// sum, its gradients against hand-derived ones, values crossing stages in both directions, and bad indices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../../src/engine/graph/graph.js';
import { grad } from '../../src/engine/grad/backward.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import * as op from '../../src/engine/ops/index.js';
import { Rng } from '../../src/organism/rng.js';

const T = 37; // output rows
const R = 23; // source rows
const D = 21; // not a multiple of 4 or 16: exercises every loop of the kernel
const N = 300;

function data(seed: number) {
  const rng = new Rng(seed);
  return {
    target: BigInt64Array.from({ length: N }, () => BigInt(Math.floor(rng.next() * T))),
    source: BigInt64Array.from({ length: N }, () => BigInt(Math.floor(rng.next() * R))),
    coef: Float32Array.from({ length: N }, () => rng.next() - 0.5),
    src: Float32Array.from({ length: R * D }, () => rng.next() - 0.5),
    w: Float32Array.from({ length: T * D }, () => rng.next() - 0.5),
  };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('host row sum: out[target] += coef * src[source], exact against float64, explicit and implicit sources', async () => {
  const d = data(1);
  const g = new Graph('host_row_sum');
  const target = g.input('target', 'int64', [N]);
  const source = g.input('source', 'int64', [N]);
  const coef = g.input('coef', 'float32', [N]);
  const src = g.input('src', 'float32', [R, D]);
  g.output(op.hostRowSum(T, target, coef, src, source), 'explicit');
  // perSource 14: entry n reads row floor(n / 14) (N / 14 < R).
  g.output(op.hostRowSum(T, target, coef, src, { perSource: 14 }), 'implicit');
  const sess = await compile(g);
  const out = await sess.run({ target: new NDArray(d.target, [N], 'int64'), source: new NDArray(d.source, [N], 'int64'), coef: new NDArray(d.coef, [N]), src: new NDArray(d.src, [R, D]) });
  for (const [name, srcOf] of [['explicit', (n: number) => Number(d.source[n])], ['implicit', (n: number) => Math.floor(n / 14)]] as const) {
    const ref = new Float64Array(T * D);
    for (let n = 0; n < N; n++) for (let e = 0; e < D; e++) ref[Number(d.target[n]) * D + e] += d.coef[n] * d.src[srcOf(n) * D + e];
    close(out[name].data as Float32Array, ref, 1e-5, name);
    assert.deepEqual(out[name].dims, [T, D]);
  }
});

test('host row sum inside a graph: ONNX before and after it, gradients to coef and src', async () => {
  const d = data(2);
  const g = new Graph('host_row_sum_grad');
  const target = g.input('target', 'int64', [N]);
  const source = g.input('source', 'int64', [N]);
  const coef = g.input('coef', 'float32', [N]);
  const src = g.input('src', 'float32', [R, D]);
  const w = g.input('w', 'float32', [T, D]);
  // loss = sum(w * rowSum(2 coef, src)) + 0 ; d/dcoef_n = 2 w[t_n] . src[s_n]; d/dsrc[r] = sum_{s_n = r} 2 coef_n w[t_n]
  const out = op.hostRowSum(T, target, op.mul(coef, 2), src, source);
  const loss = op.reduceSum(op.mul(out, w), [0, 1], false);
  const [dCoef, dSrc] = grad(loss, [coef, src]);
  g.output(loss, 'loss');
  g.output(op.add(dCoef, 0), 'dCoef');
  g.output(dSrc, 'dSrc');
  const sess = await compile(g);
  const r = await sess.run({ target: new NDArray(d.target, [N], 'int64'), source: new NDArray(d.source, [N], 'int64'), coef: new NDArray(d.coef, [N]), src: new NDArray(d.src, [R, D]), w: new NDArray(d.w, [T, D]) });
  const refCoef = new Float64Array(N);
  const refSrc = new Float64Array(R * D);
  let refLoss = 0;
  for (let n = 0; n < N; n++) {
    const t = Number(d.target[n]);
    const s = Number(d.source[n]);
    for (let e = 0; e < D; e++) {
      refCoef[n] += 2 * d.w[t * D + e] * d.src[s * D + e];
      refSrc[s * D + e] += 2 * d.coef[n] * d.w[t * D + e];
      refLoss += 2 * d.coef[n] * d.src[s * D + e] * d.w[t * D + e];
    }
  }
  close(r.loss.data as Float32Array, [refLoss], 1e-4, 'loss');
  close(r.dCoef.data as Float32Array, refCoef, 1e-5, 'dCoef');
  close(r.dSrc.data as Float32Array, refSrc, 1e-5, 'dSrc');
});

test('host row sum: an index outside the rows is a clear error, and the next run still works', async () => {
  const d = data(3);
  const g = new Graph('host_row_sum_bad');
  const target = g.input('target', 'int64', [N]);
  const coef = g.input('coef', 'float32', [N]);
  const src = g.input('src', 'float32', [R, D]);
  g.output(op.hostRowSum(T, target, coef, src, { perSource: 14 }), 'out');
  const sess = await compile(g);
  const bad = d.target.slice();
  bad[7] = BigInt(T);
  const feeds = { target: new NDArray(bad, [N], 'int64'), coef: new NDArray(d.coef, [N]), src: new NDArray(d.src, [R, D]) };
  await assert.rejects(sess.run(feeds), /HostRowSum target\[7\] = 37 is outside \[0, 37\)/);
  const ok = await sess.run({ ...feeds, target: new NDArray(d.target, [N], 'int64') });
  assert.deepEqual(ok.out.dims, [T, D]);
});

test('host row dot: a[ia] . b[ib] against float64 (odd entry count, D not a multiple of 4), and its gradients', async () => {
  const d = data(4);
  const M = N - 1; // odd: the kernel's two-at-a-time loop leaves one entry
  const g = new Graph('host_row_dot');
  const a = g.input('a', 'float32', [T, D]);
  const ia = g.input('ia', 'int64', [M]);
  const b = g.input('b', 'float32', [R, D]);
  const w = g.input('w', 'float32', [M]);
  // ib implicit: entry n reads row floor(n / 14) of b.
  const dots = op.hostRowDot(a, ia, b, { perSource: 14 });
  const loss = op.reduceSum(op.mul(dots, w), [0], false);
  const [dA, dB] = grad(loss, [a, b]);
  g.output(op.add(dots, 0), 'dots');
  g.output(dA, 'dA');
  g.output(dB, 'dB');
  const sess = await compile(g);
  const A = Float32Array.from({ length: T * D }, (_, i) => d.w[i]);
  const W = d.coef.subarray(0, M);
  const r = await sess.run({ a: new NDArray(A, [T, D]), ia: new NDArray(d.target.slice(0, M), [M], 'int64'), b: new NDArray(d.src, [R, D]), w: new NDArray(W, [M]) });
  const refDots = new Float64Array(M);
  const refA = new Float64Array(T * D);
  const refB = new Float64Array(R * D);
  for (let n = 0; n < M; n++) {
    const i = Number(d.target[n]);
    const j = Math.floor(n / 14);
    for (let e = 0; e < D; e++) {
      refDots[n] += A[i * D + e] * d.src[j * D + e];
      refA[i * D + e] += W[n] * d.src[j * D + e];
      refB[j * D + e] += W[n] * A[i * D + e];
    }
  }
  close(r.dots.data as Float32Array, refDots, 1e-5, 'dots');
  close(r.dA.data as Float32Array, refA, 1e-5, 'dA');
  close(r.dB.data as Float32Array, refB, 1e-5, 'dB');
});

test('large host sums and dots (split with the helper thread) match float64 and repeat bit for bit', async () => {
  const rng = new Rng(5);
  const rows = 512;
  const n = 32768;
  const d = 64; // n * d = 2^21: large enough to use the helper thread
  const target = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rng.next() * rows)));
  const coef = Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const src = Float32Array.from({ length: (n / 8) * d }, () => rng.next() - 0.5);
  const g = new Graph('host_large');
  const t = g.input('t', 'int64', [n]);
  const c = g.input('c', 'float32', [n]);
  const s = g.input('s', 'float32', [n / 8, d]);
  const sum = op.hostRowSum(rows, t, c, s, { perSource: 8 });
  g.output(op.add(sum, 0), 'sum');
  g.output(op.hostRowDot(sum, t, s, { perSource: 8 }), 'dot');
  const sess = await compile(g);
  const feeds = { t: new NDArray(target, [n], 'int64'), c: new NDArray(coef, [n]), s: new NDArray(src, [n / 8, d]) };
  const first = await sess.run(feeds);
  const ref = new Float64Array(rows * d);
  for (let k = 0; k < n; k++) for (let e = 0; e < d; e++) ref[Number(target[k]) * d + e] += coef[k] * src[Math.floor(k / 8) * d + e];
  close(first.sum.data as Float32Array, ref, 1e-4, 'sum');
  const got = first.sum.data as Float32Array;
  const refDot = new Float64Array(n);
  for (let k = 0; k < n; k++) for (let e = 0; e < d; e++) refDot[k] += got[Number(target[k]) * d + e] * src[Math.floor(k / 8) * d + e];
  close(first.dot.data as Float32Array, refDot, 1e-4, 'dot');
  const again = await sess.run(feeds);
  assert.deepEqual(again.sum.data, first.sum.data);
  assert.deepEqual(again.dot.data, first.dot.data);
});
