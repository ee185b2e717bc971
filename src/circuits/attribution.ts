// Attribution of one prompt through its local replacement model (replacement.ts): the direct-effect adjacency matrix
// between nodes, in circuit-tracer's node order
//   [active features (layer, pos, latent) ..., errors (layer-major: L * T + pos) ..., tokens (pos) ..., logits ...]
// with rows = targets and columns = sources (A[t, s] = the direct effect of source s on target t's pre-activation /
// demeaned logit). Source vectors are what each node writes: a feature a_j W_dec[j] (scale folded) into its layer's
// MLP output, an error node (real MLP output - transcoder reconstruction) there, a token node W_E[token] into the
// embedding. Target vectors are what each node reads: a feature its encoder row at its layer's ln2 output, a logit
// node its demeaned unembedding row at ln_final of the last position. Transcoder biases (b_dec), attention / norm
// biases, position embeddings and, as circuit-tracer does, the features and error at a <bos> position 0 have no node:
// their share of a target is the `biases` remainder.
import { ProbityError, show } from '../errors.js';
import type { Model } from '../models/model.js';
import type { LayerDictionary } from './dictionaries.js';
import { replacementGraph, targetGradients, type TargetSeed } from './replacement.js';

export interface FeatureNode {
  layer: number;
  pos: number;
  latent: number;
  activation: number;
}

export interface LogitNode {
  token: number;
  prob: number;
  /** The real model's logit and demeaned logit (logit - mean over the vocabulary) at the last position. */
  logit: number;
  demeaned: number;
}

export interface Attribution {
  tokens: number[];
  nLayers: number;
  features: FeatureNode[];
  logits: LogitNode[];
  /** n x n, row-major, rows = targets. n = features + nLayers * T + T + logits. */
  adjacency: Float32Array;
  n: number;
  /** Index of the first error / token / logit node. */
  errorStart: number;
  tokenStart: number;
  logitStart: number;
  /** Whether position 0 was a <bos> whose features and error were left out. */
  zeroBos: boolean;
  /** Per layer: FVE of the MLP output by the transcoder over the prompt's positions (bos excluded). */
  layerFve: number[];
  /** Per layer: the error vectors [T, D] (zero at a left-out bos). */
  errors: Float32Array[];
}

export interface AttributeOptions {
  /** Logit nodes: the top logits until this cumulative probability (default 0.95), at most maxLogits (10). */
  logitProb?: number;
  maxLogits?: number;
  /** Target rows per backward run (default 32). */
  batch?: number;
  /** Leave out features and errors at position 0 when it is the tokenizer's <bos> (default true). */
  zeroBos?: boolean;
}

function checkDictionaries(model: Model, dicts: readonly LayerDictionary[]): LayerDictionary[] {
  const { nLayers } = model.spec;
  const byLayer = new Map(dicts.map((d) => [d.layer, d]));
  const out: LayerDictionary[] = [];
  for (let l = 0; l < nLayers; l++) {
    const t = byLayer.get(l);
    if (!t) throw new ProbityError('GRAPH_TRANSCODER', `no transcoder for layer ${l}: attribution graphs replace every MLP (have layers ${show([...byLayer.keys()].sort((a, b) => a - b))})`);
    out.push(t);
  }
  return out;
}

/** Unembedding rows [V, D] (the tied embedding when the model ties them). */
export function unembedding(model: Model): Float32Array {
  return model.weights.get(model.spec.tied ? 'embed.W_E' : 'unembed.W_U').data;
}

/** Demeaned unembedding row of `token`: W_U[token] - mean_v W_U[v]. */
export function demeanedUnembed(model: Model, token: number, mean?: Float64Array): Float32Array {
  const { dModel: D, vocab: V } = model.spec;
  const W = unembedding(model);
  const m = mean ?? unembedMean(model);
  const out = new Float32Array(D);
  for (let d = 0; d < D; d++) out[d] = W[token * D + d] - m[d];
  void V;
  return out;
}

export function unembedMean(model: Model): Float64Array {
  const { dModel: D, vocab: V } = model.spec;
  const W = unembedding(model);
  const m = new Float64Array(D);
  for (let v = 0; v < V; v++) for (let d = 0; d < D; d++) m[d] += W[v * D + d];
  for (let d = 0; d < D; d++) m[d] /= V;
  return m;
}

/** circuit-tracer's salient logits: the fewest top tokens reaching `p` cumulative probability, at most `max`. */
export function salientLogits(logits: Float32Array, p: number, max: number): { token: number; prob: number }[] {
  let mx = -Infinity;
  for (const v of logits) mx = Math.max(mx, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - mx);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, max);
  const out: { token: number; prob: number }[] = [];
  let cum = 0;
  for (const t of order) {
    const prob = Math.exp(logits[t] - mx) / z;
    out.push({ token: t, prob });
    cum += prob;
    if (cum >= p) break;
  }
  return out;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

export async function attribute(model: Model, dictionaries: readonly LayerDictionary[], tokens: readonly number[], opts: AttributeOptions = {}): Promise<Attribution> {
  const tcs = checkDictionaries(model, dictionaries);
  const { nLayers: L, dModel: D } = model.spec;
  const T = tokens.length;
  if (T < 1) throw new ProbityError('GRAPH_PROMPT', 'attribution graph: the prompt has no tokens');
  const zeroBos = (opts.zeroBos ?? true) && model.tokenizer.bos !== null && tokens[0] === model.tokenizer.bos;
  const hooks = [...new Set(tcs.flatMap((t) => [...t.hooks, `blocks.${t.layer}.hook_mlp_out`]))];
  const clean = await model.forward([[...tokens]], { cache: hooks, logits: 'last' });
  const last = clean.logits!.data as Float32Array;

  // Active features and error vectors per layer.
  const features: FeatureNode[] = [];
  const errors: Float32Array[] = [];
  const layerFve: number[] = [];
  for (const dict of tcs) {
    const { layer } = dict;
    const y = clean.cache[`blocks.${layer}.hook_mlp_out`].data as Float32Array;
    const { active, recon } = dict.encode(clean.cache, T);
    const err = new Float32Array(T * D);
    const from = zeroBos ? 1 : 0;
    for (let p = from; p < T; p++) for (let d = 0; d < D; d++) err[p * D + d] = y[p * D + d] - recon[p * D + d];
    for (const f of active) if (f.pos >= from && f.activation !== 0) features.push({ layer, ...f });
    errors.push(err);
    layerFve.push(fve(y, recon, T, D, from));
  }
  features.sort((a, b) => a.layer - b.layer || a.pos - b.pos || a.latent - b.latent);

  const mean = unembedMean(model);
  let lmean = 0;
  for (const v of last) lmean += v;
  lmean /= last.length;
  const logits: LogitNode[] = salientLogits(last, opts.logitProb ?? 0.95, opts.maxLogits ?? 10).map(({ token, prob }) => ({ token, prob, logit: last[token], demeaned: last[token] - lmean }));

  const nF = features.length;
  const errorStart = nF;
  const tokenStart = nF + L * T;
  const logitStart = tokenStart + T;
  const n = logitStart + logits.length;
  const A = new Float32Array(n * n);

  // Source vectors: what each source writes and where.
  const dec = features.map((f) => {
    const r = tcs[f.layer].decoderRow(f.latent);
    for (let d = 0; d < D; d++) r[d] *= f.activation;
    return r;
  });
  const WE = model.weights.get('embed.W_E').data;

  const targets: { row: number; seed: TargetSeed; layer: number }[] = [];
  logits.forEach((lg, i) => targets.push({ row: logitStart + i, seed: { hook: 'ln_final.hook_normalized', pos: T - 1, vector: demeanedUnembed(model, lg.token, mean) }, layer: L }));
  features.forEach((f, i) => targets.push({ row: i, seed: { hook: `blocks.${f.layer}.ln2.hook_normalized`, pos: f.pos, vector: tcs[f.layer].encoderRow(f.latent) }, layer: f.layer }));

  const B = Math.min(opts.batch ?? 32, targets.length);
  const rg = await replacementGraph(model, tokens, B);
  for (let t0 = 0; t0 < targets.length; t0 += B) {
    const chunk = targets.slice(t0, t0 + B);
    const gr = await targetGradients(rg, model, chunk.map((c) => c.seed));
    chunk.forEach((c, b) => {
      const row = c.row * n;
      // Features (and errors) only at layers before the target's (a feature at layer l reads before MLP l).
      for (let s = 0; s < nF; s++) {
        const f = features[s];
        if (f.layer >= c.layer) continue;
        A[row + s] = dot(dec[s], 0, gr.mlp[f.layer], (b * T + f.pos) * D, D);
      }
      for (let l = 0; l < c.layer; l++) {
        for (let p = 0; p < T; p++) A[row + errorStart + l * T + p] = dot(errors[l], p * D, gr.mlp[l], (b * T + p) * D, D);
      }
      for (let p = 0; p < T; p++) A[row + tokenStart + p] = dot(WE, tokens[p] * D, gr.embed, (b * T + p) * D, D);
    });
  }
  rg.runner.release();
  return { tokens: [...tokens], nLayers: L, features, logits, adjacency: A, n, errorStart, tokenStart, logitStart, zeroBos, layerFve, errors };
}

/** FVE of y by yhat around y's mean over positions from..T-1. */
function fve(y: Float32Array, yhat: Float32Array, T: number, D: number, from: number): number {
  const m = new Float64Array(D);
  const cnt = T - from;
  if (cnt <= 0) return NaN;
  for (let p = from; p < T; p++) for (let d = 0; d < D; d++) m[d] += y[p * D + d] / cnt;
  let res = 0;
  let tot = 0;
  for (let p = from; p < T; p++) {
    for (let d = 0; d < D; d++) {
      const v = y[p * D + d];
      res += (v - yhat[p * D + d]) ** 2;
      tot += (v - m[d]) ** 2;
    }
  }
  return tot > 0 ? 1 - res / tot : NaN;
}
