// Baseline codecs: PCA, k-means, random dictionary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitKMeans, fitPca, fitRandomDictionary, KMeansCodec, RandomDictionaryCodec } from '../../../src/dictionaries/metrics/baselines.js';
import { evaluateCodec } from '../../../src/dictionaries/metrics/evaluate.js';
import { Rng } from '../../../src/stats/rng.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** n tokens in d dims lying on a random rank-r subspace, plus an offset (and optional isotropic noise). */
function lowRank(n: number, d: number, r: number, seed: number, noise = 0): Float32Array {
  const rng = new Rng(seed);
  const basis = Float64Array.from({ length: r * d }, () => rng.normal());
  const offset = Float64Array.from({ length: d }, () => 5 * rng.normal());
  const x = new Float32Array(n * d);
  for (let t = 0; t < n; t++) {
    const z = Array.from({ length: r }, () => rng.normal());
    for (let j = 0; j < d; j++) {
      let v = offset[j] + noise * rng.normal();
      for (let i = 0; i < r; i++) v += z[i] * basis[i * d + j];
      x[t * d + j] = v;
    }
  }
  return x;
}

test('PCA by hand: points on the line y = x through (1, 2)', () => {
  // x = (1,2) +- (1,1): mean (1,2), one component (1,1)/sqrt2 with variance 2; k = 1 reconstructs exactly.
  const x = Float32Array.of(0, 1, 2, 3, 1, 2);
  const pca = fitPca(x, 3, 2, { k: 1 });
  assert.deepEqual(Array.from(pca.center), [1, 2]);
  close(pca.variances[0], 4 / 3, 1e-12); // population variance of projections {-sqrt2, sqrt2, 0}
  close(pca.variances[1], 0, 1e-12);
  close(Math.abs(pca.components[0]), Math.SQRT1_2, 1e-12);
  const code = pca.encode(x, 3);
  close(Math.abs(code.values[0]), Math.SQRT2, 1e-6);
  assert.equal(code.values[2], 0); // the mean token has a zero coefficient (inactive)
  pca.decode(code).forEach((v, i) => close(v, x[i], 1e-6));
});

test('PCA with k = d reconstructs exactly; top-k keeps the largest |projections|', () => {
  const n = 300;
  const d = 6;
  const x = lowRank(n, d, 6, 1);
  const full = fitPca(x, n, d, { k: d });
  const m = evaluateCodec(full, x, n).metrics();
  assert.ok(m.fve > 1 - 1e-9, `fve ${m.fve}`);
  assert.ok(m.mse_per_token < 1e-9);
  // With k = 2, each token keeps its 2 largest |coefficients| out of the 6.
  const two = fitPca(x, n, d, { k: 2 });
  const code = two.encode(x.subarray(0, d), 1);
  const coefs = Array.from({ length: d }, (_, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += two.components[i * d + j] * (x[j] - two.center[j]);
    return s;
  });
  const expected = coefs.map((c, i) => [Math.abs(c), i]).sort((a, b) => b[0] - a[0]).slice(0, 2).map((p) => p[1]);
  assert.deepEqual(Array.from(code.indices), expected);
});

test('metrics of a codec do not depend on the evaluation batch size', () => {
  const n = 60;
  const d = 8;
  const x = lowRank(n, d, 3, 2, 0.1);
  const pca = fitPca(x, n, d, { k: 2 });
  const all = evaluateCodec(pca, x, n, n).metrics();
  for (const b of [1, 7]) {
    const m = evaluateCodec(pca, x, n, b).metrics();
    for (const key of Object.keys(all) as (keyof typeof all)[]) close(m[key], all[key], 1e-9 * Math.max(1, Math.abs(all[key])));
  }
});

test('k-means finds well-separated clusters', () => {
  const d = 5;
  const centers = [
    [10, 0, 0, 0, 0],
    [0, 10, 0, 0, 0],
    [0, 0, -10, 0, 0],
    [0, 0, 0, 10, 10],
  ];
  const per = 40;
  const rng = new Rng(7);
  const x = new Float32Array(centers.length * per * d);
  const truth: number[] = [];
  for (let t = 0; t < centers.length * per; t++) {
    const c = t % centers.length; // interleaved, so seeding order cannot help
    truth.push(c);
    for (let j = 0; j < d; j++) x[t * d + j] = centers[c][j] + 0.1 * rng.normal();
  }
  const n = centers.length * per;
  const fit = fitKMeans(x, n, d, { nClusters: 4, seed: 3 });
  // Each true cluster maps to exactly one found cluster, and the map is a bijection.
  const map = new Map<number, number>();
  truth.forEach((c, t) => {
    if (!map.has(c)) map.set(c, fit.assignments[t]);
    assert.equal(fit.assignments[t], map.get(c));
  });
  assert.equal(new Set(map.values()).size, 4);
  for (const [c, f] of map) for (let j = 0; j < d; j++) close(fit.centroids[f * d + j], centers[c][j], 0.05);
  assert.ok(fit.inertia < n * d * 0.02);
  // As a codec (L0 = 1): the chosen atom is the token's cluster, scale close to 1.
  const codec = new KMeansCodec(fit.centroids, d, 1);
  const code = codec.encode(x, n);
  truth.forEach((c, t) => {
    assert.equal(code.indices[t], map.get(c));
    close(code.values[t], 1, 0.05);
  });
  const m = evaluateCodec(codec, x, n).metrics();
  assert.ok(m.fve > 0.99);
  assert.equal(m.l0, 1);
  // Same seed, same fit.
  assert.deepEqual(fitKMeans(x, n, d, { nClusters: 4, seed: 3 }).centroids, fit.centroids);
});

test('k-means codec by hand: scaled best centroid, and matching pursuit for L0 = 2', () => {
  // centroids c0 = (1,0), c1 = (0,2)
  // x = (3,1): <x,c0>^2/|c0|^2 = 9 > <x,c1>^2/|c1|^2 = 1 -> c0, scale 3, xhat (3,0)
  // x = (1,4): 1 < 64/4 = 16 -> c1, scale 8/4 = 2, xhat (0,4)
  // L0 = 2: (3,1) = 3 c0 + 0.5 c1 exactly
  const C = Float64Array.of(1, 0, 0, 2);
  const x = Float32Array.of(3, 1, 1, 4);
  const one = new KMeansCodec(C, 2, 1);
  const code = one.encode(x, 2);
  assert.deepEqual(Array.from(code.indices), [0, 1]);
  assert.deepEqual(Array.from(code.values), [3, 2]);
  assert.deepEqual(Array.from(one.decode(code)), [3, 0, 0, 4]);
  const two = new KMeansCodec(C, 2, 2);
  const c2 = two.encode(x.subarray(0, 2), 1);
  assert.deepEqual(Array.from(c2.indices), [0, 1]);
  assert.deepEqual(Array.from(c2.values), [3, 0.5]);
  assert.deepEqual(Array.from(two.decode(c2)), [3, 1]);
});

test('random dictionary follows the TopK rule: top-k pre-activations, ReLU, transpose decode', () => {
  const codec = new RandomDictionaryCodec({ dIn: 4, dSae: 10, k: 3, seed: 9, decoder: 'transpose' });
  for (let a = 0; a < 10; a++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += codec.atoms[a * 4 + j] ** 2;
    close(s, 1, 1e-12);
  }
  const x = Float32Array.of(0.3, -1, 2, 0.5);
  const pre = Array.from({ length: 10 }, (_, a) => [0, 1, 2, 3].reduce((s, j) => s + codec.atoms[a * 4 + j] * x[j], 0));
  const top = pre.map((p, a) => [p, a]).sort((u, v) => v[0] - u[0]).slice(0, 3).filter((p) => p[0] > 0);
  const code = codec.encode(x, 1);
  assert.deepEqual(Array.from(code.indices).slice(0, top.length), top.map((p) => p[1]));
  top.forEach((p, s) => close(code.values[s], p[0], 1e-6));
  const xhat = codec.decode(code);
  for (let j = 0; j < 4; j++) close(xhat[j], top.reduce((s, p) => s + p[0] * codec.atoms[p[1] * 4 + j], 0), 1e-6);
  // Seeded: the same seed gives the same atoms, another seed different ones.
  assert.deepEqual(new RandomDictionaryCodec({ dIn: 4, dSae: 10, k: 3, seed: 9 }).atoms, codec.atoms);
  assert.notDeepEqual(new RandomDictionaryCodec({ dIn: 4, dSae: 10, k: 3, seed: 10 }).atoms, codec.atoms);
});

test('on low-rank data, PCA beats the random dictionary by far at equal L0, and lstsq beats transpose', () => {
  const n = 400;
  const d = 32;
  const k = 4;
  const x = lowRank(n, d, 4, 5, 0.01);
  const pca = evaluateCodec(fitPca(x, n, d, { k }), x, n).metrics();
  const lstsq = evaluateCodec(fitRandomDictionary(x, n, d, { dSae: 128, k, seed: 1 }), x, n).metrics();
  const transpose = evaluateCodec(fitRandomDictionary(x, n, d, { dSae: 128, k, seed: 1, decoder: 'transpose' }), x, n).metrics();
  assert.ok(pca.fve > 0.99, `pca fve ${pca.fve}`);
  assert.ok(lstsq.fve < 0.7, `random lstsq fve ${lstsq.fve}`);
  assert.ok(transpose.fve < lstsq.fve, `transpose ${transpose.fve} vs lstsq ${lstsq.fve}`);
  assert.ok(pca.l0 <= k && lstsq.l0 <= k);
});
