// Every architecture trains on synthetic activations made of sparse combinations of known directions (d_in 32, 64
// true features, 3 active per sample) and recovers them: mean over true features of the best cosine with a decoder
// row, and the fraction of variance explained on held-out data by the returned (scale-folded) SAE on raw inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainSae, learningRate, sparsityCoefficientAt, type TrainProgress } from '../../src/dictionaries/train/trainer.js';
import type { SaeConfigInput } from '../../src/dictionaries/sae.js';
import { meanMaxCosine, synthetic } from './synthetic.js';

const D = 32, N_FEATURES = 64, S = 128, B = 128;
const SYN = synthetic({ dIn: D, nFeatures: N_FEATURES, active: 3, batchSize: B, seed: 1 });
const HELD_OUT = 1_000_000;

interface Case {
  cfg: Partial<SaeConfigInput> & Pick<SaeConfigInput, 'architecture'>;
  steps: number;
  lr: number;
  /** Required mean max cosine (0.9 for topk and standard as specified; the others are reported and held to 0.8). */
  minCos: number;
}

const CASES: Case[] = [
  { cfg: { architecture: 'topk', k: 3 }, steps: 600, lr: 3e-3, minCos: 0.9 },
  // The int8-ranked training step (topk-select.ts) is held to the same bar as the exact one.
  { cfg: { architecture: 'topk', k: 3, topkSelection: 'int8' }, steps: 600, lr: 3e-3, minCos: 0.9 },
  { cfg: { architecture: 'standard', sparsityCoefficient: 0.6 }, steps: 800, lr: 3e-3, minCos: 0.9 },
  { cfg: { architecture: 'batchtopk', k: 3 }, steps: 800, lr: 3e-3, minCos: 0.8 },
  { cfg: { architecture: 'jumprelu', sparsityCoefficient: 1, bandwidth: 0.05, initThreshold: 0.1 }, steps: 800, lr: 5e-3, minCos: 0.8 },
  { cfg: { architecture: 'gated', sparsityCoefficient: 3 }, steps: 800, lr: 5e-3, minCos: 0.8 },
];

for (const c of CASES) {
  const name = `${c.cfg.architecture}${c.cfg.topkSelection ? ` (${c.cfg.topkSelection} selection)` : ''}`;
  test(`${name} recovers the ground-truth features`, async () => {
    const progress: TrainProgress[] = [];
    const evals: number[] = [];
    const r = await trainSae({ dIn: D, dSae: S, hookName: 'blocks.0.hook_resid_post', ...c.cfg }, (i) => SYN.batch(i), {
      steps: c.steps,
      lr: c.lr,
      seed: 3,
      deadAfterTokens: 50 * B,
      progressEvery: c.steps / 4,
      onProgress: (p) => progress.push(p),
      evalEvery: c.steps / 2,
      onEval: ({ step, sae }) => void evals.push(step + sae.dSae * 0),
      session: { threads: 1 },
    });
    const sae = r.sae;
    assert.equal(sae.cfg.inputScale, 1, 'the returned SAE has its scale folded in');
    assert.ok(Math.abs(r.inputScale - Math.sqrt(D) / 1.77) < 0.5, `input scale ${r.inputScale} ~ sqrt(32) / E|x|`);
    const cos = meanMaxCosine(SYN.features, N_FEATURES, sae.params.W_dec, S, D);
    const m = (await sae.evaluate(SYN.batch(HELD_OUT), B)).metrics();
    const last = progress[progress.length - 1];
    console.log(`# ${name}: mean max cosine ${cos.toFixed(4)}, held-out FVE ${m.fve.toFixed(4)}, L0 ${m.l0.toFixed(2)}, dead ${m.dead_fraction.toFixed(3)}, ${Math.round(last.tokensPerSec)} tokens/s`);
    assert.ok(cos > c.minCos, `mean max cosine ${cos}`);
    assert.ok(m.fve > 0.9, `FVE ${m.fve}`);
    assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4].map((q) => (q * c.steps) / 4));
    assert.ok(last.tokensPerSec > 0 && last.tokens === c.steps * B);
    assert.deepEqual(evals, [c.steps / 2, c.steps]);
  });
}

test('transcoder: reads one space, writes another (d_in 32 -> d_out 24), recovers the output features', async () => {
  const syn = synthetic({ dIn: D, nFeatures: N_FEATURES, active: 3, batchSize: B, seed: 5, dOut: 24 });
  const r = await trainSae(
    { architecture: 'topk', dIn: D, dOut: 24, dSae: S, k: 3, hookName: 'blocks.0.ln2.hook_normalized', outHookName: 'blocks.0.hook_mlp_out' },
    (i) => syn.pair(i),
    { steps: 800, lr: 5e-3, seed: 3, deadAfterTokens: 50 * B, session: { threads: 1 } },
  );
  const sae = r.sae;
  assert.equal(sae.dOut, 24);
  assert.equal(sae.cfg.applyBDecToInput, false);
  assert.ok(sae.isTranscoder);
  assert.ok(Math.abs(r.outputScale - r.inputScale) > 1e-3, 'input and target are normalised separately');
  const held = syn.pair(HELD_OUT);
  const m = (await sae.evaluate(held.x, B, { target: held.target })).metrics();
  const cos = meanMaxCosine(syn.outFeatures, N_FEATURES, sae.params.W_dec, S, 24);
  console.log(`# transcoder topk: output-feature mean max cosine ${cos.toFixed(4)}, held-out FVE on the target ${m.fve.toFixed(4)}`);
  assert.ok(m.fve > 0.9, `FVE ${m.fve}`);
  assert.ok(cos > 0.9, `cos ${cos}`);
});

test('schedules: learning-rate warm-up and linear decay over the last 20%; sparsity warm-up', () => {
  const o = { lr: 1, steps: 100, warmupSteps: 10 };
  assert.equal(learningRate(5, o), 0.5);
  assert.equal(learningRate(10, o), 1);
  assert.equal(learningRate(80, o), 1);
  assert.equal(learningRate(81, o), 20 / 21);
  assert.equal(learningRate(100, o), 1 / 21);
  assert.equal(sparsityCoefficientAt(25, 2, 50), 1);
  assert.equal(sparsityCoefficientAt(75, 2, 50), 2);
});
