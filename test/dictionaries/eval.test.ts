// The SAE evaluation pipeline end to end on a tiny model: an SAE that reconstructs exactly must score 1 on every
// downstream score and FVE, an SAE that outputs zeros must score as zero ablation (0); every codec is scored on the
// same positions (one clean CE); the baselines are fitted on documents after the eval ones, at the SAE's L0; and the
// <bos> positions of windows built from several documents are neither spliced nor scored (planted layout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { Sae } from '../../src/dictionaries/sae.js';
import { evaluateSae, windowsFrom, prepareEvalData, maskedSaeSplice, checkDisjoint, codecMask, scoredMask } from '../../src/dictionaries/eval.js';
import { logSoftmaxRow } from '../../src/dictionaries/metrics/index.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { llamaFixture, prng, randomTokens, tempDir } from '../models/tiny-models.js';

const HOOK = 'blocks.0.hook_resid_post';
const BOS = 1;

/** A standard (ReLU) SAE with d_sae = 2 d: latents x+ and x-, so the reconstruction relu(x) - relu(-x) = x exactly. */
function identitySae(d: number, scale: number): Sae {
  const S = 2 * d;
  const W_encT = new Float32Array(S * d);
  const W_dec = new Float32Array(S * d);
  for (let i = 0; i < d; i++) {
    W_encT[i * d + i] = 1;
    W_encT[(d + i) * d + i] = -1;
    W_dec[i * d + i] = scale;
    W_dec[(d + i) * d + i] = -scale;
  }
  return new Sae({ architecture: 'standard', dIn: d, dSae: S, hookName: HOOK, sparsityCoefficient: 1 }, { W_encT, b_enc: new Float32Array(S), W_dec, b_dec: new Float32Array(d) });
}

/** Random rows with no <bos> inside (so `bos` only appears where a test plants it). */
function rows(seed: number, n: number, len: number | ((i: number) => number), withBos = false): number[][] {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const r = randomTokens(rand, typeof len === 'number' ? len : len(i)).map((t) => (t === BOS ? 2 : t));
    if (withBos) r[0] = BOS;
    return r;
  });
}

async function fixtureModel() {
  const dir = path.join(tempDir('sae-eval'), 'llama');
  llamaFixture(dir, { seed: 5 });
  return loadModel(dir);
}

test('an exact SAE scores 1 (FVE, CE-loss score, KL score); a zero SAE scores like zero ablation', async () => {
  const model = await fixtureModel();
  const d = model.spec.dModel;
  const src = () => windowsFrom(rows(1, 80, 20), { kind: 'random', seed: 1 });
  const exact = await evaluateSae(model, identitySae(d, 1), src(), { tokens: 400, window: 16, batchRows: 4, bos: null });
  console.log(`# exact SAE: fve ${exact.metrics.fve}, ce ${exact.metrics.ce_clean} vs ${exact.metrics.ce_spliced}, ce score ${exact.metrics.ce_loss_score}`);
  assert.ok(Math.abs(exact.metrics.fve - 1) < 1e-6);
  assert.ok(Math.abs(exact.metrics.ce_spliced - exact.metrics.ce_clean) < 1e-5);
  assert.ok(Math.abs(exact.metrics.ce_loss_score - 1) < 1e-4);
  assert.ok(Math.abs(exact.metrics.kl_score - 1) < 1e-4);
  // The score divides by CE_zero - CE_clean: on this random model it need not be positive, but it must not be ~0.
  assert.ok(Math.abs(exact.metrics.ce_zero_ablation - exact.metrics.ce_clean) > 0.01, 'zero ablation must change the loss for the scores to mean anything');

  const zero = await evaluateSae(model, identitySae(d, 0), src(), { tokens: 400, window: 16, batchRows: 4, bos: null });
  assert.ok(Math.abs(zero.metrics.ce_loss_score) < 1e-4, `zero SAE ce score ${zero.metrics.ce_loss_score}`);
  assert.ok(Math.abs(zero.metrics.kl_score) < 1e-4);
  assert.ok(zero.metrics.fve <= 0);
});

test('baselines: fitted on later documents, at the SAE L0, scored on the same positions with one clean CE; paired differences match the metrics', async () => {
  const model = await fixtureModel();
  const d = model.spec.dModel;
  const src = windowsFrom(rows(1, 80, 20), { kind: 'random', seed: 1 });
  const half = await evaluateSae(model, identitySae(d, 0.5), src, {
    tokens: 300, window: 16, batchRows: 4, bos: null, bootstrapIterations: 200,
    baselines: { fitTokens: 400, kmeansClusters: 2 * d },
  });
  assert.ok(Math.abs(half.metrics.ce_loss_score - 1) > 1e-3, 'a shrunken reconstruction changes the spliced loss');
  assert.ok(Math.abs(half.metrics.shrinkage - 0.5) < 1e-4, `shrinkage ${half.metrics.shrinkage}`);
  // The identity SAE fires one of (x+, x-) per dimension: L0 = d, and every baseline is asked for L0 d.
  const k = Math.round(half.metrics.l0);
  assert.equal(k, d);
  assert.deepEqual(Object.keys(half.baselines!).sort(), [`pca_l0_${k}`, `kmeans${2 * d}_mp_l0_${k}`, `kmeans${2 * d}_l0_1`, `random${2 * d}_l0_${k}`].sort());
  // Measured L0 of k-means by matching pursuit equals the SAE's (it was 1 before: "equal sparsity" was not true).
  assert.equal(half.baselines![`kmeans${2 * d}_mp_l0_${k}`].l0, k);
  assert.equal(half.baselines![`pca_l0_${k}`].l0, k);
  assert.equal(half.baselines![`kmeans${2 * d}_l0_1`].l0, 1);
  // Same positions for everyone: one n_tokens, one n_scored, one clean CE (bit for bit) and one zero-ablation CE.
  for (const [name, m] of Object.entries(half.baselines!)) {
    assert.equal(m.n_tokens, half.metrics.n_tokens, name);
    assert.equal(m.n_scored, half.metrics.n_scored, name);
    assert.equal(m.ce_clean, half.metrics.ce_clean, name);
    assert.equal(m.ce_zero_ablation, half.metrics.ce_zero_ablation, name);
    // The bootstrap's estimate (from per-window sums) equals the difference of the reported metrics (Welford / means).
    const p = half.paired![name];
    assert.ok(Math.abs(p.fve.estimate - ((m.fve as number) - half.metrics.fve)) < 1e-6, `${name} fve ${p.fve.estimate}`);
    assert.ok(Math.abs(p.ce_loss_score.estimate - ((m.ce_loss_score as number) - half.metrics.ce_loss_score)) < 1e-9, `${name} ce`);
    assert.ok(p.fve.lo <= p.fve.hi);
  }
  // PCA with all d components is exact; the half-scale SAE is not: PCA must come out ahead, with an interval above 0.
  assert.ok(half.paired![`pca_l0_${k}`].fve.lo > 0);
  // Fit documents come after the eval ones, from the same source.
  const ev = half.data.eval_documents as { first: number; end: number };
  const fit = half.data.fit_documents as { first: number; end: number };
  assert.equal(ev.first, 0);
  assert.ok(fit.first >= ev.end && fit.end > fit.first, JSON.stringify({ ev, fit }));
  // One window per 20-token row (each window starts at a document; the rest of a cut document is dropped):
  // 300 tokens at 15 per window -> 20 eval windows = rows 0..19, fit from row 20.
  assert.equal(ev.end, 20);
  assert.equal(fit.first, 20);
  assert.equal(half.metrics.n_tokens, 20 * 15);
});

test('overlapping fit and eval document ranges are refused', () => {
  const s = { kind: 'x' };
  assert.throws(() => checkDisjoint({ source: s, first: 0, end: 10 }, { source: s, first: 5, end: 20 }), /overlap/);
  assert.throws(() => checkDisjoint({ source: s, first: 0, end: 10 }, { source: { kind: 'y' }, first: 10, end: 20 }), /one source/);
  checkDisjoint({ source: s, first: 0, end: 10 }, { source: s, first: 10, end: 20 });
});

test('<bos> inside windows: planted layout, exact position counts, clean CE recomputed, splice leaves <bos> bit-identical', async () => {
  const model = await fixtureModel();
  const d = model.spec.dModel;
  // Documents of lengths 6, 5, 9, 6, 5, 9, ...: each 16-token window holds rows 3i, 3i+1 and the first 5 tokens of
  // row 3i+2 (the rest is dropped), so <bos> sits at positions 0, 6 and 11 of every window.
  const lens = [6, 5, 9];
  const docs = rows(3, 60, (i) => lens[i % 3], true);
  const W = 8;
  const res = await evaluateSae(model, identitySae(d, 0.5), windowsFrom(docs, { kind: 'planted' }), { tokens: 13 * W, window: 16, batchRows: 4, bos: BOS });
  // Codec positions: 16 - 3 bos = 13 per window. Scored: codec positions whose next token is inside and not <bos>:
  // not 5 and 10 (next is <bos>), not 15 (last) -> 10 per window.
  assert.equal(res.metrics.n_tokens, 13 * W);
  assert.equal(res.metrics.n_scored, 10 * W);
  assert.equal((res.data.eval_documents as { end: number }).end, 3 * W);
  const expectScored = [1, 2, 3, 4, 7, 8, 9, 12, 13, 14];
  const win0 = [...docs[0], ...docs[1], ...docs[2].slice(0, 5)];
  assert.deepEqual([...codecMask(win0, BOS)].flatMap((v, i) => (v ? [i] : [])), [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15]);
  assert.deepEqual([...scoredMask(win0, BOS)].flatMap((v, i) => (v ? [i] : [])), expectScored);
  // Clean CE recomputed independently at the planted positions.
  const windows = Array.from({ length: W }, (_, i) => [...docs[3 * i], ...docs[3 * i + 1], ...docs[3 * i + 2].slice(0, 5)]);
  const clean = await model.forward(windows, { logits: 'all' });
  const V = model.spec.vocab;
  const lp = new Float64Array(V);
  let sum = 0;
  let n = 0;
  for (let b = 0; b < W; b++) {
    for (const t of expectScored) {
      logSoftmaxRow(clean.logits!.data, b * 16 + t, V, lp);
      sum -= lp[windows[b][t + 1]];
      n++;
    }
  }
  assert.equal(n, 10 * W);
  assert.ok(Math.abs(res.metrics.ce_clean - sum / n) < 1e-9, `ce_clean ${res.metrics.ce_clean} vs ${sum / n}`);
  // The splice of an all-zero SAE: codec positions become 0, <bos> positions and position 0 keep x bit for bit.
  const data = await prepareEvalData(model, HOOK, windowsFrom(docs, { kind: 'planted' }), { tokens: 13 * 4, window: 16, batchRows: 4, bos: BOS });
  const batch = data.batches[0].map((w) => w.tokens);
  const mask = new Float32Array(batch.length * 16);
  batch.forEach((w, b) => mask.set(codecMask(w, BOS), b * 16));
  const sp = await model.forward(batch, { cache: [HOOK], interventions: { [HOOK]: [maskedSaeSplice(identitySae(d, 0), NDArray.f32(mask, [batch.length, 16, 1]))] }, logits: 'none' });
  const ref = await model.forward(batch, { cache: [HOOK], interventions: { [HOOK]: [{ kind: 'graph', key: 'noop', build: (x) => x }] }, logits: 'none' });
  const a = sp.cache[HOOK].data as Float32Array;
  const r = ref.cache[HOOK].data as Float32Array;
  let keptBos = 0;
  for (let b = 0; b < batch.length; b++) {
    for (let t = 0; t < 16; t++) {
      for (let j = 0; j < d; j++) {
        const i = (b * 16 + t) * d + j;
        if ([0, 6, 11].includes(t)) assert.equal(a[i], r[i], `bos position ${t} changed`);
        else assert.equal(a[i], 0, `codec position ${t} not spliced`);
      }
      if ([0, 6, 11].includes(t)) keptBos++;
    }
  }
  assert.equal(keptBos, 3 * batch.length);
});
