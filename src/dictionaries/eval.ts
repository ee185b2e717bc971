// `probity sae eval`: an SAE (or any activation codec) measured on a model, beside unsupervised baselines at the
// SAE's L0. Reconstruction metrics come from src/dictionaries/metrics (formulas pinned there); the downstream scores
// splice the reconstruction into the forward pass at the hook:
//   CE-loss score = (CE_zero_ablation - CE_spliced) / (CE_zero_ablation - CE_clean)
//   KL score      = (KL_zero - KL_spliced) / KL_zero, KL = mean over tokens of KL(p_clean || p_spliced)
//
// Protocol (what makes the comparison fair; each point is tested):
// - Data: fixed-length windows of whole documents (one graph shape): each window starts at a document, documents are
//   concatenated until the window is full, and the rest of the last one is dropped. One source is split by document:
//   the evaluation windows come first, then the stream is cut at a document boundary and the baselines' fit windows
//   come from the documents after it. Fit and eval documents are therefore disjoint by construction, and both ranges
//   are recorded (`data.eval_documents`, `data.fit_documents`); evaluateSae checks the ranges before fitting.
// - Positions: a window position is a *codec position* (spliced, zero-ablated, in the reconstruction metrics) unless
//   it is position 0 of the window (the attention sink) or a <bos> token. This matches the harvest that trains SAEs
//   (store/harvest.ts, skipBos): each document is its own row there and its <bos> (row position 0) is never stored,
//   so an SAE never sees a <bos> activation. A position is *scored* in CE / KL when it is a codec position and its
//   next token is in the window and is not <bos>: in the harvest's one-document rows no position ever predicts a
//   <bos>, so the scored (input, target) pairs are exactly the within-document ones.
// - Every codec (the SAE and each baseline) is scored on the same windows and positions: one clean run and one zero
//   ablation per batch, shared by all codecs (one `ce_clean`, one `n_tokens`), so differences are paired.
// - Baselines: PCA (top-L0 components), k-means by matching pursuit at the SAE's L0 and at L0 = 1, and a random
//   dictionary of the SAE's width at the SAE's L0. The SAE's L0 that sets theirs is measured on the fit windows (no
//   evaluation data chooses anything); every baseline's measured L0 on the eval windows is reported beside it.
// - Paired comparison: each baseline minus the SAE on CE-loss score, KL score and FVE, with a 95% percentile cluster
//   bootstrap over evaluation windows (no document spans two windows; windows sharing one would be one cluster).
import { NDArray } from '../engine/ndarray.js';
import type { Tensor } from '../engine/graph/graph.js';
import type { Model } from '../models/model.js';
import type { Intervention } from '../models/hooks/interventions.js';
import { ProbityError } from '../errors.js';
import * as op from '../engine/ops/index.js';
import type { Sae } from './sae.js';
import {
  CodecStats, ceLossScore, klScore, logSoftmaxRow, fitPca, fitKMeans, KMeansCodec, fitRandomDictionary, PcaCodec,
  type Codec, type SparseCode,
} from './metrics/index.js';
import { clusterBootstrap } from '../stats/cluster.js';
import { displayModel } from '../util/paths.js';

/** One window of token ids and the documents it was cut from (indices in the source's document order). */
export interface Window {
  tokens: number[];
  /** Index of the document of the first / last token. */
  firstDoc: number;
  lastDoc: number;
}

export interface WindowSource {
  description: Record<string, unknown>;
  /** Next window of exactly `length` token ids, or null when exhausted. */
  next(length: number): Window | null;
  /**
   * Drop what is left of the current document so the next window starts at a document boundary. Returns the index
   * of the next document: every window handed out so far comes from documents below it, every later one from
   * documents at or above it.
   */
  cut(): number;
}

/** Windows cut from a stream of token rows (documents concatenated, row i is document i). */
export function windowsFrom(rows: Iterable<ArrayLike<number>>, description: Record<string, unknown>): WindowSource {
  const it = rows[Symbol.iterator]();
  let buf: number[] = [];
  let docOf: number[] = [];
  let pulled = 0; // rows read from the iterator
  return {
    description,
    next(length) {
      while (buf.length < length) {
        const r = it.next();
        if (r.done) return null;
        for (let i = 0; i < r.value.length; i++) {
          buf.push(r.value[i]);
          docOf.push(pulled);
        }
        pulled++;
      }
      const w = { tokens: buf.slice(0, length), firstDoc: docOf[0], lastDoc: docOf[length - 1] };
      buf = buf.slice(length);
      docOf = docOf.slice(length);
      return w;
    },
    cut() {
      buf = [];
      docOf = [];
      return pulled;
    },
  };
}

/** Document range [first, end) of one part of a source. */
export interface DocumentRange {
  source: Record<string, unknown>;
  first: number;
  end: number;
}

/**
 * Codec positions of a window (1 = spliced, ablated, in the reconstruction metrics): every position except 0 and
 * the <bos> tokens. `bos` null: only position 0 is excluded.
 */
export function codecMask(tokens: readonly number[], bos: number | null): Uint8Array {
  return Uint8Array.from(tokens, (t, i) => (i > 0 && t !== bos ? 1 : 0));
}

/** Scored positions (CE / KL): codec positions whose next token is inside the window and is not <bos>. */
export function scoredMask(tokens: readonly number[], bos: number | null): Uint8Array {
  const m = codecMask(tokens, bos);
  return Uint8Array.from(m, (v, i) => (v && i + 1 < tokens.length && tokens[i + 1] !== bos ? 1 : 0));
}

/** [B, T, 1] float mask of the codec positions of a batch. */
function batchMask(windows: readonly Window[], bos: number | null): NDArray {
  const T = windows[0].tokens.length;
  const m = new Float32Array(windows.length * T);
  windows.forEach((w, b) => m.set(codecMask(w.tokens, bos), b * T));
  return NDArray.f32(m, [windows.length, T, 1]);
}

/** Blend a graph intervention's output into x at the masked positions only: x + (r - x) * m (x itself elsewhere, bit for bit). */
export function maskedGraph(key: string, mask: NDArray, build: (x: Tensor, input: (name: string, value: NDArray) => Tensor) => Tensor): Intervention {
  return {
    kind: 'graph',
    key: `${key}:masked`,
    build: (x, input) => {
      const r = build(x, input);
      // Fed with concrete dims; reshaped like x[..., :1] (x's symbolic batch and time dims) so the graph serves every batch.
      if (x.rank !== 3) throw new ProbityError('SAE_EVAL', `codec splices expect a [B, T, D] hook, got rank ${x.rank}`);
      const m = op.reshapeLike(input('codec_mask', mask), op.slice(x, [0], [1], [2]));
      return op.add(x, op.mul(op.sub(r, x), m));
    },
  };
}

/** The SAE's own graph splice, restricted to the codec positions. */
export function maskedSaeSplice(sae: Sae, mask: NDArray): Intervention {
  const iv = sae.spliceIntervention();
  if (iv.kind !== 'graph') throw new ProbityError('INTERNAL', 'an SAE splice is expected to be a graph intervention');
  return maskedGraph(iv.key, mask, iv.build);
}

/** Zero ablation at the codec positions. */
export function maskedZero(mask: NDArray): Intervention {
  return maskedGraph('zero', mask, (x) => op.zerosLike(x));
}

/** A reconstruction computed on the host ([B, T, D], any values at non-codec positions) spliced at the codec positions. */
function hostReconstructionSplice(xhat: NDArray, mask: NDArray): Intervention {
  return maskedGraph('host-xhat', mask, (x, input) => op.reshapeLike(input('xhat', xhat), x));
}

/** What can be scored: the SAE (graph splice, graph encode/decode) or a host TypeScript codec. */
export type CodecEntry =
  | { name: string; kind: 'sae'; sae: Sae; info?: Record<string, unknown> }
  | { name: string; kind: 'codec'; codec: Codec; info?: Record<string, unknown> };

/** Eval windows (in batches) and, when asked, the fit activations: the data every codec is scored on. */
export interface EvalData {
  hook: string;
  window: number;
  bos: number | null;
  batches: Window[][];
  /** Cluster index of every eval window in order (windows sharing a document share a cluster). */
  clusterOf: number[];
  nClusters: number;
  evalDocuments: DocumentRange;
  fitDocuments: DocumentRange | null;
  /** Activations at the fit windows' codec positions [nFit, d]. */
  fitActs: Float32Array | null;
  nFit: number;
  /** Codec positions (reconstruction tokens) and scored positions (CE / KL) of the eval windows. */
  codecPositions: number;
  scoredPositions: number;
}

function codecCount(w: Window, bos: number | null): number {
  let n = 0;
  for (const v of codecMask(w.tokens, bos)) n += v;
  return n;
}

/**
 * Draws eval windows until `tokens` codec positions, cuts the source at a document boundary, then (fitTokens > 0)
 * draws fit windows from the documents after the cut and runs the model on them for the fit activations.
 */
export async function prepareEvalData(model: Model, hook: string, src: WindowSource, o: { tokens: number; fitTokens?: number; window?: number; batchRows?: number; bos?: number | null }): Promise<EvalData> {
  const T = o.window ?? 128;
  const B = o.batchRows ?? 8;
  const bos = o.bos === undefined ? model.tokenizer.bos : o.bos;
  const batches: Window[][] = [];
  let codecPositions = 0;
  let scoredPositions = 0;
  src.cut();
  let cur: Window[] = [];
  while (codecPositions < o.tokens) {
    const w = src.next(T);
    if (!w) break;
    // Every window starts at a document: the rest of a document cut by the window's end is dropped, so no document
    // spans two windows and windows are independent units for the bootstrap.
    src.cut();
    cur.push(w);
    codecPositions += codecCount(w, bos);
    for (const v of scoredMask(w.tokens, bos)) scoredPositions += v;
    if (cur.length === B) {
      batches.push(cur);
      cur = [];
    }
  }
  if (cur.length) batches.push(cur);
  if (codecPositions === 0) throw new ProbityError('SAE_EVAL', 'no evaluation windows: the token source is empty or shorter than one window');
  const evalEnd = src.cut();
  const evalDocuments = spanned(src.description, batches.flat());
  const clusterOf: number[] = [];
  let prev: Window | null = null;
  let c = -1;
  for (const w of batches.flat()) {
    if (!prev || prev.lastDoc !== w.firstDoc) c++;
    clusterOf.push(c);
    prev = w;
  }
  const data: EvalData = {
    hook, window: T, bos, batches, clusterOf, nClusters: c + 1, evalDocuments, fitDocuments: null, fitActs: null, nFit: 0, codecPositions, scoredPositions,
  };
  if (o.fitTokens && o.fitTokens > 0) {
    const fitWindows: Window[] = [];
    let n = 0;
    while (n < o.fitTokens) {
      const w = src.next(T);
      if (!w) break;
      src.cut();
      fitWindows.push(w);
      n += codecCount(w, bos);
    }
    src.cut();
    if (fitWindows.length === 0) throw new ProbityError('SAE_EVAL', 'no fit windows after the evaluation documents: the token source is too short for the baselines');
    // The ranges are read off the windows themselves (not the cut points), so this checks the data actually used.
    data.fitDocuments = spanned(src.description, fitWindows);
    checkDisjoint(data.evalDocuments, data.fitDocuments);
    const parts: Float32Array[] = [];
    for (let i = 0; i < fitWindows.length; i += B) {
      const ws = fitWindows.slice(i, i + B);
      const r = await model.forward(ws.map((w) => w.tokens), { cache: [hook], logits: 'none' });
      parts.push(gatherRows(r.cache[hook].data as Float32Array, ws, bos));
    }
    data.fitActs = concat(parts);
    data.nFit = n;
  }
  return data;
}

/** Documents [first, end) that the windows were cut from. */
function spanned(source: Record<string, unknown>, windows: readonly Window[]): DocumentRange {
  return { source, first: Math.min(...windows.map((w) => w.firstDoc)), end: Math.max(...windows.map((w) => w.lastDoc)) + 1 };
}

/** Fit and eval document ranges of one source must not overlap. */
export function checkDisjoint(evalDocs: DocumentRange, fitDocs: DocumentRange): void {
  if (JSON.stringify(evalDocs.source) !== JSON.stringify(fitDocs.source)) {
    throw new ProbityError('SAE_EVAL', 'fit and eval windows must come from one source split by document, so that their disjointness can be checked');
  }
  if (!(fitDocs.first >= evalDocs.end || fitDocs.end <= evalDocs.first)) {
    throw new ProbityError('SAE_EVAL', `baseline fit documents [${fitDocs.first}, ${fitDocs.end}) overlap the evaluation documents [${evalDocs.first}, ${evalDocs.end})`);
  }
}

/** Rows of acts [B, T, d] at the codec positions of each window, in order. */
function gatherRows(acts: Float32Array, windows: readonly Window[], bos: number | null): Float32Array {
  const T = windows[0].tokens.length;
  const d = acts.length / (windows.length * T);
  const n = windows.reduce((a, w) => a + codecCount(w, bos), 0);
  const out = new Float32Array(n * d);
  let o = 0;
  windows.forEach((w, b) => {
    const m = codecMask(w.tokens, bos);
    for (let t = 0; t < T; t++) {
      if (!m[t]) continue;
      out.set(acts.subarray((b * T + t) * d, (b * T + t + 1) * d), o * d);
      o++;
    }
  });
  return out;
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

export interface DownstreamMetrics {
  ce_clean: number;
  ce_spliced: number;
  ce_zero_ablation: number;
  ce_loss_score: number;
  kl_spliced: number;
  kl_zero_ablation: number;
  kl_score: number;
  /** Positions scored in CE / KL (the same for every codec of one evaluation). */
  n_scored: number;
}

/** Per-cluster sums, for paired bootstrap statistics. */
interface ClusterSums {
  ce: Float64Array;
  kl: Float64Array;
  /** Reconstruction error e = x - xhat: per-cluster sum over tokens of e (nClusters x d) and of |e|^2. */
  e: Float64Array;
  ee: Float64Array;
}

interface Shared {
  ceClean: Float64Array;
  ceZero: Float64Array;
  klZero: Float64Array;
  /** x shifted by `ref` (variance is shift invariant; the shift keeps float64 sums of squares precise). */
  x: Float64Array;
  xx: Float64Array;
  n: Float64Array;
  ref: Float64Array | null;
}

export interface ScoredCodec {
  name: string;
  info: Record<string, unknown>;
  metrics: Record<string, number>;
  densityHistogram: ReturnType<CodecStats['densityHistogram']>;
}

export interface ScoreResult {
  codecs: ScoredCodec[];
  /** Paired statistics of codec `name` minus codec `against`, cluster bootstrap over eval windows. */
  paired(name: string, against: string, opts?: { iterations?: number; seed?: number }): Record<string, PairedStat>;
}

export interface PairedStat {
  estimate: number;
  lo: number;
  hi: number;
  p: number;
}

/** Per-token host CE / KL over the scored rows of one batch; shared clean log-softmax rows computed once. */
function scoredRows(windows: readonly Window[], bos: number | null): { rows: number[]; targets: number[]; window: number[] } {
  const T = windows[0].tokens.length;
  const rows: number[] = [];
  const targets: number[] = [];
  const window: number[] = [];
  windows.forEach((w, b) => {
    const s = scoredMask(w.tokens, bos);
    for (let t = 0; t < T; t++) {
      if (!s[t]) continue;
      rows.push(b * T + t);
      targets.push(w.tokens[t + 1]);
      window.push(b);
    }
  });
  return { rows, targets, window };
}

/**
 * Scores every codec on the same eval windows and positions. Per batch: one clean run (logits + the hook's
 * activations), one zero ablation, and one spliced run per codec; reconstruction metrics on the clean activations at
 * the codec positions. Host codecs encode those activations once and their reconstruction is spliced as a fed tensor.
 */
export async function scoreCodecs(model: Model, data: EvalData, entries: readonly CodecEntry[], onProgress?: (done: number, total: number) => void): Promise<ScoreResult> {
  const { hook, bos } = data;
  const V = model.spec.vocab;
  const C = data.nClusters;
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new ProbityError('SAE_EVAL', `two codecs are both named "${e.name}"`);
    names.add(e.name);
  }
  let d = 0;
  const stats: CodecStats[] = [];
  const sums: ClusterSums[] = [];
  const ceTot = entries.map(() => 0);
  const klTot = entries.map(() => 0);
  const sh: Shared = { ceClean: new Float64Array(C), ceZero: new Float64Array(C), klZero: new Float64Array(C), x: new Float64Array(0), xx: new Float64Array(C), n: new Float64Array(C), ref: null };
  let ceClean = 0;
  let ceZero = 0;
  let klZero = 0;
  let nScored = 0;
  let winIndex = 0;
  const lp = new Float64Array(V);
  const lq = new Float64Array(V);
  let done = 0;
  for (const windows of data.batches) {
    const T = windows[0].tokens.length;
    const B = windows.length;
    const toks = windows.map((w) => w.tokens);
    const mask = batchMask(windows, bos);
    const clean = await model.forward(toks, { cache: [hook], logits: 'all' });
    const acts = clean.cache[hook].data as Float32Array;
    if (d === 0) {
      d = acts.length / (B * T);
      sh.x = new Float64Array(C * d);
      for (const e of entries) {
        const dSae = e.kind === 'sae' ? e.sae.dSae : e.codec.dSae;
        stats.push(new CodecStats(d, dSae));
        sums.push({ ce: new Float64Array(C), kl: new Float64Array(C), e: new Float64Array(C * d), ee: new Float64Array(C) });
      }
    }
    const x = gatherRows(acts, windows, bos);
    const n = x.length / d;
    // Cluster of each codec row, and the shared x sums.
    const rowCluster = new Int32Array(n);
    {
      let o = 0;
      windows.forEach((w, b) => {
        const k = codecCount(w, bos);
        rowCluster.fill(data.clusterOf[winIndex + b], o, o + k);
        o += k;
      });
    }
    if (!sh.ref) {
      sh.ref = new Float64Array(d);
      for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) sh.ref[j] += x[t * d + j] / n;
    }
    for (let t = 0; t < n; t++) {
      const c = rowCluster[t];
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = x[t * d + j] - sh.ref[j];
        sh.x[c * d + j] += v;
        s += v * v;
      }
      sh.xx[c] += s;
      sh.n[c]++;
    }
    // Scored rows: clean log-softmax once per row, shared by every codec.
    const sr = scoredRows(windows, bos);
    const m = sr.rows.length;
    const cleanL = clean.logits!.data;
    const cleanLsm = new Float64Array(m * V);
    for (let i = 0; i < m; i++) {
      logSoftmaxRow(cleanL, sr.rows[i], V, lp);
      cleanLsm.set(lp, i * V);
      const c = data.clusterOf[winIndex + sr.window[i]];
      sh.ceClean[c] -= lp[sr.targets[i]];
      ceClean -= lp[sr.targets[i]];
    }
    const rowCE = (logits: Float32Array, i: number): [number, number] => {
      logSoftmaxRow(logits, sr.rows[i], V, lq);
      let kl = 0;
      for (let v = 0; v < V; v++) {
        const a = cleanLsm[i * V + v];
        if (a > -Infinity) kl += Math.exp(a) * (a - lq[v]); // p = 0 terms contribute 0, as in KLStats
      }
      return [-lq[sr.targets[i]], kl];
    };
    const zero = await model.forward(toks, { interventions: { [hook]: [maskedZero(mask)] }, logits: 'all' });
    for (let i = 0; i < m; i++) {
      const [ce, kl] = rowCE(zero.logits!.data, i);
      const c = data.clusterOf[winIndex + sr.window[i]];
      sh.ceZero[c] += ce;
      sh.klZero[c] += kl;
      ceZero += ce;
      klZero += kl;
    }
    nScored += m;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      let code: SparseCode;
      let xhat: Float32Array;
      let iv: Intervention;
      if (e.kind === 'sae') {
        code = await e.sae.encode(x, n);
        xhat = await e.sae.decode(code);
        iv = maskedSaeSplice(e.sae, mask);
      } else {
        code = e.codec.encode(x, n);
        xhat = e.codec.decode(code);
        const full = new Float32Array(B * T * d);
        let o = 0;
        windows.forEach((w, b) => {
          const cm = codecMask(w.tokens, bos);
          for (let t = 0; t < T; t++) if (cm[t]) full.set(xhat.subarray(o * d, (o + 1) * d), (b * T + t) * d), o++;
        });
        iv = hostReconstructionSplice(new NDArray(full, [B, T, d]), mask);
      }
      stats[k].add(x, xhat, code);
      const s = sums[k];
      for (let t = 0; t < n; t++) {
        const c = rowCluster[t];
        let q = 0;
        for (let j = 0; j < d; j++) {
          const ev = x[t * d + j] - xhat[t * d + j];
          s.e[c * d + j] += ev;
          q += ev * ev;
        }
        s.ee[c] += q;
      }
      const sp = await model.forward(toks, { interventions: { [hook]: [iv] }, logits: 'all' });
      for (let i = 0; i < m; i++) {
        const [ce, kl] = rowCE(sp.logits!.data, i);
        const c = data.clusterOf[winIndex + sr.window[i]];
        s.ce[c] += ce;
        s.kl[c] += kl;
        ceTot[k] += ce;
        klTot[k] += kl;
      }
    }
    winIndex += B;
    done += n;
    onProgress?.(Math.min(done, data.codecPositions), data.codecPositions);
  }
  const mean = (v: number) => (nScored > 0 ? v / nScored : NaN);
  const codecs: ScoredCodec[] = entries.map((e, k) => {
    const down: DownstreamMetrics = {
      ce_clean: mean(ceClean),
      ce_spliced: mean(ceTot[k]),
      ce_zero_ablation: mean(ceZero),
      ce_loss_score: ceLossScore(mean(ceClean), mean(ceTot[k]), mean(ceZero)),
      kl_spliced: mean(klTot[k]),
      kl_zero_ablation: mean(klZero),
      kl_score: klScore(mean(klTot[k]), mean(klZero)),
      n_scored: nScored,
    };
    return { name: e.name, info: e.info ?? {}, metrics: { ...stats[k].metrics(), ...down } as unknown as Record<string, number>, densityHistogram: stats[k].densityHistogram() };
  });
  const index = new Map(entries.map((e, k) => [e.name, k]));
  return {
    codecs,
    paired(name, against, opts = {}) {
      const a = index.get(name);
      const b = index.get(against);
      if (a === undefined || b === undefined) throw new ProbityError('SAE_EVAL', `no codec named "${a === undefined ? name : against}"`);
      return pairedStats(sums[a], sums[b], sh, C, d, opts);
    },
  };
}

/** Statistics of a minus b on the drawn clusters, each computed from the clusters' sums the way the full-data metric is. */
function pairedStats(a: ClusterSums, b: ClusterSums, sh: Shared, C: number, d: number, opts: { iterations?: number; seed?: number }): Record<string, PairedStat> {
  const total = (draw: Int32Array, v: Float64Array) => {
    let s = 0;
    for (const c of draw) s += v[c];
    return s;
  };
  const ceScore = (draw: Int32Array, s: ClusterSums) => ceLossScore(total(draw, sh.ceClean), total(draw, s.ce), total(draw, sh.ceZero));
  const klSc = (draw: Int32Array, s: ClusterSums) => klScore(total(draw, s.kl), total(draw, sh.klZero));
  const sx = new Float64Array(d);
  const sa = new Float64Array(d);
  const sb = new Float64Array(d);
  const fveDiff = (draw: Int32Array) => {
    sx.fill(0);
    sa.fill(0);
    sb.fill(0);
    let n = 0;
    let xx = 0;
    let ea = 0;
    let eb = 0;
    for (const c of draw) {
      n += sh.n[c];
      xx += sh.xx[c];
      ea += a.ee[c];
      eb += b.ee[c];
      for (let j = 0; j < d; j++) {
        sx[j] += sh.x[c * d + j];
        sa[j] += a.e[c * d + j];
        sb[j] += b.e[c * d + j];
      }
    }
    let vx = xx;
    let va = ea;
    let vb = eb;
    for (let j = 0; j < d; j++) {
      vx -= (sx[j] * sx[j]) / n;
      va -= (sa[j] * sa[j]) / n;
      vb -= (sb[j] * sb[j]) / n;
    }
    return (1 - va / vx) - (1 - vb / vx);
  };
  const stat = (f: (draw: Int32Array) => number): PairedStat => {
    const r = clusterBootstrap([C], (draw) => f(draw[0]), { iterations: opts.iterations ?? 2000, seed: opts.seed ?? 0 });
    return { estimate: r.estimate, lo: r.lo, hi: r.hi, p: r.p };
  };
  return {
    ce_loss_score: stat((dr) => ceScore(dr, a) - ceScore(dr, b)),
    kl_score: stat((dr) => klSc(dr, a) - klSc(dr, b)),
    fve: stat(fveDiff),
  };
}

export interface BaselineOptions {
  /** Codec positions of fit windows (documents after the eval ones). */
  fitTokens: number;
  kmeansClusters?: number;
  seed?: number;
  /** Also k-means at L0 = 1 (nearest scaled centroid), labelled `kmeans<K>_l0_1`. Default true. */
  kmeansL0One?: boolean;
}

export interface EvalOptions {
  /** Codec positions (reconstruction tokens) to evaluate; windows are drawn until this many. */
  tokens: number;
  window?: number;
  batchRows?: number;
  /** <bos> id to exclude (default: the model tokenizer's; null excludes only window position 0). */
  bos?: number | null;
  /** Also fit PCA / k-means / random-dictionary baselines on windows from the documents after the eval ones. */
  baselines?: BaselineOptions;
  /** Bootstrap replicates of the paired comparisons (default 2000). */
  bootstrapIterations?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SaeEvalResult {
  metrics: Record<string, number>;
  density_histogram: ReturnType<CodecStats['densityHistogram']>;
  baselines?: Record<string, Record<string, unknown>>;
  /** Each baseline minus the SAE on the same positions: estimate and 95% percentile cluster-bootstrap interval. */
  paired?: Record<string, Record<string, PairedStat>>;
  data: Record<string, unknown>;
}

/** L0 of the SAE measured on x [n, d] (the fit activations), rounded, at least 1. */
export async function measuredL0(sae: Sae, x: Float32Array, n: number): Promise<number> {
  const l0 = (await sae.evaluate(x, n)).metrics().l0;
  return Math.max(1, Math.round(l0));
}

/** The baselines at one L0 (and width for the random dictionary), all fitted on `fit`. */
export function baselineEntries(fit: { x: Float32Array; n: number; d: number }, l0: number, width: number, o: { kmeansClusters?: number; seed?: number; kmeansL0One?: boolean; pca?: PcaCodec; kmeansCentroids?: Float64Array }): CodecEntry[] {
  const { x, n, d } = fit;
  const seed = o.seed ?? 0;
  const K = o.kmeansClusters ?? 256;
  const pcaFit = o.pca ?? fitPca(x, n, d, { k: Math.min(l0, d) });
  const pca = new PcaCodec(pcaFit.center, pcaFit.components, pcaFit.variances, Math.min(l0, d));
  const centroids = o.kmeansCentroids ?? fitKMeans(x, n, d, { nClusters: Math.min(K, n), seed, maxIterations: 15 }).centroids;
  const nC = centroids.length / d;
  const out: CodecEntry[] = [
    { name: `pca_l0_${pca.k}`, kind: 'codec', codec: pca, info: { family: 'pca', width: d, l0_requested: pca.k } },
    { name: `kmeans${nC}_mp_l0_${Math.min(l0, nC)}`, kind: 'codec', codec: new KMeansCodec(centroids, d, Math.min(l0, nC)), info: { family: 'kmeans', width: nC, l0_requested: Math.min(l0, nC), encoder: 'orthogonal matching pursuit over centroids' } },
  ];
  if (o.kmeansL0One ?? true) {
    out.push({ name: `kmeans${nC}_l0_1`, kind: 'codec', codec: new KMeansCodec(centroids, d, 1), info: { family: 'kmeans', width: nC, l0_requested: 1, encoder: 'best scaled centroid' } });
  }
  out.push({
    name: `random${width}_l0_${l0}`, kind: 'codec', codec: fitRandomDictionary(x, n, d, { dSae: width, k: Math.min(l0, width), seed }),
    info: { family: 'random', width, l0_requested: Math.min(l0, width), encoder: 'TopK of random unit directions, least-squares coefficients' },
  });
  return out;
}

function rangeJson(r: DocumentRange | null) {
  return r && { source: r.source, first: r.first, end: r.end, documents: r.end - r.first };
}

/** Evaluate `sae` at its hook on `model` over windows from `src`; baselines are fitted on the documents after the eval ones. */
export async function evaluateSae(model: Model, sae: Sae, src: WindowSource, opts: EvalOptions): Promise<SaeEvalResult> {
  const hook = sae.cfg.hookName;
  if (sae.isTranscoder) throw new ProbityError('SAE_EVAL', 'transcoder evaluation is not supported by `sae eval` yet (reconstruction metrics: use Sae.evaluate with targets)');
  const b = opts.baselines;
  const data = await prepareEvalData(model, hook, src, { tokens: opts.tokens, fitTokens: b?.fitTokens, window: opts.window, batchRows: opts.batchRows, bos: opts.bos });
  const entries: CodecEntry[] = [{ name: 'sae', kind: 'sae', sae }];
  let l0 = 0;
  if (b) {
    const d = sae.dIn;
    l0 = await measuredL0(sae, data.fitActs!, data.nFit);
    entries.push(...baselineEntries({ x: data.fitActs!, n: data.nFit, d }, l0, sae.dSae, { kmeansClusters: b.kmeansClusters, seed: b.seed, kmeansL0One: b.kmeansL0One }));
  }
  const scored = await scoreCodecs(model, data, entries, opts.onProgress);
  const [saeScore, ...rest] = scored.codecs;
  const result: SaeEvalResult = {
    metrics: saeScore.metrics,
    density_histogram: saeScore.densityHistogram,
    data: {
      model: displayModel(model.source), hook, window: data.window,
      tokens: data.codecPositions, scored_positions: data.scoredPositions, windows: data.clusterOf.length, clusters: data.nClusters,
      positions: 'codec positions: every window position except position 0 and <bos> tokens (spliced, zero-ablated, reconstruction metrics); scored in CE/KL: codec positions whose next token is in the window and is not <bos>',
      bos: data.bos,
      eval_documents: rangeJson(data.evalDocuments),
    },
  };
  if (b) {
    result.baselines = Object.fromEntries(rest.map((c) => [c.name, { ...c.info, ...c.metrics }]));
    result.paired = Object.fromEntries(rest.map((c) => [c.name, scored.paired(c.name, 'sae', { iterations: opts.bootstrapIterations })]));
    result.data.fit_documents = rangeJson(data.fitDocuments);
    result.data.baselines = {
      fit_tokens: data.nFit, l0_from_sae_on_fit_windows: l0, sae_width: sae.dSae, kmeans_clusters: b.kmeansClusters ?? 256, seed: b.seed ?? 0,
      compared: `every codec on the same ${data.codecPositions} reconstruction positions and ${data.scoredPositions} scored positions; baselines at L0 ${l0} (the SAE's L0 on the fit windows, rounded) plus k-means at L0 1; measured L0 of each is its \`l0\``,
      paired: 'baseline minus SAE; 95% percentile bootstrap over eval windows (each window holds whole documents from its start, the last one cut at the window end and not continued, so no document spans two windows; windows sharing one would be resampled together); p: two-sided bootstrap sign p-value',
    };
  }
  return result;
}
