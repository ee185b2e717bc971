// Checkpoint and resume: a run stopped at step 17 (checkpoints at 10 and 17) and resumed must reproduce the
// uninterrupted run bit for bit: every step's loss and every final parameter. BatchTopK exercises the host-folded
// threshold, AuxK and the dead-latent clock; JumpReLU the sparsity warm-up. Resuming from an iterable skips the
// batches already consumed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbityError } from '../../src/errors.js';
import { trainSae, type TrainSaeOptions } from '../../src/dictionaries/train/trainer.js';
import { loadCheckpoint } from '../../src/dictionaries/train/checkpoint.js';
import type { SaeConfigInput } from '../../src/dictionaries/sae.js';
import { synthetic } from './synthetic.js';

const ROOT = mkdtempSync(join(tmpdir(), 'probity-resume-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const B = 64;
const SYN = synthetic({ dIn: 16, nFeatures: 32, active: 3, batchSize: B, seed: 2 });

const CASES: SaeConfigInput[] = [
  { architecture: 'batchtopk', dIn: 16, dSae: 48, k: 3, hookName: 'h', auxK: 8 },
  { architecture: 'jumprelu', dIn: 16, dSae: 48, hookName: 'h', sparsityCoefficient: 0.5, bandwidth: 0.05, initThreshold: 0.1 },
];

for (const cfg of CASES) {
  test(`${cfg.architecture}: a checkpointed and resumed run equals the uninterrupted run bit for bit`, async () => {
    const base: TrainSaeOptions = {
      steps: 40, lr: 3e-3, seed: 5, normBatches: 4, warmupSteps: 5, sparsityWarmupSteps: 10, deadAfterTokens: 5 * B, progressEvery: 1, session: { threads: 1 },
    };
    const lossesA: number[] = [];
    const deadA: number[] = [];
    const full = await trainSae(cfg, (i) => SYN.batch(i), { ...base, onProgress: (p) => (lossesA.push(p.loss), deadA.push(p.metrics.dead_fraction)) });

    const ckpt = join(ROOT, `${cfg.architecture}.safetensors`);
    const lossesB: number[] = [];
    const part1 = await trainSae(cfg, (i) => SYN.batch(i), { ...base, stopAtStep: 17, checkpoint: { path: ckpt, every: 10 }, onProgress: (p) => lossesB.push(p.loss) });
    assert.equal(part1.step, 17);
    const saved = loadCheckpoint(ckpt);
    assert.equal(saved.step, 17);
    assert.equal(saved.tokens, 17 * B);
    assert.ok(Object.keys(saved.optimizer).some((n) => n.startsWith('m.')) && Object.keys(saved.optimizer).some((n) => n.startsWith('v.')));
    assert.deepEqual(readdirSync(ROOT).filter((f) => f.includes('.tmp')), [], 'no temporary file left behind');

    // Resume from an iterable this time: it must skip the 17 batches already consumed.
    function* stream() {
      for (let i = 0; ; i++) yield SYN.batch(i);
    }
    const part2 = await trainSae(cfg, stream(), { ...base, resumeFrom: ckpt, onProgress: (p) => lossesB.push(p.loss) });
    assert.equal(part2.step, 40);
    assert.equal(part2.tokens, full.tokens);
    assert.deepEqual(lossesB, lossesA, 'per-step losses');
    if (cfg.architecture === 'batchtopk') assert.ok(deadA.some((d) => d > 0), 'the run should exercise AuxK (dead latents)');
    assert.equal(part2.inputScale, full.inputScale);
    for (const s of full.sae.specs) assert.deepEqual(part2.sae.params[s.name], full.sae.params[s.name], s.name);
  });
}

test('resume refuses a checkpoint from a different configuration or schedule', async () => {
  const ckpt = join(ROOT, 'batchtopk.safetensors');
  assert.ok(existsSync(ckpt));
  const base: TrainSaeOptions = { steps: 40, lr: 3e-3, seed: 5, normBatches: 4, warmupSteps: 5, sparsityWarmupSteps: 10, deadAfterTokens: 5 * B, session: { threads: 1 } };
  await assert.rejects(
    trainSae({ ...CASES[0], k: 4 }, (i) => SYN.batch(i), { ...base, resumeFrom: ckpt }),
    (e: unknown) => e instanceof ProbityError && e.code === 'SAE_RESUME_MISMATCH' && e.message.includes(ckpt),
  );
  await assert.rejects(
    trainSae(CASES[0], (i) => SYN.batch(i), { ...base, lr: 1e-3, resumeFrom: ckpt }),
    (e: unknown) => e instanceof ProbityError && e.code === 'SAE_RESUME_MISMATCH',
  );
});
