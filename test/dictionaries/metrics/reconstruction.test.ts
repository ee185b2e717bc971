// Reconstruction and sparsity metrics against hand computations, batch-size independence, and the FVE-offset trap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconstructionStats } from '../../../src/dictionaries/metrics/reconstruction.js';
import { SparsityStats } from '../../../src/dictionaries/metrics/sparsity.js';
import { CodecStats } from '../../../src/dictionaries/metrics/evaluate.js';
import type { DenseCode, SparseCode } from '../../../src/dictionaries/metrics/codes.js';
import { Rng } from '../../../src/stats/rng.js';
import { ProbityError } from '../../../src/errors.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('reconstruction metrics on 3 tokens x 2 dims, by hand', () => {
  // x = [[1,2],[3,4],[5,0]], xhat = [[1,1],[2,4],[5,2]], e = x - xhat = [[0,1],[1,0],[0,-2]]
  // Var_t x: dim0 {1,3,5} mean 3 -> 8/3; dim1 {2,4,0} mean 2 -> 8/3; sum 16/3
  // Var_t e: dim0 {0,1,0} mean 1/3 -> 2/9; dim1 {1,0,-2} mean -1/3 -> (16+1+25)/27 = 14/9; sum 16/9
  // fve = 1 - (16/9) / (16/3) = 2/3
  // per-token sum e^2: 1, 1, 4 -> mse_per_token = 2
  // x.xhat: 3, 22, 25; |x|^2: 5, 25, 25; |xhat|^2: 2, 20, 29
  // cosine = mean(3/sqrt(10), 22/sqrt(500), 25/sqrt(725)); l2_ratio = mean(sqrt(2/5), sqrt(20/25), sqrt(29/25))
  // shrinkage = (2 + 20 + 29) / (3 + 22 + 25) = 51/50
  const x = Float32Array.of(1, 2, 3, 4, 5, 0);
  const xhat = Float32Array.of(1, 1, 2, 4, 5, 2);
  const m = new ReconstructionStats(2).add(x, xhat, 3).metrics();
  close(m.fve, 2 / 3);
  close(m.mse_per_token, 2);
  close(m.cosine, (3 / Math.sqrt(10) + 22 / Math.sqrt(500) + 25 / Math.sqrt(725)) / 3);
  close(m.l2_ratio, (Math.sqrt(2 / 5) + Math.sqrt(20 / 25) + Math.sqrt(29 / 25)) / 3);
  close(m.shrinkage, 51 / 50);
  assert.equal(m.n_tokens, 3);
});

test('perfect reconstruction: fve 1, mse 0, cosine 1, l2_ratio 1, shrinkage 1', () => {
  const x = Float32Array.of(1, -2, 0.5, 3, 0, 0); // last token is all zeros: cosine counts it as 1 (both zero)
  const m = new ReconstructionStats(2).add(x, x, 3).metrics();
  assert.deepEqual([m.fve, m.mse_per_token, m.cosine, m.l2_ratio, m.shrinkage], [1, 0, 1, 1, 1]);
});

test('zero-norm tokens: cosine counts 0, l2_ratio skips |x| = 0', () => {
  // token 0: x = (1,0), xhat = 0 -> cos 0, ratio 0; token 1: x = 0, xhat = (0,1) -> cos 0, ratio skipped
  const m = new ReconstructionStats(2).add(Float32Array.of(1, 0, 0, 0), Float32Array.of(0, 0, 0, 1), 2).metrics();
  assert.equal(m.cosine, 0);
  assert.equal(m.l2_ratio, 0);
});

test('FVE is measured around the per-dimension mean: a large offset does not rescue a bad reconstruction', () => {
  const rng = new Rng(3);
  const n = 500;
  const d = 8;
  const x = new Float32Array(n * d);
  const xhat = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    x[i] = 1000 + rng.normal();
    xhat[i] = 1000 + rng.normal(); // gets the offset right, the signal not at all
  }
  const m = new ReconstructionStats(d).add(x, xhat, n).metrics();
  // Around zero, the trap: 1 - sum e^2 / sum x^2 ~ 1 - 2 / 1e6.
  let ee = 0;
  let xx = 0;
  for (let i = 0; i < n * d; i++) {
    ee += (x[i] - xhat[i]) ** 2;
    xx += x[i] ** 2;
  }
  assert.ok(1 - ee / xx > 0.999);
  assert.ok(m.fve < -0.5 && m.fve > -1.5, `fve ${m.fve} should be about -1 (error variance = 2 x signal variance)`);
  // Predicting the exact mean explains exactly nothing.
  const meanOnly = new Float32Array(n * d);
  const mu = new Float64Array(d);
  for (let i = 0; i < n * d; i++) mu[i % d] += x[i] / n;
  for (let i = 0; i < n * d; i++) meanOnly[i] = mu[i % d];
  assert.ok(Math.abs(new ReconstructionStats(d).add(x, meanOnly, n).metrics().fve) < 1e-4);
});

test('sparsity metrics by hand, dense and sparse codes agree', () => {
  // 3 tokens x 4 latents: [[0,2,0,-1],[0,0,0,3],[0,1,0,0]]
  // l0 = (2+1+1)/3 = 4/3; l1 = (3+3+1)/3 = 7/3; fires = [0,2,0,2] -> dead 2/4; density 2/3 > 0.1 -> dense 2/4
  const dense: DenseCode = { kind: 'dense', n: 3, dSae: 4, values: Float32Array.of(0, 2, 0, -1, 0, 0, 0, 3, 0, 1, 0, 0) };
  const sparse: SparseCode = {
    kind: 'sparse',
    n: 3,
    k: 2,
    dSae: 4,
    indices: Int32Array.of(1, 3, 3, 0, 1, 0), // (0, 0) entries are padding
    values: Float32Array.of(2, -1, 3, 0, 1, 0),
  };
  for (const code of [dense, sparse]) {
    const s = new SparsityStats(4).add(code);
    const m = s.metrics();
    close(m.l0, 4 / 3);
    close(m.l1, 7 / 3);
    assert.equal(m.dead_fraction, 0.5);
    assert.equal(m.dense_fraction, 0.5);
    assert.deepEqual(Array.from(s.fires), [0, 2, 0, 2]);
    const h = s.densityHistogram(); // log10(2/3) = -0.176: last of 28 quarter-decade bins over [-7, 0]
    assert.equal(h.dead, 2);
    assert.equal(h.counts.length, 28);
    assert.equal(h.counts[27], 2);
    assert.equal(h.edges[0], -7);
    assert.equal(h.edges[28], 0);
  }
});

test('dense threshold is strict (> 10%) and the histogram bins log10 density', () => {
  // 10 tokens; latent 0 fires once (density 0.1, not dense), latent 1 twice (0.2, dense), latent 2 on all (1.0).
  const values = new Float32Array(10 * 3);
  values[0] = 1;
  values[1] = values[3 + 1] = 1;
  for (let t = 0; t < 10; t++) values[t * 3 + 2] = 0.5;
  const s = new SparsityStats(3).add({ kind: 'dense', n: 10, dSae: 3, values });
  const m = s.metrics();
  close(m.dense_fraction, 2 / 3);
  assert.equal(m.dead_fraction, 0);
  // Bins [-2,-1), [-1,0]: log10 0.1 = -1 -> bin 1, log10 0.2 -> bin 1, log10 1 = 0 -> bin 1 (right edge included).
  assert.deepEqual(s.densityHistogram({ lo: -2, hi: 0, nBins: 2 }).counts, [0, 3]);
  // Out of range densities land in the end bins.
  assert.deepEqual(s.densityHistogram({ lo: -0.5, hi: -0.1, nBins: 2 }).counts, [2, 1]);
});

test('metrics do not depend on batch size (1, 7, all at once)', () => {
  const rng = new Rng(11);
  const n = 50;
  const d = 5;
  const S = 9;
  const x = Float32Array.from({ length: n * d }, () => 3 + rng.normal());
  const xhat = Float32Array.from(x, (v) => v * 0.8 + 0.1 * rng.normal());
  const codes = Float32Array.from({ length: n * S }, () => (rng.next() < 0.3 ? rng.normal() : 0));
  const run = (batch: number) => {
    const st = new CodecStats(d, S);
    for (let t0 = 0; t0 < n; t0 += batch) {
      const b = Math.min(batch, n - t0);
      st.add(x.subarray(t0 * d, (t0 + b) * d), xhat.subarray(t0 * d, (t0 + b) * d), { kind: 'dense', n: b, dSae: S, values: codes.subarray(t0 * S, (t0 + b) * S) });
    }
    return st.metrics();
  };
  const all = run(n);
  for (const b of [1, 7]) {
    const m = run(b);
    for (const key of Object.keys(all) as (keyof typeof all)[]) close(m[key], all[key], 1e-9);
  }
  const keys = ['cosine', 'dead_fraction', 'dense_fraction', 'fve', 'l0', 'l1', 'l2_ratio', 'mse_per_token', 'n_tokens', 'shrinkage'];
  assert.deepEqual(Object.keys(all).sort(), keys);
});

test('shape errors name the array and the expected shape', () => {
  assert.throws(() => new ReconstructionStats(3).add(new Float32Array(5), new Float32Array(6), 2), (e: unknown) => e instanceof ProbityError && e.code === 'METRICS_SHAPE' && /x has 5 elements; expected \[2, 3\]/.test(e.message));
  const bad: SparseCode = { kind: 'sparse', n: 1, k: 1, dSae: 2, indices: Int32Array.of(5), values: Float32Array.of(1) };
  assert.throws(() => new SparsityStats(2).add(bad), /index 5/);
});
