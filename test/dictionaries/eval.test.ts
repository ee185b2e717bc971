// The SAE evaluation pipeline end to end on a tiny model: an SAE that reconstructs exactly must score 1 on every
// downstream score and FVE, an SAE that outputs zeros must score as zero ablation (0), and the baselines run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadModel } from '../../src/models/load.js';
import { Sae } from '../../src/dictionaries/sae.js';
import { evaluateSae, windowsFrom } from '../../src/dictionaries/eval.js';
import { llamaFixture, prng, randomTokens, tempDir } from '../models/tiny-models.js';

const HOOK = 'blocks.0.hook_resid_post';

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

function windows(seed: number) {
  const rand = prng(seed);
  const rows = Array.from({ length: 40 }, () => randomTokens(rand, 20));
  return windowsFrom(rows, { kind: 'random', seed });
}

test('an exact SAE scores 1 (FVE, CE-loss score, KL score); a zero SAE scores like zero ablation', async () => {
  const dir = path.join(tempDir('sae-eval'), 'llama');
  llamaFixture(dir, { seed: 5 });
  const model = await loadModel(dir);
  const d = model.spec.dModel;
  const exact = await evaluateSae(model, identitySae(d, 1), windows(1), { tokens: 400, window: 16, batchRows: 4 });
  console.log(`# exact SAE: fve ${exact.metrics.fve}, ce ${exact.metrics.ce_clean} vs ${exact.metrics.ce_spliced}, ce score ${exact.metrics.ce_loss_score}`);
  assert.ok(Math.abs(exact.metrics.fve - 1) < 1e-6);
  assert.ok(Math.abs(exact.metrics.ce_spliced - exact.metrics.ce_clean) < 1e-5);
  assert.ok(Math.abs(exact.metrics.ce_loss_score - 1) < 1e-4);
  assert.ok(Math.abs(exact.metrics.kl_score - 1) < 1e-4);
  // The score divides by CE_zero - CE_clean: on this random model it need not be positive, but it must not be ~0.
  assert.ok(Math.abs(exact.metrics.ce_zero_ablation - exact.metrics.ce_clean) > 0.01, 'zero ablation must change the loss for the scores to mean anything');

  const zero = await evaluateSae(model, identitySae(d, 0), windows(1), { tokens: 400, window: 16, batchRows: 4 });
  assert.ok(Math.abs(zero.metrics.ce_loss_score) < 1e-4, `zero SAE ce score ${zero.metrics.ce_loss_score}`);
  assert.ok(Math.abs(zero.metrics.kl_score) < 1e-4);
  assert.ok(zero.metrics.fve <= 0);

  const half = await evaluateSae(model, identitySae(d, 0.5), windows(1), { tokens: 400, window: 16, batchRows: 4, baselines: { fitTokens: 300, evalTokens: 150, kmeansClusters: 8 } }, windows(2));
  assert.ok(Math.abs(half.metrics.ce_loss_score - 1) > 1e-3, 'a shrunken reconstruction changes the spliced loss');
  assert.ok(Math.abs(half.metrics.shrinkage - 0.5) < 1e-4, `shrinkage ${half.metrics.shrinkage}`);
  assert.deepEqual(Object.keys(half.baselines!).sort(), [`pca_top${Math.round(half.metrics.l0)}`, 'kmeans', `random_top${Math.round(half.metrics.l0)}`].sort());
  for (const m of Object.values(half.baselines!)) {
    assert.ok(Number.isFinite(m.fve) && Number.isFinite(m.ce_loss_score), JSON.stringify(m));
  }
});
