// `probity sae eval`: an SAE (or any activation codec) measured on a model, beside the unsupervised baselines it must
// beat at equal sparsity. Reconstruction metrics come from src/dictionaries/metrics (formulas pinned there); the
// downstream scores splice the reconstruction into the forward pass at the hook:
//   CE-loss score = (CE_zero_ablation - CE_spliced) / (CE_zero_ablation - CE_clean)
//   KL score      = (KL_zero - KL_spliced) / KL_zero, KL = mean over tokens of KL(p_clean || p_spliced)
// Data: fixed-length windows of a token stream, so every batch has one shape (one compiled graph). Position 0 of a
// window is left alone everywhere (no splice, no ablation, not scored): it is an attention sink with outlier norms,
// and SAEs are trained without it.
import { NDArray } from '../engine/ndarray.js';
import type { Model } from '../models/model.js';
import type { Intervention, InterventionMap } from '../models/hooks/interventions.js';
import { ProbityError } from '../errors.js';
import * as op from '../engine/ops/index.js';
import type { Sae } from './sae.js';
import {
  CodecStats, CrossEntropyStats, KLStats, ceLossScore, klScore, fitPca, fitKMeans, KMeansCodec, fitRandomDictionary, evaluateCodec,
  type Codec,
} from './metrics/index.js';

export interface WindowSource {
  description: Record<string, unknown>;
  /** Next window of exactly `length` token ids, or null when exhausted. */
  next(length: number): number[] | null;
}

/** Windows cut from a stream of token rows (documents concatenated). */
export function windowsFrom(rows: Iterable<ArrayLike<number>>, description: Record<string, unknown>): WindowSource {
  const it = rows[Symbol.iterator]();
  let buf: number[] = [];
  return {
    description,
    next(length) {
      while (buf.length < length) {
        const r = it.next();
        if (r.done) return null;
        for (let i = 0; i < r.value.length; i++) buf.push(r.value[i]);
      }
      const w = buf.slice(0, length);
      buf = buf.slice(length);
      return w;
    },
  };
}

export interface EvalOptions {
  /** Tokens to score (windows x (length - 1)). */
  tokens: number;
  window?: number;
  batchRows?: number;
  /** Also fit and score PCA / k-means / random-dictionary baselines on activations from `fitRows`. */
  baselines?: { fitTokens: number; evalTokens: number; kmeansClusters?: number; seed?: number };
  onProgress?: (done: number, total: number) => void;
}

export interface DownstreamMetrics {
  ce_clean: number;
  ce_spliced: number;
  ce_zero_ablation: number;
  ce_loss_score: number;
  kl_spliced: number;
  kl_zero_ablation: number;
  kl_score: number;
}

function positionsFrom1(T: number): number[] {
  return Array.from({ length: T - 1 }, (_, i) => i + 1);
}

/** A `graph` splice restricted to positions >= 1 (blend with a fed [1, T, 1] mask). */
function maskedGraphSplice(iv: Intervention, T: number): Intervention {
  if (iv.kind !== 'graph') throw new ProbityError('INTERNAL', 'maskedGraphSplice expects a graph intervention');
  const mask = NDArray.f32(Array.from({ length: T }, (_, i) => (i === 0 ? 0 : 1)), [1, T, 1]);
  return {
    kind: 'graph',
    key: `${iv.key}:from1:${T}`,
    build: (x, input) => {
      const r = iv.build(x, input);
      // The mask is fed with concrete dims; reshaping to x's symbolic T keeps one graph for every window length.
      const m = op.reshape(input('from1', mask), [1, x.shape[1], 1]);
      return op.add(x, op.mul(op.sub(r, x), m));
    },
  };
}

/** A JS codec spliced with an `fn` intervention at positions >= 1. */
function codecSplice(codec: Codec): Intervention {
  return {
    kind: 'fn',
    fn: (x) => {
      const [B, T, D] = x.dims;
      const out = Float32Array.from(x.data as Float32Array);
      for (let b = 0; b < B; b++) {
        const rows = out.subarray((b * T + 1) * D, (b + 1) * T * D);
        const rec = codec.decode(codec.encode(rows, T - 1));
        rows.set(rec);
      }
      return new NDArray(out, x.dims);
    },
  };
}

async function downstream(model: Model, hook: string, windows: number[][], spliced: (T: number) => InterventionMap, ce: { clean: CrossEntropyStats; spliced: CrossEntropyStats; zero: CrossEntropyStats }, kl: { spliced: KLStats; zero: KLStats }, acts?: Float32Array[]) {
  const T = windows[0].length;
  const V = model.spec.vocab;
  const clean = await model.forward(windows, { cache: acts ? [hook] : [], logits: 'all' });
  const sp = await model.forward(windows, { interventions: spliced(T), logits: 'all' });
  const zero = await model.forward(windows, { interventions: { [hook]: [{ kind: 'zero', positions: positionsFrom1(T) }] }, logits: 'all' });
  // Score positions 1 .. T-2 (each predicts the next token inside the window).
  const B = windows.length;
  const n = B * (T - 2);
  const pick = (l: Float32Array) => {
    const out = new Float32Array(n * V);
    for (let b = 0; b < B; b++) out.set(l.subarray((b * T + 1) * V, (b * T + T - 1) * V), b * (T - 2) * V);
    return out;
  };
  const targets = new Int32Array(n);
  for (let b = 0; b < B; b++) for (let t = 1; t < T - 1; t++) targets[b * (T - 2) + t - 1] = windows[b][t + 1];
  const lc = pick(clean.logits!.data);
  const ls = pick(sp.logits!.data);
  const lz = pick(zero.logits!.data);
  ce.clean.add(lc, targets, n);
  ce.spliced.add(ls, targets, n);
  ce.zero.add(lz, targets, n);
  kl.spliced.add(lc, ls, n);
  kl.zero.add(lc, lz, n);
  if (acts) {
    const a = clean.cache[hook].data as Float32Array;
    const d = a.length / (B * T);
    for (let b = 0; b < B; b++) acts.push(a.slice((b * T + 1) * d, (b + 1) * T * d));
  }
}

function summarise(ce: { clean: CrossEntropyStats; spliced: CrossEntropyStats; zero: CrossEntropyStats }, kl: { spliced: KLStats; zero: KLStats }): DownstreamMetrics {
  const c = { clean: ce.clean.mean(), spliced: ce.spliced.mean(), zero: ce.zero.mean() };
  return {
    ce_clean: c.clean,
    ce_spliced: c.spliced,
    ce_zero_ablation: c.zero,
    ce_loss_score: ceLossScore(c.clean, c.spliced, c.zero),
    kl_spliced: kl.spliced.mean(),
    kl_zero_ablation: kl.zero.mean(),
    kl_score: klScore(kl.spliced.mean(), kl.zero.mean()),
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function nextWindows(src: WindowSource, rows: number, length: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const w = src.next(length);
    if (!w) break;
    out.push(w);
  }
  return out;
}

export interface SaeEvalResult {
  metrics: Record<string, number>;
  density_histogram: ReturnType<CodecStats['densityHistogram']>;
  baselines?: Record<string, Record<string, number>>;
  data: Record<string, unknown>;
}

/** Evaluate `sae` at its hook on `model` over windows from `evalSrc`; baselines are fitted on `fitSrc`. */
export async function evaluateSae(model: Model, sae: Sae, evalSrc: WindowSource, opts: EvalOptions, fitSrc?: WindowSource): Promise<SaeEvalResult> {
  const hook = sae.cfg.hookName;
  if (sae.isTranscoder) throw new ProbityError('SAE_EVAL', 'transcoder evaluation is not supported by `sae eval` yet (reconstruction metrics: use Sae.evaluate with targets)');
  const T = opts.window ?? 128;
  const B = opts.batchRows ?? 8;
  const d = sae.dIn;
  const ce = { clean: new CrossEntropyStats(model.spec.vocab), spliced: new CrossEntropyStats(model.spec.vocab), zero: new CrossEntropyStats(model.spec.vocab) };
  const kl = { spliced: new KLStats(model.spec.vocab), zero: new KLStats(model.spec.vocab) };
  const acts: Float32Array[] = [];
  const splice = sae.spliceIntervention();
  let scored = 0;
  const used: number[][][] = []; // batches, reused for the baselines so every method is scored on the same windows
  while (scored < opts.tokens) {
    const windows = nextWindows(evalSrc, B, T);
    if (windows.length === 0) break;
    used.push(windows);
    await downstream(model, hook, windows, (t) => ({ [hook]: [maskedGraphSplice(splice, t)] }), ce, kl, acts);
    scored += windows.length * (T - 1);
    opts.onProgress?.(Math.min(scored, opts.tokens), opts.tokens);
  }
  if (scored === 0) throw new ProbityError('SAE_EVAL', 'no evaluation windows: the token source is empty or shorter than one window');
  const x = concat(acts);
  const n = x.length / d;
  const stats = await sae.evaluate(x, n);
  const metrics = { ...stats.metrics(), ...summarise(ce, kl) } as unknown as Record<string, number>;
  const result: SaeEvalResult = {
    metrics,
    density_histogram: stats.densityHistogram(),
    data: { source: evalSrc.description, window: T, tokens: n, model: model.source, hook, positions: 'window positions >= 1' },
  };

  if (opts.baselines && fitSrc) {
    const b = opts.baselines;
    const fitActs: Float32Array[] = [];
    let fitted = 0;
    while (fitted < b.fitTokens) {
      const windows = nextWindows(fitSrc, B, T);
      if (windows.length === 0) break;
      const r = await model.forward(windows, { cache: [hook], logits: 'none' });
      const a = r.cache[hook].data as Float32Array;
      for (let i = 0; i < windows.length; i++) fitActs.push(a.slice((i * T + 1) * d, (i + 1) * T * d));
      fitted += windows.length * (T - 1);
    }
    const fx = concat(fitActs);
    const fn = fx.length / d;
    const k = Math.max(1, Math.round(metrics.l0));
    const seed = b.seed ?? 0;
    const codecs: Record<string, Codec> = {
      [`pca_top${k}`]: fitPca(fx, fn, d, { k }),
      kmeans: new KMeansCodec(fitKMeans(fx, fn, d, { nClusters: b.kmeansClusters ?? 256, seed, maxIterations: 15 }).centroids, d, 1),
      [`random_top${k}`]: fitRandomDictionary(fx, fn, d, { dSae: sae.dSae, k, seed }),
    };
    result.baselines = {};
    const nEval = Math.min(n, b.evalTokens);
    for (const [name, codec] of Object.entries(codecs)) {
      const cs = evaluateCodec(codec, x.subarray(0, nEval * d), nEval);
      // Downstream scores on the SAE's first windows (paired), spliced with the codec in TypeScript.
      const ce2 = { clean: new CrossEntropyStats(model.spec.vocab), spliced: new CrossEntropyStats(model.spec.vocab), zero: new CrossEntropyStats(model.spec.vocab) };
      const kl2 = { spliced: new KLStats(model.spec.vocab), zero: new KLStats(model.spec.vocab) };
      let done = 0;
      for (const windows of used) {
        if (done >= b.evalTokens) break;
        await downstream(model, hook, windows, () => ({ [hook]: [codecSplice(codec)] }), ce2, kl2);
        done += windows.length * (T - 1);
      }
      result.baselines[name] = { ...cs.metrics(), ...summarise(ce2, kl2) } as unknown as Record<string, number>;
    }
    // The SAE on the same footing (same downstream windows count) is `metrics`; note the fit data.
    result.data.baselines = { fit_tokens: fn, eval_tokens: nEval, k, kmeans_clusters: b.kmeansClusters ?? 256, seed };
  }
  return result;
}
