// Training recipe for the model organism: a small Llama (RMSNorm, RoPE, SwiGLU) trained from scratch with the
// engine's one-graph steps, AdamW with linear warm-up and cosine decay, per-genre validation loss, checkpoints that
// survive kill -9 (atomic rename; at most `checkpointEvery` steps are lost) and resume to the same numbers.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ProbityError } from '../../errors.js';
import { Parameters } from '../../engine/train/parameters.js';
import { TrainStep } from '../../engine/train/step.js';
import { NDArray } from '../../engine/ndarray.js';
import { causalLmLoss, declareLmInputs } from '../../models/train/lm-loss.js';
import { llamaWeightTable } from '../../models/llama/weights.js';
import type { TransformerSpec } from '../../models/spec.js';
import { Model } from '../../models/model.js';
import { readSafetensors, writeSafetensors } from '../../models/loaders/safetensors.js';
import { logSoftmax } from '../../models/sampling.js';
import { documents } from '../corpus.js';
import { GENRES, type Genre } from '../concepts.js';
import { organismTokenizer } from '../tokenizer.js';
import { asModelTokenizer, ORGANISM_TOKENIZER_FILE } from '../model-tokenizer.js';
import { PackedReader } from './data.js';
import { Rng } from '../rng.js';

export interface OrganismTrainConfig {
  seed: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  dMlp: number;
  ctx: number;
  batch: number;
  steps: number;
  lr: number;
  warmupSteps: number;
  minLrFraction: number;
  weightDecay: number;
  /** AdamW moment decay rates and epsilon (absent from configs written before they were recorded: 0.9, 0.95, 1e-8). */
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  clipNorm: number;
  evalEvery: number;
  checkpointEvery: number;
  valDocsPerGenre: number;
}

export const DEFAULT_TRAIN: OrganismTrainConfig = {
  seed: 1,
  dModel: 192,
  nLayers: 4,
  nHeads: 6,
  dMlp: 512,
  ctx: 256,
  batch: 16,
  steps: 3000,
  lr: 3e-3,
  warmupSteps: 100,
  minLrFraction: 0.1,
  weightDecay: 0.1,
  adamBeta1: 0.9,
  adamBeta2: 0.95,
  adamEps: 1e-8,
  clipNorm: 1,
  evalEvery: 250,
  checkpointEvery: 100,
  valDocsPerGenre: 24,
};

export function organismSpec(c: OrganismTrainConfig, vocab: number): TransformerSpec {
  return {
    arch: 'llama', dModel: c.dModel, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nHeads, dHead: c.dModel / c.nHeads,
    dMlp: c.dMlp, vocab, nCtx: c.ctx, normEps: 1e-5, rope: { theta: 10000, layout: 'half' }, act: 'silu', tied: true,
  };
}

/** GPT-2-style init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 L), norms at 1. */
export function initParams(spec: TransformerSpec, seed: number): Parameters {
  const rng = new Rng(seed);
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = std * Math.sqrt(-2 * Math.log(rng.next() + 1e-12)) * Math.cos(2 * Math.PI * rng.next());
    return a;
  };
  const p = new Parameters();
  for (const e of llamaWeightTable(spec, 'hf')) {
    const n = e.dims.reduce((a, b) => a * b, 1);
    if (e.dims.length === 1) p.add(e.name, e.dims, new Float32Array(n).fill(1));
    else p.add(e.name, e.dims, normal(n, /W_O|W_out/.test(e.name) ? 0.02 / Math.sqrt(2 * spec.nLayers) : 0.02));
  }
  return p;
}

export function lrAt(c: OrganismTrainConfig, step: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const t = Math.min(1, (step - c.warmupSteps) / Math.max(1, c.steps - c.warmupSteps));
  return c.lr * (c.minLrFraction + (1 - c.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export interface LogRow {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerS: number;
  /** Seconds spent in training steps so far (batch assembly + step; validation passes excluded). */
  elapsedS: number;
  /** Loss-bearing tokens of this step, and of all steps so far (absent from logs written before they were recorded). */
  tokens?: number;
  tokensSeen?: number;
  val?: Partial<Record<Genre, number>> & { all?: number };
}

interface CheckpointMeta {
  step: number;
  cursor: number;
  configHash: string;
  elapsedS: number;
  tokensSeen: number;
}

/** Config fields recorded only by later runs, with the values the code used (fixed constants) before they were. */
export const PRE_CONFIG_VALUES: Pick<OrganismTrainConfig, 'adamBeta1' | 'adamBeta2' | 'adamEps'> = { adamBeta1: 0.9, adamBeta2: 0.95, adamEps: 1e-8 };

// At their old fixed values the AdamW constants stay out of the hash, so checkpoints written before still resume.
const hashConfig = (c: OrganismTrainConfig, corpus: string) => {
  const { adamBeta1, adamBeta2, adamEps, ...rest } = c;
  const old = PRE_CONFIG_VALUES;
  const adam = adamBeta1 === old.adamBeta1 && adamBeta2 === old.adamBeta2 && adamEps === old.adamEps ? {} : { adamBeta1, adamBeta2, adamEps };
  return createHash('sha256').update(JSON.stringify({ ...rest, ...adam, evalEvery: 0, checkpointEvery: 0, corpus })).digest('hex').slice(0, 16);
};

function saveCheckpoint(dir: string, params: Parameters, state: Parameters, meta: CheckpointMeta): void {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const n of params.names) tensors[`p.${n}`] = { dtype: 'F32', shape: params.dims(n), data: params.get(n).data };
  for (const n of state.names) tensors[`s.${n}`] = { dtype: 'F32', shape: state.dims(n), data: state.get(n).data };
  const tmp = path.join(dir, 'checkpoint.safetensors.tmp');
  writeSafetensors(tmp, tensors, { meta: JSON.stringify(meta) });
  fs.renameSync(tmp, path.join(dir, 'checkpoint.safetensors')); // atomic: a kill leaves the old or the new file
}

function loadCheckpoint(dir: string, params: Parameters, state: Parameters): CheckpointMeta | null {
  const file = path.join(dir, 'checkpoint.safetensors');
  if (!fs.existsSync(file)) return null;
  const f = readSafetensors(file);
  for (const n of params.names) params.set(n, f.float32(`p.${n}`));
  for (const n of state.names) state.set(n, f.float32(`s.${n}`));
  return JSON.parse(f.metadata.meta) as CheckpointMeta;
}

/** Held-out documents per genre (a different seed from the corpus), for validation loss. */
export function validationDocs(seed: number, perGenre: number): Map<Genre, number[][]> {
  const out = new Map<Genre, number[][]>(GENRES.map((g) => [g, []]));
  for (const d of documents(seed ^ 0x5eed, {})) {
    const list = out.get(d.genre)!;
    if (list.length < perGenre) list.push(Array.from(d.tokens));
    if ([...out.values()].every((l) => l.length >= perGenre)) break;
  }
  return out;
}

/** Mean next-token NLL per genre, one document per row (as the model is used). */
export async function validationLoss(model: Model, docs: Map<Genre, number[][]>): Promise<Partial<Record<Genre, number>> & { all: number }> {
  const res: Partial<Record<Genre, number>> & { all: number } = { all: 0 };
  let total = 0;
  let count = 0;
  const V = model.spec.vocab;
  for (const [genre, rows] of docs) {
    if (rows.length === 0) continue;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < rows.length; i += 8) {
      const chunk = rows.slice(i, i + 8).map((r) => r.slice(0, model.spec.nCtx));
      const { logits } = await model.forward(chunk, { logits: 'all' });
      const T = logits!.dims[1];
      chunk.forEach((r, b) => {
        const pad = T - r.length;
        for (let t = 0; t + 1 < r.length; t++) {
          const lp = logSoftmax(logits!.data.subarray((b * T + pad + t) * V, (b * T + pad + t + 1) * V));
          sum -= lp[r[t + 1]];
          n++;
        }
      });
    }
    res[genre] = sum / n;
    total += sum;
    count += n;
  }
  res.all = total / count;
  return res;
}

export interface TrainHooks {
  onStep?: (row: LogRow, total: number) => void;
  onEval?: (row: LogRow) => void;
  /** Stop after this many steps in this process (tests of resume). */
  stopAfter?: number;
}

/** Train (or resume) in `outDir` on the corpus in `corpusDir`. Writes checkpoint, train_log.jsonl, final model. */
export async function trainOrganism(cfg: OrganismTrainConfig, corpusDir: string, outDir: string, hooks: TrainHooks = {}): Promise<{ params: Parameters; spec: TransformerSpec; log: LogRow[]; finished: boolean }> {
  fs.mkdirSync(outDir, { recursive: true });
  const tok = organismTokenizer();
  const spec = organismSpec(cfg, tok.size);
  if (spec.dModel % spec.nHeads) throw new ProbityError('CONFIG_FIELD', `dModel ${cfg.dModel} is not divisible by nHeads ${cfg.nHeads}`);
  const params = initParams(spec, cfg.seed);
  const step = await TrainStep.create({
    name: 'organism_train',
    params,
    inputs: {
      tokens: { dtype: 'int64', shape: ['B', 'T'] }, positions: { dtype: 'int64', shape: ['B', 'T'] }, key_mask: { dtype: 'bool', shape: ['B', 'T'] },
      targets: { dtype: 'int64', shape: ['B', 'T'] }, loss_mask: { dtype: 'float32', shape: ['B', 'T'] },
    },
    loss: (p, x) => ({
      loss: causalLmLoss(spec, (n) => p[n], () => 'out_in', { tokens: x.tokens, positions: x.positions, keyMask: x.key_mask, targets: x.targets, lossMask: x.loss_mask }),
    }),
    optimizer: { kind: 'adamw', weightDecay: cfg.weightDecay, beta1: cfg.adamBeta1, beta2: cfg.adamBeta2, eps: cfg.adamEps },
    clipNorm: cfg.clipNorm,
  });
  const configHash = hashConfig(cfg, fs.realpathSync(corpusDir));
  const logFile = path.join(outDir, 'train_log.jsonl');
  let meta = loadCheckpoint(outDir, params, step.state);
  if (meta && meta.configHash !== configHash) {
    throw new ProbityError('CHECKPOINT_MISMATCH', `${outDir}/checkpoint.safetensors was written for another configuration (hash ${meta.configHash}, now ${configHash}); use a fresh --out or delete it`);
  }
  const log: LogRow[] = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRow) : [];
  // Drop log rows past the checkpoint: those steps are redone.
  const startStep = meta?.step ?? 0;
  const kept = log.filter((r) => r.step <= startStep);
  fs.writeFileSync(logFile, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  step.stepCount = startStep;
  const reader = new PackedReader(corpusDir, cfg.ctx, meta?.cursor ?? 0);
  const val = validationDocs(cfg.seed, cfg.valDocsPerGenre);
  const modelTok = asModelTokenizer(tok);
  const evalModel = new Model(spec, { get: (n) => params.get(n), has: (n) => params.has(n), layout: () => 'out_in', names: () => params.names, paramCount: params.count }, modelTok, outDir);
  let elapsed = meta?.elapsedS ?? 0;
  let tokensSeen = meta?.tokensSeen ?? 0;
  let ran = 0;
  for (let s = startStep; s < cfg.steps; s++) {
    if (hooks.stopAfter !== undefined && ran >= hooks.stopAfter) return { params, spec, log: kept, finished: false };
    const t0 = performance.now();
    const batch = reader.next(cfg.batch);
    const lr = lrAt(cfg, s);
    const r = await step.step(batch as unknown as Record<string, NDArray>, lr);
    const dt = (performance.now() - t0) / 1000;
    const ntok = (batch.loss_mask.data as Float32Array).reduce((a, b) => a + b, 0);
    elapsed += dt;
    tokensSeen += ntok;
    ran++;
    const row: LogRow = { step: s + 1, loss: r.loss, lr, gradNorm: r.gradNorm, tokensPerS: ntok / dt, elapsedS: elapsed, tokens: ntok, tokensSeen };
    if ((s + 1) % cfg.evalEvery === 0 || s + 1 === cfg.steps) {
      row.val = await validationLoss(evalModel, val);
      hooks.onEval?.(row);
    }
    kept.push(row);
    fs.appendFileSync(logFile, JSON.stringify(row) + '\n');
    hooks.onStep?.(row, cfg.steps);
    if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === cfg.steps) {
      meta = { step: s + 1, cursor: reader.cursor, configHash, elapsedS: elapsed, tokensSeen };
      saveCheckpoint(outDir, params, step.state, meta);
    }
  }
  step.release();
  return { params, spec, log: kept, finished: true };
}

/** Parameters and spec from a run folder's latest checkpoint (to look at a model while it trains). */
export function paramsFromCheckpoint(runDir: string): { params: Parameters; spec: TransformerSpec; step: number } {
  const cfg = JSON.parse(fs.readFileSync(path.join(runDir, 'train_config.json'), 'utf8')) as OrganismTrainConfig;
  const spec = organismSpec(cfg, organismTokenizer().size);
  const params = initParams(spec, cfg.seed);
  const f = readSafetensors(path.join(runDir, 'checkpoint.safetensors'));
  for (const n of params.names) params.set(n, f.float32(`p.${n}`));
  return { params, spec, step: (JSON.parse(f.metadata.meta) as CheckpointMeta).step };
}

/** Write the trained model as a Hugging Face Llama folder that the ordinary loader reads. */
export function saveOrganismModel(dir: string, params: Parameters, spec: TransformerSpec): void {
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: spec.dModel, intermediate_size: spec.dMlp,
    num_hidden_layers: spec.nLayers, num_attention_heads: spec.nHeads, num_key_value_heads: spec.nKvHeads,
    rms_norm_eps: spec.normEps, rope_theta: spec.rope!.theta, vocab_size: spec.vocab, max_position_embeddings: spec.nCtx,
    tie_word_embeddings: spec.tied, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const e of llamaWeightTable(spec, 'hf')) tensors[e.file[0]] = { dtype: 'F32', shape: params.dims(e.name), data: params.get(e.name).data };
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt', producer: 'probity organism train' });
  fs.writeFileSync(path.join(dir, ORGANISM_TOKENIZER_FILE), JSON.stringify(organismTokenizer().toJSON()) + '\n');
}
