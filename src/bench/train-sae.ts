// An SAE trained during a benchmark run, for a model that ships none: a TopK SAE (k 32, 16 x d_model latents) on
// activations generated on the fly from the organism's documents (a seed the benchmark's document pool does not use),
// saved in the SAELens layout next to the results so that the run's SAE can be inspected and reused.
import type { Model } from '../models/model.js';
import type { Sae } from '../dictionaries/sae.js';
import { onTheFly } from '../dictionaries/store/on-the-fly.js';
import { trainSae } from '../dictionaries/train/trainer.js';
import { saveSaeLens } from '../dictionaries/saelens.js';
import { documents } from '../organism/corpus.js';

export interface BenchSaeOptions {
  tokens: number;
  seed: number;
  /** Folder to save the SAE in (SAELens layout). */
  out: string;
  batch?: number;
  onProgress?: (what: string) => void;
}

/** Documents seed of the SAE's training stream (the benchmark's pool uses docsSeed, 0 by default). */
const SAE_DOCS_SEED = 4242;

export async function trainBenchSae(model: Model, hook: string, o: BenchSaeOptions): Promise<Sae> {
  const batch = o.batch ?? 4096;
  const steps = Math.max(1, Math.floor(o.tokens / batch));
  const source = onTheFly({
    model,
    hooks: [hook],
    tokens: { description: { kind: 'organism-docs', seed: SAE_DOCS_SEED } as never, rows: () => (function* () {
      for (const d of documents(SAE_DOCS_SEED)) yield d.tokens;
    })() },
  });
  const batches = source.batches({ hook, batchSize: batch, seed: o.seed, epochs: Infinity, dropLast: true });
  const d = model.spec.dModel;
  const r = await trainSae(
    { architecture: 'topk', dIn: d, dSae: 16 * d, k: 32, hookName: hook, metadata: { model: model.source, tokens: steps * batch, seed: o.seed, trainedBy: 'probity bench' } },
    (async function* () {
      for await (const b of batches) yield b.x.data;
    })(),
    { steps, lr: 1e-3, seed: o.seed, progressEvery: 10, onProgress: (p) => o.onProgress?.(`SAE step ${p.step}/${steps}  loss ${p.loss.toFixed(3)}`) },
  );
  saveSaeLens(r.sae, o.out);
  r.sae.source = o.out; // as given: written into provenance by displayPath, never made absolute
  return r.sae;
}
