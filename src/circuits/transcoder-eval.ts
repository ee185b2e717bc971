// A transcoder set measured on its model, on held-out windows (documents reserved for evaluation, checked against
// each layer's training range):
//   reconstruction, per layer: the transcoder's prediction of blocks.L.hook_mlp_out from the clean
//     blocks.L.ln2.hook_normalized, scored by src/dictionaries/metrics' CodecStats (FVE around the mean, MSE per
//     token, L0, dead fraction = latents that never fire on these tokens);
//   next-token CE, every variant on the same windows and positions (paired): clean; each layer's MLP output replaced
//     by its transcoder alone, and that layer's MLP output zero-ablated alone; ALL MLP outputs replaced at once (each
//     transcoder reads the ln2 output of the already-replaced model below it: the replacement model); all MLP outputs
//     zero-ablated at once. CE score = (CE_zero - CE_spliced) / (CE_zero - CE_clean), per layer against its own zero
//     ablation, all-replaced against the all-zero one.
// Positions as `probity sae eval` (src/dictionaries/eval.ts): windows of whole documents; position 0 and <bos> are
// never replaced or zeroed and are not in the reconstruction metrics; a position is scored when its next token is in
// the window and is not <bos> (no cross-document predictions). Intervals: 95% percentile cluster bootstrap over
// windows (no document spans two windows), one per statistic, each computed from per-window sums the way the point
// estimate is.
import { NDArray } from '../engine/ndarray.js';
import { ProbityError } from '../errors.js';
import type { Model } from '../models/model.js';
import type { InterventionMap } from '../models/hooks/interventions.js';
import { checkDisjoint, codecMask, maskedGraph, maskedZero, prepareEvalData, scoredMask, type DocumentRange, type Window, type WindowSource } from '../dictionaries/eval.js';
import { CodecStats, ceLossScore, logSoftmaxRow } from '../dictionaries/metrics/index.js';
import { clusterBootstrap } from '../stats/cluster.js';
import type { Sae } from '../dictionaries/sae.js';
import type { TranscoderLayer } from './transcoders.js';

export interface EvalTranscodersOptions {
  windows: WindowSource;
  /** Reconstruction positions to draw windows for. */
  tokens: number;
  /** Window length (default 128, at most the model's context). */
  window?: number;
  batchRows?: number;
  /** Training document ranges the eval windows must not overlap (each layer's `train_documents`). */
  trainDocuments?: { layer: number; range: DocumentRange }[];
  bootstrapIterations?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

export interface LayerEval {
  layer: number;
  hook_in: string;
  hook_out: string;
  fve: number;
  fve_ci: Interval;
  mse_per_token: number;
  cosine: number;
  l0: number;
  dead_fraction: number;
  n_tokens: number;
  ce_spliced: number;
  ce_zero_ablation: number;
  ce_loss_score: number;
  ce_loss_score_ci: Interval;
}

export interface TranscoderEvalResult {
  ce: { clean: number; zero_all: number; spliced_all: number; score_all: number; score_all_ci: Interval; n_scored: number };
  layers: LayerEval[];
  data: Record<string, unknown>;
  bootstrap: Record<string, unknown>;
}

/** A transcoder's splice (input hook recorded, output hook replaced) with the replacement at the codec positions only. */
export function maskedTranscoderSplice(sae: Sae, mask: NDArray): InterventionMap {
  const map = sae.spliceInterventions();
  const outHook = sae.cfg.outHookName!;
  map[outHook] = map[outHook].map((iv) => (iv.kind === 'graph' ? maskedGraph(iv.key, mask, iv.build) : iv));
  return map;
}

/** Several intervention maps as one (interventions at a shared hook applied in the order given). */
export function mergeInterventions(maps: readonly InterventionMap[]): InterventionMap {
  const out: InterventionMap = {};
  for (const m of maps) for (const [hook, list] of Object.entries(m)) (out[hook] ??= []).push(...list);
  return out;
}

/** Per-window sums of one layer's target y (shifted by `ref`) and error e = y - yhat, for bootstrap FVEs. */
class FveSums {
  readonly y: Float64Array;
  readonly yy: Float64Array;
  readonly e: Float64Array;
  readonly ee: Float64Array;
  readonly n: Float64Array;
  ref: Float64Array | null = null;

  constructor(
    readonly C: number,
    readonly d: number,
  ) {
    this.y = new Float64Array(C * d);
    this.e = new Float64Array(C * d);
    this.yy = new Float64Array(C);
    this.ee = new Float64Array(C);
    this.n = new Float64Array(C);
  }

  add(y: Float32Array, yhat: Float32Array, cluster: Int32Array): void {
    const d = this.d;
    const n = cluster.length;
    if (!this.ref) {
      // Variance is shift invariant; the first batch's mean keeps the float64 sums of squares precise.
      this.ref = new Float64Array(d);
      for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) this.ref[j] += y[t * d + j] / n;
    }
    for (let t = 0; t < n; t++) {
      const c = cluster[t];
      let qy = 0;
      let qe = 0;
      for (let j = 0; j < d; j++) {
        const v = y[t * d + j] - this.ref[j];
        const ev = y[t * d + j] - yhat[t * d + j];
        this.y[c * d + j] += v;
        this.e[c * d + j] += ev;
        qy += v * v;
        qe += ev * ev;
      }
      this.yy[c] += qy;
      this.ee[c] += qe;
      this.n[c]++;
    }
  }

  /** FVE of the drawn windows: 1 - sum_j Var(e_j) / sum_j Var(y_j). */
  fve(draw: Int32Array): number {
    const d = this.d;
    const sy = new Float64Array(d);
    const se = new Float64Array(d);
    let n = 0;
    let vy = 0;
    let ve = 0;
    for (const c of draw) {
      n += this.n[c];
      vy += this.yy[c];
      ve += this.ee[c];
      for (let j = 0; j < d; j++) {
        sy[j] += this.y[c * d + j];
        se[j] += this.e[c * d + j];
      }
    }
    for (let j = 0; j < d; j++) {
      vy -= (sy[j] * sy[j]) / n;
      ve -= (se[j] * se[j]) / n;
    }
    return 1 - ve / vy;
  }
}

/** Rows of acts [B*T, d] where flat[i] is 1, in order. */
function rowsAt(acts: Float32Array, flat: Float32Array, d: number, n: number): Float32Array {
  const out = new Float32Array(n * d);
  let o = 0;
  for (let i = 0; i < flat.length; i++) if (flat[i]) out.set(acts.subarray(i * d, (i + 1) * d), d * o++);
  return out;
}

/** Evaluate a transcoder set (any subset of layers) on `model`. */
export async function evalTranscoders(model: Model, set: readonly TranscoderLayer[], o: EvalTranscodersOptions): Promise<TranscoderEvalResult> {
  if (set.length === 0) throw new ProbityError('TRANSCODER_SET', 'evalTranscoders: no transcoders');
  const window = Math.min(o.window ?? 128, model.spec.nCtx);
  const data = await prepareEvalData(model, set[0].sae.cfg.hookName, o.windows, { tokens: o.tokens, window, batchRows: o.batchRows });
  if (data.codecPositions < o.tokens) {
    throw new ProbityError('TRANSCODER_DATA', `the documents reserved for evaluation hold only ${data.codecPositions} positions; ${o.tokens} were asked for (ask for fewer tokens, or train with more evaluation documents)`);
  }
  for (const t of o.trainDocuments ?? []) {
    try {
      checkDisjoint(data.evalDocuments, t.range);
    } catch (e) {
      if (!(e instanceof ProbityError)) throw e;
      throw new ProbityError('TRANSCODER_DATA', `layer ${t.layer}: training documents [${t.range.first}, ${t.range.end}) of ${JSON.stringify(t.range.source)} vs evaluation documents [${data.evalDocuments.first}, ${data.evalDocuments.end}) of ${JSON.stringify(data.evalDocuments.source)}: ${e.message}`);
    }
  }
  const { bos, nClusters: C } = data;
  const V = model.spec.vocab;
  const d = model.spec.dModel;
  const ins = set.map((l) => l.sae.cfg.hookName);
  const outs = set.map((l) => l.sae.cfg.outHookName!);
  const stats = set.map((l) => new CodecStats(l.sae.dOut, l.sae.dSae));
  const fveSums = set.map(() => new FveSums(C, d));
  const variants = ['clean', 'zero_all', 'spliced_all', ...set.flatMap((l) => [`zero_${l.layer}`, `spliced_${l.layer}`])];
  const ce = new Map(variants.map((v) => [v, new Float64Array(C)]));
  let nScored = 0;
  let winIndex = 0;
  let done = 0;
  const lsm = new Float64Array(V);
  for (const windows of data.batches) {
    const B = windows.length;
    const T = windows[0].tokens.length;
    const toks = windows.map((w: Window) => w.tokens);
    const flat = new Float32Array(B * T);
    windows.forEach((w, b) => flat.set(codecMask(w.tokens, bos), b * T));
    const mask = NDArray.f32(flat, [B, T, 1]);
    const n = flat.reduce((a, v) => a + v, 0);
    const rowCluster = new Int32Array(n);
    const scored: { row: number; target: number; cluster: number }[] = [];
    {
      let r = 0;
      windows.forEach((w, b) => {
        const c = data.clusterOf[winIndex + b];
        const cm = codecMask(w.tokens, bos);
        const sm = scoredMask(w.tokens, bos);
        for (let t = 0; t < T; t++) {
          if (cm[t]) rowCluster[r++] = c;
          if (sm[t]) scored.push({ row: b * T + t, target: w.tokens[t + 1], cluster: c });
        }
      });
    }
    const addCe = (variant: string, logits: Float32Array) => {
      const sums = ce.get(variant)!;
      for (const s of scored) {
        logSoftmaxRow(logits, s.row, V, lsm);
        sums[s.cluster] -= lsm[s.target];
      }
    };
    const clean = await model.forward(toks, { cache: [...ins, ...outs], logits: 'all' });
    addCe('clean', clean.logits!.data);
    for (let i = 0; i < set.length; i++) {
      const x = rowsAt(clean.cache[ins[i]].data as Float32Array, flat, d, n);
      const y = rowsAt(clean.cache[outs[i]].data as Float32Array, flat, d, n);
      const code = await set[i].sae.encode(x, n);
      const yhat = await set[i].sae.decode(code);
      stats[i].add(y, yhat, code);
      fveSums[i].add(y, yhat, rowCluster);
    }
    const zeros = outs.map((h) => ({ [h]: [maskedZero(mask)] }));
    const splices = set.map((l) => maskedTranscoderSplice(l.sae, mask));
    const runs: [string, InterventionMap][] = [
      ['zero_all', mergeInterventions(zeros)],
      ['spliced_all', mergeInterventions(splices)],
      ...set.flatMap((l, i): [string, InterventionMap][] => [[`zero_${l.layer}`, zeros[i]], [`spliced_${l.layer}`, splices[i]]]),
    ];
    for (const [variant, interventions] of runs) addCe(variant, (await model.forward(toks, { interventions, logits: 'all' })).logits!.data);
    nScored += scored.length;
    winIndex += B;
    done += n;
    o.onProgress?.(Math.min(done, data.codecPositions), data.codecPositions);
  }

  const total = (v: string, draw?: Int32Array) => {
    const s = ce.get(v)!;
    let t = 0;
    if (draw) for (const c of draw) t += s[c];
    else for (const x of s) t += x;
    return t;
  };
  const iterations = o.bootstrapIterations ?? 2000;
  const seed = o.seed ?? 1;
  const interval = (f: (draw: Int32Array) => number): Interval => {
    const r = clusterBootstrap([C], (dr) => f(dr[0]), { iterations, seed });
    return { estimate: r.estimate, lo: r.lo, hi: r.hi };
  };
  // Sums over drawn windows: the score of a draw weights windows by their scored positions, as the estimate does.
  const score = (spliced: string, zero: string) => (draw: Int32Array) => ceLossScore(total('clean', draw), total(spliced, draw), total(zero, draw));
  const mean = (v: string) => total(v) / nScored;
  const layers: LayerEval[] = set.map((l, i) => {
    const m = stats[i].metrics();
    return {
      layer: l.layer, hook_in: ins[i], hook_out: outs[i],
      fve: m.fve, fve_ci: interval((dr) => fveSums[i].fve(dr)),
      mse_per_token: m.mse_per_token, cosine: m.cosine, l0: m.l0, dead_fraction: m.dead_fraction, n_tokens: m.n_tokens,
      ce_spliced: mean(`spliced_${l.layer}`), ce_zero_ablation: mean(`zero_${l.layer}`),
      ce_loss_score: ceLossScore(mean('clean'), mean(`spliced_${l.layer}`), mean(`zero_${l.layer}`)),
      ce_loss_score_ci: interval(score(`spliced_${l.layer}`, `zero_${l.layer}`)),
    };
  });
  return {
    ce: {
      clean: mean('clean'), zero_all: mean('zero_all'), spliced_all: mean('spliced_all'),
      score_all: ceLossScore(mean('clean'), mean('spliced_all'), mean('zero_all')), score_all_ci: interval(score('spliced_all', 'zero_all')),
      n_scored: nScored,
    },
    layers,
    data: {
      window: data.window, tokens: data.codecPositions, scored_positions: data.scoredPositions, windows: data.clusterOf.length, clusters: C, bos,
      eval_documents: { ...data.evalDocuments, documents: data.evalDocuments.end - data.evalDocuments.first },
      train_documents_checked: (o.trainDocuments ?? []).map((t) => ({ layer: t.layer, first: t.range.first, end: t.range.end })),
      positions: 'replaced, zero-ablated and in the reconstruction metrics: every window position except 0 and <bos>; scored in CE: those whose next token is in the window and is not <bos>',
    },
    bootstrap: { unit: 'eval window (whole documents, none spans two windows)', iterations, seed, interval: '95% percentile' },
  };
}
