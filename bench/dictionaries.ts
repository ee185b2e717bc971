// Dictionary benchmarks (issue: dictionaries): TopK SAE training throughput through the full trainer
// (activation store on disk -> shuffled batches -> one-graph training step), 768 -> 12288, k = 32, batch 4096.
// Anchor on the reference machine: PyTorch 1.13 CPU, 1,332 tokens/s. Runs the trainer's default latent selection
// ('auto', int8 at this width) and exact selection, one after the other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomGpt2 } from './models.js';
import { harvest } from '../src/dictionaries/store/harvest.js';
import { openStore } from '../src/dictionaries/store/reader.js';
import { randomSource } from '../src/dictionaries/store/sources.js';
import { trainSae } from '../src/dictionaries/train/trainer.js';
import { resolveSelection } from '../src/dictionaries/architectures/topk-select.js';

export async function benchTopkTrainer(steps = 10, batch = 4096) {
  const auto = await trainerRun(steps, batch, 'auto');
  const exact = await trainerRun(steps, batch, 'exact');
  return {
    topk_sae_trainer_tokens_per_s: auto.tokensPerS,
    topk_sae_trainer_step_ms: auto.ms,
    topk_sae_trainer_selection: resolveSelection('auto', 12288, 32),
    topk_sae_trainer_tokens_per_s_exact: exact.tokensPerS,
    topk_sae_trainer_config: { d_in: 768, d_sae: 12288, k: 32, batch, steps_timed: auto.timed, source: 'activation store on disk (f32), shuffled', selection: 'trainer default (auto)' },
    topk_sae_pytorch_anchor_tokens_per_s: 1332,
  };
}

async function trainerRun(steps: number, batch: number, selection: 'auto' | 'exact') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-bench-store-'));
  try {
    // A one-layer random model with GPT-2-small width: harvesting is cheap, the store holds real 768-d activations.
    const model = randomGpt2({ nLayers: 1, vocab: 2048, nCtx: 256 });
    const tokens = 8 * batch;
    await harvest({ model, hooks: ['blocks.0.hook_resid_post'], tokens: randomSource({ count: 400, length: 128, vocab: 2048, seed: 1 }), out: dir, maxTokens: tokens });
    const store = openStore(dir);
    const batches = store.batches({ hook: 'blocks.0.hook_resid_post', batchSize: batch, seed: 1, epochs: Infinity, dropLast: true });
    const times: number[] = [];
    let last = performance.now();
    await trainSae(
      { architecture: 'topk', dIn: 768, dSae: 12288, k: 32, hookName: 'blocks.0.hook_resid_post', topkSelection: selection },
      (async function* () {
        for await (const b of batches) yield b.x.data;
      })(),
      {
        steps, lr: 1e-4, normBatches: 1, progressEvery: 1,
        onProgress: () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
        },
      },
    );
    // Steady state: drop the first two steps (session creation, normalisation estimate).
    const steady = times.slice(2);
    const ms = steady.reduce((a, b) => a + b, 0) / steady.length;
    return { tokensPerS: batch / (ms / 1000), ms, timed: steady.length };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
