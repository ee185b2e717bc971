// SAE / transcoder training on activation batches. The trainer never sees the language model: it reads [B, dIn]
// batches (and [B, dOut] targets for transcoders) from an async iterable, an iterable, or a function of the batch index.
//
// One optimizer step per batch, each a single engine graph (TrainStep: forward, autodiff, AdamW/Adam, the
// architecture's gradTransform and postUpdate). Around it:
//   - activation normalisation (Anthropic April 2024 update; SAELens "expected_average_only_in"): from the first
//     `normBatches` batches estimate s = sqrt(dIn) / E||x|| (and s_out = sqrt(dOut) / E||target|| for transcoders),
//     train on scaled data, and fold the scales back into the weights at the end (Sae.foldScale);
//   - learning rate: linear warm-up over `warmupSteps`, constant, linear decay over the last `decayFraction` (0.2) of
//     the steps; sparsity coefficient: linear warm-up over `sparsityWarmupSteps` (default 5% of the steps);
//   - dead latents: tokens since each latent last fired, kept *inside* the step graph as the parameter
//     `stat.tokens_since_fired` [S] (trained with a zero gradient, so Adam leaves it exactly unchanged, and rewritten by
//     a postUpdate from the batch's firing counts; float32 counts are exact, capped at 2^24 tokens). Latents idle for
//     more than `deadAfterTokens` form the dead mask fed to AuxK;
//   - host-side statistics (BatchTopK's threshold) folded from step metrics by the architecture's afterStep;
//   - periodic evaluation and progress callbacks (tokens/s), checkpoints (params + optimizer state + step + RNG state +
//     scales, atomic rename) and resume: a resumed run continues bit for bit (same batches in, same numbers out).
//     Sparse gradients are summed by exact host kernels (topk-core.ts), so this holds on any number of threads.
// Optimizer: AdamW with betas (0.9, 0.999), eps 1e-8 and no weight decay by default, i.e. Adam as SAELens trains;
// weight decay, when set, applies to matrices only.
import { ProbityError, show } from '../../errors.js';
import { NDArray } from '../../engine/ndarray.js';
import * as op from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/graph/graph.js';
import type { SessionOptions } from '../../engine/session/session.js';
import { Parameters } from '../../engine/train/parameters.js';
import { TrainStep, type StepResult } from '../../engine/train/step.js';
import { normalizeConfig, Rng, Sae, type SaeConfigInput } from '../sae.js';
import type { SaeConfig } from '../architectures/types.js';
import { getArchitecture } from '../architectures/registry.js';
import type { SparseSums } from '../architectures/topk-core.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';

export type Batch = Float32Array | { x: Float32Array; target: Float32Array };
export type BatchSource = AsyncIterable<Batch> | Iterable<Batch> | ((index: number) => Batch | Promise<Batch>);

export const TOKENS_SINCE_FIRED = 'stat.tokens_since_fired';
/** float32 holds every integer up to 2^24 exactly; the idle clock saturates there. */
export const IDLE_CAP = 2 ** 24;

export interface TrainProgress {
  step: number;
  steps: number;
  tokens: number;
  tokensPerSec: number;
  lr: number;
  sparsityCoefficient: number;
  loss: number;
  gradNorm: number;
  /** The architecture's metrics (mse, l0, fve, auxk, ...) and dead_fraction. */
  metrics: Record<string, number>;
}

export interface TrainSaeOptions {
  /** Total optimizer steps (one batch each); the schedules span this many. */
  steps: number;
  /** Peak learning rate (default 3e-4, SAELens's default). */
  lr?: number;
  optimizer?: 'adam' | 'adamw';
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm (default: no clipping). */
  clipNorm?: number | null;
  warmupSteps?: number;
  /** Fraction of the steps, at the end, over which the learning rate decays linearly (default 0.2). */
  decayFraction?: number;
  /** Steps over which the sparsity coefficient ramps up from 0 (default 5% of the steps). */
  sparsityWarmupSteps?: number;
  /** Estimate and apply activation normalisation (default true). */
  normalize?: boolean;
  /** Batches used for the estimate (default 10, at most `steps`). They are trained on as well. */
  normBatches?: number;
  /** Tokens without firing after which a latent counts as dead (default 10M as in Gao et al.; < 2^24). */
  deadAfterTokens?: number;
  /** Seed of the initialisation (and of the trainer's RNG, saved in checkpoints). */
  seed?: number;
  /** Initial decoder row norm (default: the architecture's). */
  decoderInitNorm?: number;
  /** b_dec at start: zeros (default) or the mean target of the normalisation batches. */
  initBDec?: 'zeros' | 'mean';
  evalEvery?: number;
  /** Called every evalEvery steps with a snapshot of the SAE, scales folded (so it works on raw activations). */
  onEval?: (e: { step: number; sae: Sae }) => void | Promise<void>;
  progressEvery?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Write a checkpoint every `every` steps (and at the last step run). */
  checkpoint?: { path: string; every: number };
  /** Continue from this checkpoint. Function sources are called from the next batch index on; iterables are
   *  advanced past the batches already consumed. */
  resumeFrom?: string;
  /** Return after this step (the schedules still span `steps`): time-sliced runs, resume tests. */
  stopAtStep?: number;
  session?: SessionOptions;
  /** How sparse gradients are summed (default 'host', exact; the onnxruntime spellings are for comparison). */
  sparseSums?: SparseSums;
}

export interface TrainResult {
  /** The trained SAE with the normalisation folded in (inputScale 1): works on raw activations. */
  sae: Sae;
  step: number;
  tokens: number;
  inputScale: number;
  outputScale: number;
  last?: StepResult;
}

// ---- schedules ----------------------------------------------------------------------------------------------------

/** Learning rate at 1-based `step`: linear warm-up, constant, linear decay over the last decayFraction of the steps. */
export function learningRate(step: number, o: { lr: number; steps: number; warmupSteps?: number; decayFraction?: number }): number {
  let f = 1;
  const warm = o.warmupSteps ?? 0;
  if (warm > 0 && step <= warm) f = step / warm;
  const decaySteps = Math.floor(o.steps * (o.decayFraction ?? 0.2));
  const start = o.steps - decaySteps;
  if (decaySteps > 0 && step > start) f *= (o.steps - step + 1) / (decaySteps + 1);
  return o.lr * f;
}

/** Sparsity coefficient at 1-based `step`: linear warm-up from 0. */
export function sparsityCoefficientAt(step: number, coefficient: number, warmupSteps: number): number {
  return warmupSteps > 0 ? coefficient * Math.min(1, step / warmupSteps) : coefficient;
}

// ---- data ---------------------------------------------------------------------------------------------------------

interface Reader {
  next(index: number): Promise<Batch>;
}

function reader(source: BatchSource): Reader {
  if (typeof source === 'function') return { next: async (i) => source(i) };
  const it: AsyncIterator<Batch> | Iterator<Batch> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<Batch>)[Symbol.asyncIterator]() : (source as Iterable<Batch>)[Symbol.iterator]();
  let pos = 0;
  return {
    async next(index) {
      for (;;) {
        const r = await it.next();
        if (r.done) throw new ProbityError('SAE_DATA_EXHAUSTED', `training data ended after ${pos} batches; batch ${index} was needed`);
        if (pos++ === index) return r.value;
      }
    },
  };
}

interface Rows {
  x: Float32Array;
  target?: Float32Array;
  B: number;
}

function rows(b: Batch, cfg: SaeConfig, index: number): Rows {
  const x = b instanceof Float32Array ? b : b.x;
  const target = b instanceof Float32Array ? undefined : b.target;
  if (!(x instanceof Float32Array) || x.length === 0 || x.length % cfg.dIn !== 0) {
    throw new ProbityError('SAE_BATCH_SHAPE', `batch ${index}: x has ${x?.length} values, not a positive multiple of d_in = ${cfg.dIn}`);
  }
  const B = x.length / cfg.dIn;
  if (target !== undefined && (!(target instanceof Float32Array) || target.length !== B * cfg.dOut)) {
    throw new ProbityError('SAE_BATCH_SHAPE', `batch ${index}: target has ${target?.length} values, expected [${B}, d_out = ${cfg.dOut}]`);
  }
  if (target === undefined && cfg.dOut !== cfg.dIn) {
    throw new ProbityError('SAE_BATCH_SHAPE', `batch ${index}: a transcoder (d_out ${cfg.dOut}) needs batches {x, target}`);
  }
  return { x, target, B };
}

function meanNorm(a: Float32Array, d: number): number {
  let sum = 0;
  const n = a.length / d;
  for (let t = 0; t < n; t++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += a[t * d + j] * a[t * d + j];
    sum += Math.sqrt(ss);
  }
  return sum / n;
}

/** a * s into `into` (reused across steps: a fresh 12 MB array per step was a measured GC cost). */
function scaled(a: Float32Array, s: number, into?: Float32Array): Float32Array {
  if (s === 1) return a;
  const out = into && into.length === a.length ? into : new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * s;
  return out;
}

// ---- the trainer ----------------------------------------------------------------------------------------------------

export async function trainSae(cfgIn: SaeConfigInput, source: BatchSource, opts: TrainSaeOptions): Promise<TrainResult> {
  const { outputScale: _o, ...rest } = cfgIn;
  const cfg = normalizeConfig({ ...rest, inputScale: 1 });
  const steps = opts.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new ProbityError('SAE_TRAIN_OPTIONS', `steps must be a positive integer, got ${show(steps)}`);
  const stopAt = Math.min(opts.stopAtStep ?? steps, steps);
  const lr = opts.lr ?? 3e-4;
  const deadAfter = opts.deadAfterTokens ?? 10_000_000;
  if (!(deadAfter > 0 && deadAfter < IDLE_CAP)) throw new ProbityError('SAE_TRAIN_OPTIONS', `deadAfterTokens must be in (0, 2^24), got ${show(deadAfter)}`);
  const sparsityWarm = opts.sparsityWarmupSteps ?? Math.floor(0.05 * steps);
  const coefficient = cfg.sparsityCoefficient ?? 0;
  const [beta1, beta2] = opts.betas ?? [0.9, 0.999];
  const optimizer = { kind: opts.optimizer ?? 'adamw', beta1, beta2, eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0 } as const;
  const schedule = JSON.stringify({ steps, lr, warmupSteps: opts.warmupSteps ?? 0, decayFraction: opts.decayFraction ?? 0.2, sparsityWarm, deadAfter, optimizer, clipNorm: opts.clipNorm ?? null });
  const configJson = JSON.stringify(cfg);
  const sums = opts.sparseSums ?? 'host';
  const data = reader(source);
  const pending = new Map<number, Rows>();
  const fetch = async (i: number): Promise<Rows> => {
    const r = pending.get(i);
    if (r) {
      pending.delete(i);
      return r;
    }
    return rows(await data.next(i), cfg, i);
  };

  // ---- initial state: fresh or from a checkpoint
  let step = 0;
  let tokens = 0;
  let rng: Rng;
  let sIn = 1;
  let sOut = 1;
  let B: number;
  let init: Record<string, Float32Array>;
  let resumed: ReturnType<typeof loadCheckpoint> | undefined;
  if (opts.resumeFrom) {
    resumed = loadCheckpoint(opts.resumeFrom);
    const where = opts.resumeFrom;
    if (resumed.config !== configJson) throw new ProbityError('SAE_RESUME_MISMATCH', `${where}: checkpoint trains config ${resumed.config}, this run ${configJson}`);
    if (resumed.schedule !== schedule) throw new ProbityError('SAE_RESUME_MISMATCH', `${where}: checkpoint schedule ${resumed.schedule}, this run ${schedule}`);
    step = resumed.step;
    tokens = resumed.tokens;
    rng = new Rng(resumed.rngState);
    sIn = resumed.inputScale;
    sOut = resumed.outputScale;
    B = resumed.batchSize;
    init = {};
    for (const [k, v] of Object.entries(resumed.params)) init[k] = v.data;
  } else {
    rng = new Rng(opts.seed ?? 0);
    const nNorm = Math.max(1, Math.min(opts.normBatches ?? 10, steps));
    const first: Rows[] = [];
    for (let i = 0; i < nNorm; i++) first.push(await fetch(i));
    first.forEach((r, i) => pending.set(i, r));
    B = first[0].B;
    if (opts.normalize ?? true) {
      const mean = (get: (r: Rows) => Float32Array, d: number) => first.reduce((a, r) => a + meanNorm(get(r), d), 0) / first.length;
      const nx = mean((r) => r.x, cfg.dIn);
      sIn = nx > 0 ? Math.sqrt(cfg.dIn) / nx : 1;
      if (first[0].target) {
        const nt = mean((r) => r.target!, cfg.dOut);
        sOut = nt > 0 ? Math.sqrt(cfg.dOut) / nt : 1;
      } else sOut = sIn;
    }
    const sae = Sae.createWith(cfg, rng, { decoderInitNorm: opts.decoderInitNorm });
    init = { ...sae.params, [TOKENS_SINCE_FIRED]: new Float32Array(cfg.dSae) };
    if (opts.initBDec === 'mean') {
      const b = new Float64Array(cfg.dOut);
      let n = 0;
      for (const r of first) {
        const t = r.target ?? r.x;
        for (let i = 0; i < t.length; i++) b[i % cfg.dOut] += t[i];
        n += r.B;
      }
      init.b_dec = Float32Array.from(b, (v) => (v / n) * sOut);
    }
  }

  // ---- the step graph
  const arch = getArchitecture(cfg.architecture);
  const specs = arch.params(cfg);
  const params = new Parameters();
  for (const s of specs) {
    const v = init[s.name];
    if (!v) throw new ProbityError('SAE_CHECKPOINT', `checkpoint has no parameter ${s.name}`);
    params.add(s.name, s.dims, Float32Array.from(v));
  }
  params.add(TOKENS_SINCE_FIRED, [cfg.dSae], Float32Array.from(init[TOKENS_SINCE_FIRED] ?? new Float32Array(cfg.dSae)));
  const trainable = [...specs.filter((s) => s.trainable !== false).map((s) => s.name), TOKENS_SINCE_FIRED];
  const transcoder = cfg.dOut !== cfg.dIn || !!(await peekTarget(fetch, pending, step));
  if (transcoder && cfg.applyBDecToInput) {
    throw new ProbityError('SAE_TRAIN_OPTIONS', 'batches carry targets (a transcoder) but applyBDecToInput is true: b_dec lives in the output space');
  }
  let firing: Tensor | null = null;
  const inputs: Record<string, { dtype: 'float32'; shape: number[] }> = { x: { dtype: 'float32', shape: [B, cfg.dIn] }, coeff: { dtype: 'float32', shape: [] } };
  if (transcoder) inputs.target = { dtype: 'float32', shape: [B, cfg.dOut] };
  // Two step graphs over the same parameters and optimizer state: with the dead-latent auxiliary loss, and without.
  // The host picks per step: AuxK (TopK) costs a [B, kAux] gather of decoder rows and matters only once some latent
  // is dead, as in SAELens, which skips it when no latent is dead.
  const buildStep = (withDead: boolean, state?: Parameters) =>
    TrainStep.create({
      name: `train_sae_${cfg.architecture}${withDead ? '' : '_nodead'}`,
      params,
      inputs,
      loss: (p, x) => {
        const archParams: Record<string, Tensor> = {};
        for (const s of specs) archParams[s.name] = p[s.name];
        const deadMask = op.mask(op.greater(p[TOKENS_SINCE_FIRED], deadAfter), 'float32');
        const r = arch.loss(archParams, x.x, x.target ?? x.x, cfg, { sparsityCoefficient: x.coeff, deadMask: withDead ? deadMask : undefined, sums });
        firing = r.firing;
        return { loss: r.loss, metrics: { ...r.metrics, dead_fraction: op.reduceMean(deadMask, 0) } };
      },
      optimizer,
      trainable,
      clipNorm: opts.clipNorm ?? null,
      decay: (n, dims) => n !== TOKENS_SINCE_FIRED && dims.length >= 2,
      gradTransform: arch.gradTransform?.(cfg),
      postUpdate: {
        ...arch.postUpdate?.(cfg),
        [TOKENS_SINCE_FIRED]: (t) => op.where(op.greater(firing!, 0), 0, op.minimum(op.add(t, B), IDLE_CAP)),
      },
      session: opts.session,
      state,
    });
  const ts = await buildStep(true);
  const tsLive = await buildStep(false, ts.state);
  const anyDead = () => {
    const idle = params.get(TOKENS_SINCE_FIRED).data;
    for (let i = 0; i < idle.length; i++) if (idle[i] > deadAfter) return true;
    return false;
  };
  ts.stepCount = step;
  if (resumed) {
    for (const n of ts.state.names) {
      const v = resumed.optimizer[n];
      if (!v) throw new ProbityError('SAE_CHECKPOINT', `${opts.resumeFrom}: no optimizer state ${n}`);
      ts.state.set(n, v.data);
    }
  }

  const snapshot = (): Sae => {
    const p: Record<string, Float32Array> = {};
    for (const s of specs) p[s.name] = Float32Array.from(params.get(s.name).data);
    const unfolded = new Sae({ ...cfg, inputScale: sIn, outputScale: sOut }, p);
    unfolded.session = opts.session ?? {};
    return unfolded.foldScale();
  };
  const checkpoint = (path: string) => {
    const st: CheckpointState = { step, tokens, batchSize: B, rngState: rng.state, inputScale: sIn, outputScale: sOut, config: configJson, schedule };
    saveCheckpoint(path, st, params, ts.state);
  };

  const t0 = performance.now();
  const tokens0 = tokens;
  let xBuf: Float32Array | undefined;
  let tBuf: Float32Array | undefined;
  let last: StepResult | undefined;
  try {
    while (step < stopAt) {
      const r = await fetch(step);
      if (r.B !== B) throw new ProbityError('SAE_BATCH_SHAPE', `batch ${step} has ${r.B} rows; training batches must all have ${B}`);
      if (transcoder !== !!r.target && cfg.dOut === cfg.dIn) throw new ProbityError('SAE_BATCH_SHAPE', `batch ${step}: batches must all carry a target or none`);
      step++;
      const lrNow = learningRate(step, { lr, steps, warmupSteps: opts.warmupSteps, decayFraction: opts.decayFraction });
      const coeff = sparsityCoefficientAt(step, coefficient, sparsityWarm);
      xBuf = scaled(r.x, sIn, xBuf);
      const feeds: Record<string, NDArray> = { x: new NDArray(xBuf, [B, cfg.dIn]), coeff: NDArray.scalar(coeff) };
      if (transcoder) feeds.target = new NDArray((tBuf = scaled(r.target ?? r.x, sOut, tBuf)), [B, cfg.dOut]);
      const dead = anyDead();
      const active = dead ? ts : tsLive;
      active.stepCount = step - 1;
      last = await active.step(feeds, lrNow);
      ts.stepCount = tsLive.stepCount = step;
      tokens += B;
      if (arch.afterStep) {
        const rec: Record<string, Float32Array> = {};
        for (const s of specs) rec[s.name] = params.get(s.name).data;
        arch.afterStep(rec, last.metrics, step, cfg);
      }
      if (opts.onProgress && (step % (opts.progressEvery ?? 100) === 0 || step === stopAt)) {
        const secs = (performance.now() - t0) / 1000;
        opts.onProgress({
          step, steps, tokens, tokensPerSec: secs > 0 ? (tokens - tokens0) / secs : 0, lr: lrNow, sparsityCoefficient: coeff,
          loss: last.loss, gradNorm: last.gradNorm, metrics: last.metrics,
        });
      }
      if (opts.onEval && opts.evalEvery && (step % opts.evalEvery === 0 || step === stopAt)) await opts.onEval({ step, sae: snapshot() });
      if (opts.checkpoint && (step % opts.checkpoint.every === 0 || step === stopAt)) checkpoint(opts.checkpoint.path);
    }
  } finally {
    ts.release();
    tsLive.release();
  }
  return { sae: snapshot(), step, tokens, inputScale: sIn, outputScale: sOut, last };
}

/** Whether the next batch carries a target (looked at without consuming it). */
async function peekTarget(fetch: (i: number) => Promise<Rows>, pending: Map<number, Rows>, index: number): Promise<boolean> {
  const r = pending.get(index) ?? (await fetch(index));
  pending.set(index, r);
  return r.target !== undefined;
}
