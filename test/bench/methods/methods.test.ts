// Concept methods on synthetic data with a planted concept direction u: positives are x + a u, a ~ N(3, 1)
// (a varying strength, so the positives' top principal component is u), on standard Gaussian activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, auroc } from '../../../src/stats/index.js';
import { Sae } from '../../../src/dictionaries/sae.js';
import {
  diffMean,
  probe,
  pcaMethod,
  kmeansMethod,
  randomDirection,
  saeBestLatent,
  saeTopKProbe,
  standardMethods,
  cosine,
  type ConceptData,
} from '../../../src/bench/methods/index.js';

const D = 32;

function unitVec(rng: Rng, d: number): Float64Array {
  const v = Float64Array.from({ length: d }, () => rng.normal());
  const s = Math.hypot(...v);
  return v.map((a) => a / s);
}

function makeData(n: number, u: Float64Array, seed: number): ConceptData {
  const rng = new Rng(seed);
  const x = new Float32Array(n * D);
  const labels = new Uint8Array(n);
  for (let t = 0; t < n; t++) {
    labels[t] = rng.next() < 0.3 ? 1 : 0;
    const a = labels[t] ? 3 + rng.normal() : 0;
    for (let j = 0; j < D; j++) x[t * D + j] = rng.normal() + a * u[j];
  }
  return { x, n, d: D, labels };
}

const u = unitVec(new Rng(123), D);
const train = makeData(4000, u, 1);
const test_ = makeData(4000, u, 2);

/** P(pos > neg) + 0.5 P(tie) over all pairs. */
function pairwiseAuroc(s: Float32Array, y: Uint8Array): number {
  const p: number[] = [];
  const q: number[] = [];
  for (let i = 0; i < s.length; i++) (y[i] ? p : q).push(s[i]);
  let u = 0;
  for (const a of p) for (const b of q) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u / (p.length * q.length);
}

test('DiffMean recovers the planted direction and detects the concept on held-out data', async () => {
  const f = await diffMean().fit(train, 0);
  const c = cosine(f.direction!, u);
  const a = auroc(await f.score(test_.x, test_.n), test_.labels);
  assert.ok(c > 0.95, `cosine ${c}`);
  assert.ok(a > 0.95, `auroc ${a}`);
});

test('logistic probe (engine-trained) recovers the planted direction', async () => {
  const f = await probe().fit(train, 0);
  const c = cosine(f.direction!, u);
  const s = await f.score(test_.x, test_.n);
  const a = auroc(s, test_.labels);
  assert.ok(c > 0.95, `cosine ${c}`);
  assert.ok(a > 0.95, `auroc ${a}`);
  // Logits are calibrated-ish: positives mostly above 0, negatives mostly below (balanced loss).
  let right = 0;
  for (let i = 0; i < test_.n; i++) if ((s[i] > 0) === (test_.labels[i] === 1)) right++;
  assert.ok(right / test_.n > 0.85, `accuracy ${right / test_.n}`);
});

test('random control: a fresh direction per (seed, unit, draw), deterministic in the triple; AUROC centred on 0.5 over draws', async () => {
  const m = randomDirection();
  assert.equal(m.draws, 8, 'several fits per unit by default');
  const as: number[] = [];
  const dirs: Float32Array[] = [];
  for (const unit of ['detect/a', 'detect/b']) {
    for (let draw = 0; draw < 10; draw++) {
      const f = await m.fit(train, 0, { unit, draw });
      assert.ok(Math.abs(Math.hypot(...f.direction!) - 1) < 1e-5);
      dirs.push(f.direction!);
      as.push(auroc(await f.score(test_.x, test_.n), test_.labels));
    }
  }
  // No two (unit, draw) pairs share a direction (random unit vectors in d = 32 have |cos| ~ 0.18).
  for (let i = 0; i < dirs.length; i++) for (let j = i + 1; j < dirs.length; j++) assert.ok(Math.abs(cosine(dirs[i], dirs[j])) < 0.9, `${i} vs ${j}`);
  // Over the 20 draws the AUROC is centred on chance: the planted shift of 3 along u projects to 3 cos(r, u), sd
  // ~0.5 in d = 32, so single draws scatter widely (the range checks they differ) and their mean sits near 0.5.
  const mu = as.reduce((a, b) => a + b, 0) / as.length;
  assert.ok(mu >= 0.4 && mu <= 0.6, `mean random AUROC ${mu} (${as.map((a) => a.toFixed(2)).join(' ')})`);
  assert.ok(Math.max(...as) - Math.min(...as) > 0.2, 'draws differ');
  // Deterministic in (seed, unit, draw); a different seed, unit or draw gives another direction.
  const f1 = await m.fit(train, 7, { unit: 'steer/x', draw: 3 });
  assert.deepEqual((await m.fit(train, 7, { unit: 'steer/x', draw: 3 })).direction, f1.direction);
  for (const [seed, unit, draw] of [[8, 'steer/x', 3], [7, 'steer/y', 3], [7, 'steer/x', 4]] as const) {
    assert.ok(Math.abs(cosine((await m.fit(train, seed, { unit, draw })).direction!, f1.direction!)) < 0.9, `${seed} ${unit} ${draw}`);
  }
});

test('PCA and k-means run and score above chance', async () => {
  const p = await pcaMethod().fit(train, 0);
  const ap = auroc(await p.score(test_.x, test_.n), test_.labels);
  assert.ok(ap > 0.9, `pca auroc ${ap}, cosine ${cosine(p.direction!, u)}`);
  for (const score of ['cosine', 'negDistance'] as const) {
    const k = await kmeansMethod({ k: 8, score }).fit(train, 0);
    const ak = auroc(await k.score(test_.x, test_.n), test_.labels);
    assert.ok(ak > 0.6, `kmeans ${score} auroc ${ak}`);
    assert.ok(cosine(k.direction!, u) > 0.3, `kmeans direction cosine ${cosine(k.direction!, u)}`);
  }
});

function plantedSae(planted: number, dSae: number): Sae {
  const rng = new Rng(99);
  const W = new Float32Array(dSae * D);
  for (let s = 0; s < dSae; s++) {
    const row = s === planted ? u : unitVec(rng, D);
    for (let j = 0; j < D; j++) W[s * D + j] = row[j];
  }
  return new Sae(
    { architecture: 'standard', dIn: D, dSae, hookName: 'blocks.0.hook_resid_pre' },
    { W_dec: W, W_encT: Float32Array.from(W), b_enc: new Float32Array(dSae), b_dec: new Float32Array(D) },
  );
}

test('SAE best latent picks the planted latent; top-k probe finds the concept', async () => {
  const planted = 5;
  const sae = plantedSae(planted, 24);
  const f = await saeBestLatent(sae).fit(train, 0);
  assert.equal(f.latent, planted);
  assert.ok(cosine(f.direction!, u) > 0.999);
  const s = await f.score(test_.x, test_.n);
  const a = auroc(s, test_.labels);
  assert.ok(a > 0.95, `best-latent auroc ${a}`);
  // The sparse per-latent AUROC used for selection matches src/stats on the dense activation column.
  const trainActs = await f.score(train.x, train.n);
  assert.ok(Math.abs(auroc(trainActs, train.labels) - f.trainAuroc) < 1e-9, `${auroc(trainActs, train.labels)} vs ${f.trainAuroc}`);

  for (const rankBy of ['auroc', 'meanDiff'] as const) {
    const t = await saeTopKProbe(sae, { k: 4, rankBy }).fit(train, 0);
    assert.ok(t.latents.includes(planted), `${rankBy}: latents ${t.latents}`);
    const at = auroc(await t.score(test_.x, test_.n), test_.labels);
    assert.ok(at > 0.95, `top-k ${rankBy} auroc ${at}`);
    assert.ok(cosine(t.direction!, u) > 0.8, `top-k ${rankBy} direction cosine ${cosine(t.direction!, u)}`);
  }
});

test('src/stats auroc agrees with a direct pairwise computation on method scores', async () => {
  const sub: ConceptData = { x: test_.x.subarray(0, 600 * D), n: 600, d: D, labels: test_.labels.subarray(0, 600) };
  const sae = plantedSae(2, 8);
  for (const m of standardMethods(sae)) {
    const f = await m.fit(train, 3);
    const s = await f.score(sub.x, sub.n);
    assert.equal(s.length, sub.n);
    const a = auroc(s, sub.labels);
    const b = pairwiseAuroc(s, sub.labels);
    assert.ok(Math.abs(a - b) < 1e-9, `${m.name}: ${a} vs ${b}`);
    if (f.direction) assert.ok(Math.abs(Math.hypot(...f.direction) - 1) < 1e-5, `${m.name} direction not unit`);
  }
});
