// Sampling benchmark (issue: speed II, item 3's batched and steered sampling): temperature-1 sampling of 64 new
// tokens after a 16-token prompt, end-of-text ignored so every row runs all 64 steps, through probity's own
// generate() (KV cache, one forward per step). Measured on the organism (what the suites sample) and on the
// 768 x 12 random-weight Llama F32 GGUF the llama.cpp peer uses.
//
// Configurations, in alternating rounds (the order rotates each round):
//   batch 1 and batch 32, unsteered;
//   an `add` intervention at a mid-depth residual hook (a fixed random vector);
//   a conditional SAE clamp at the same hook, the conditional suite's own intervention (bench/tasks/conditional):
//   on the organism the shipped SAE's latent 5 (trigger: its pre-activation > 0, clamped to 4), on the random Llama
//   random trigger / decoder vectors of the same structure.
// Tokens/s counts sampled tokens over the whole call (prompt processing included), per process.
// Goals (issue 19): batch 32 >= 4x batch 1 tokens/s; steered within 10% of unsteered (ratio >= 0.9).
import path from 'node:path';
import { loadModel } from '../src/models/load.js';
import { generate } from '../src/models/generate.js';
import type { Model } from '../src/models/model.js';
import type { InterventionMap } from '../src/models/hooks/interventions.js';
import { NDArray } from '../src/engine/ndarray.js';
import { loadSaeLens } from '../src/dictionaries/saelens.js';
import { rowsIntervention, saeDecoderRow, saePreActivation, type RowSpec } from '../src/bench/tasks/conditional/engine.js';
import { PROJECT_ROOT } from '../src/util/paths.js';
import { benchGgufFiles } from './peers/gguf-files.js';
import { median, randn } from './util.js';

const PROMPT = 16;
const NEW = 64;
const ROUNDS = Number(process.env.PROBITY_BENCH_ROUNDS ?? 3);
const ORGANISM_SAE = 'models/organism/saes/topk-k32-blocks.2.hook_resid_post';

type Steer = 'none' | 'add' | 'sae_clamp';
interface Config {
  name: string;
  batch: number;
  steer: Steer;
}
const CONFIGS: Config[] = [
  { name: 'batch1', batch: 1, steer: 'none' },
  { name: 'batch32', batch: 32, steer: 'none' },
  { name: 'batch1_add', batch: 1, steer: 'add' },
  { name: 'batch1_sae_clamp', batch: 1, steer: 'sae_clamp' },
  { name: 'batch32_add', batch: 32, steer: 'add' },
  { name: 'batch32_sae_clamp', batch: 32, steer: 'sae_clamp' },
];

function unit(v: Float32Array, norm: number): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const k = norm / Math.sqrt(s);
  return v.map((x) => x * k);
}

interface Subject {
  model: Model;
  hook: string;
  clampRow: RowSpec;
  addVector: Float32Array;
  describe: Record<string, unknown>;
}

async function organism(): Promise<Subject> {
  const model = await loadModel('organism');
  const sae = loadSaeLens(path.join(PROJECT_ROOT, ORGANISM_SAE));
  const hook = sae.cfg.hookName;
  const latent = 5;
  const pre = saePreActivation(sae, latent);
  const clampRow: RowSpec = { trigger: pre, pre, value: 4, dvec: saeDecoderRow(sae, latent) };
  return { model, hook, clampRow, addVector: unit(randn(model.spec.dModel, 11), 4), describe: { model: 'organism', hook, sae: ORGANISM_SAE, latent, clamp_value: 4 } };
}

async function randomLlama(): Promise<Subject> {
  const [file] = benchGgufFiles(['F32']);
  const model = await loadModel(file.path);
  const d = model.spec.dModel;
  const hook = `blocks.${model.spec.nLayers >> 1}.hook_resid_post`;
  const clampRow: RowSpec = { trigger: { w: randn(d, 21, 0.05), c: 0 }, pre: { w: randn(d, 22, 0.05), c: 0 }, value: 4, dvec: unit(randn(d, 23), 1) };
  return { model, hook, clampRow, addVector: unit(randn(d, 24), 4), describe: { model: 'random Llama 768 x 12 F32 GGUF (bench/peers/gguf-files.ts)', hook, clamp: 'random trigger, pre-activation and decoder vectors' } };
}

function interventions(s: Subject, c: Config): InterventionMap | undefined {
  if (c.steer === 'none') return undefined;
  const d = s.model.spec.dModel;
  if (c.steer === 'add') return { [s.hook]: [{ kind: 'add', vector: new NDArray(s.addVector, [d]) }] };
  return { [s.hook]: [rowsIntervention(Array.from({ length: c.batch }, () => s.clampRow), d)] };
}

async function timeConfig(s: Subject, c: Config, round: number): Promise<number> {
  const V = s.model.spec.vocab;
  const prompts = Array.from({ length: c.batch }, (_, b) => Array.from({ length: PROMPT }, (_, t) => 3 + ((b * 7919 + t * 104729 + round) % (V - 3))));
  const t0 = performance.now();
  const out = await generate(s.model, prompts, { maxTokens: NEW, temperature: 1, seed: round + 1, stop: [], interventions: interventions(s, c) });
  const ms = performance.now() - t0;
  const n = out.reduce((a, g) => a + g.tokens.length, 0);
  if (n !== c.batch * NEW) throw new Error(`${c.name}: sampled ${n} tokens, expected ${c.batch * NEW}`);
  return n / (ms / 1000);
}

async function benchSubject(s: Subject) {
  // Warm-up: every configuration once (graph compilation for each structure and batch size).
  for (const c of CONFIGS) await timeConfig(s, c, -1);
  const rounds: Record<string, number[]> = Object.fromEntries(CONFIGS.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < CONFIGS.length; i++) {
      const c = CONFIGS[(i + r) % CONFIGS.length];
      rounds[c.name].push(await timeConfig(s, c, r));
    }
  }
  const med = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]));
  const ratio = (a: string, b: string) => med[a] / med[b];
  return {
    config: { ...s.describe, prompt_tokens: PROMPT, new_tokens: NEW, temperature: 1, rounds: ROUNDS, order: 'rotating', warmup: 'each configuration once' },
    rounds_tokens_per_s: rounds,
    median_tokens_per_s: med,
    ratios: {
      batch32_over_batch1: ratio('batch32', 'batch1'),
      batch1_add_over_unsteered: ratio('batch1_add', 'batch1'),
      batch1_sae_clamp_over_unsteered: ratio('batch1_sae_clamp', 'batch1'),
      batch32_add_over_unsteered: ratio('batch32_add', 'batch32'),
      batch32_sae_clamp_over_unsteered: ratio('batch32_sae_clamp', 'batch32'),
    },
  };
}

export async function benchGeneration() {
  return {
    sampling_organism: await benchSubject(await organism()),
    sampling_llama_768x12_f32: await benchSubject(await randomLlama()),
    sampling_goals: { batch32_over_batch1: '>= 4', steered_over_unsteered: '>= 0.9' },
  };
}
