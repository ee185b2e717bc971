// Does the graph predict what the real model does? For the most influential feature nodes of a pruned graph, remove
// the feature from the *real* model (its decoder contribution a_j W_dec[j] subtracted from hook_mlp_out at its
// position; attention, norms and every later MLP live) and measure the change of the target's demeaned logit. The
// graph predicts that change by linear propagation over its edges (r_s = -1 for the removed node, each downstream
// feature moving by its pre-activation change, as an active TopK / JumpReLU latent does): over the pruned graph's
// edges, over all edges, and over the direct edge alone. Baselines, no dictionary in the prediction:
//   atp (same interventions)  attribution patching: the real model's gradient at hook_mlp_out . the removed vector
//   residual units            each (layer, position)'s MLP output zeroed, predicted by the same gradient . -mlp_out
//   neuron units              the largest-|AtP| MLP neurons (mlp.hook_post) zeroed, predicted by gradient x activation
// Every measurement runs the prompt as a batch with one intervention per row and an untouched row 0, all through the
// same graph, so the differences are not the prepacked path's round-off.
import { NDArray } from '../engine/ndarray.js';
import * as op from '../engine/ops/index.js';
import type { Intervention, InterventionMap } from '../models/hooks/interventions.js';
import type { Model } from '../models/model.js';
import { demeanedUnembed, type Attribution } from './attribution.js';
import type { LayerDictionary } from './dictionaries.js';
import type { Pruned } from './prune.js';
import { replacementGraph, targetGradients } from './replacement.js';

export interface FeatureCheck {
  layer: number;
  pos: number;
  latent: number;
  activation: number;
  measured: number;
  graph_pruned: number;
  graph_full: number;
  graph_direct: number;
  atp: number;
}

export interface UnitCheck {
  layer: number;
  pos: number;
  /** Neuron index (neuron units only). */
  neuron?: number;
  measured: number;
  atp: number;
}

export interface InterventionCheck {
  target: { token: number; demeaned: number };
  features: FeatureCheck[];
  residual: UnitCheck[];
  neurons: UnitCheck[];
}

/** A delta per batch row at some hooks, [R, T, W] each; returns each row's demeaned target logit minus row 0's. */
async function measure(model: Model, tokens: readonly number[], target: number, deltas: Map<string, { width: number; data: Float32Array }>, R: number): Promise<number[]> {
  const T = tokens.length;
  const ivs: InterventionMap = {};
  for (const [hook, d] of deltas) {
    const iv: Intervention = { kind: 'graph', key: `check-delta:${hook}`, build: (x, input) => op.add(x, op.reshapeLike(input('delta', new NDArray(d.data, [R, T, d.width])), x)) };
    ivs[hook] = [iv];
  }
  const out = await model.forward(Array.from({ length: R }, () => [...tokens]), { interventions: ivs, logits: 'last' });
  const lg = out.logits!.data as Float32Array;
  const V = model.spec.vocab;
  const dm = (r: number) => {
    let m = 0;
    for (let v = 0; v < V; v++) m += lg[r * V + v];
    return lg[r * V + target] - m / V;
  };
  const base = dm(0);
  return Array.from({ length: R - 1 }, (_, i) => dm(i + 1) - base);
}

/** Linear propagation of removing `sources` through the edges `keep` allows: the predicted change of logit row 0. */
export function propagate(a: Attribution, sources: readonly number[], keep: (t: number, s: number) => boolean): number {
  const { n, adjacency: A, errorStart: nF, logitStart } = a;
  const r = new Float64Array(n);
  const src = new Set(sources);
  for (const s of sources) r[s] = -1;
  for (let t = 0; t < nF; t++) {
    if (src.has(t)) continue;
    let d = 0;
    for (let s = 0; s < nF; s++) if (r[s] !== 0 && keep(t, s)) d += A[t * n + s] * r[s];
    r[t] = d / a.features[t].activation;
  }
  let out = 0;
  for (let s = 0; s < nF; s++) if (r[s] !== 0 && keep(logitStart, s)) out += A[logitStart * n + s] * r[s];
  return out;
}

export async function checkInterventions(model: Model, dicts: readonly LayerDictionary[], a: Attribution, p: Pruned, opts: { topK?: number } = {}): Promise<InterventionCheck> {
  const K = opts.topK ?? 10;
  const { nLayers: L, dModel: D, dMlp: F } = model.spec;
  const tokens = a.tokens;
  const T = tokens.length;
  const target = a.logits[0];
  const byLayer = new Map(dicts.map((d) => [d.layer, d]));

  // Real-model gradients of the target's demeaned logit at every hook_mlp_out and mlp.hook_post.
  const rg = await replacementGraph(model, tokens, 1, { mode: 'real', neurons: true });
  const gr = await targetGradients(rg, model, [{ hook: 'ln_final.hook_normalized', pos: T - 1, vector: demeanedUnembed(model, target.token) }]);
  rg.runner.release();

  // Features: the kept ones, most influential first.
  const kept = a.features.map((_, i) => i).filter((i) => p.nodeMask[i]);
  kept.sort((x, y) => p.influence[y] - p.influence[x] || x - y);
  const chosen = kept.slice(0, K);
  const edgeSet = new Set(p.edges.map(([t, s]) => t * a.n + s));
  const featureRows = chosen.map((i) => {
    const f = a.features[i];
    const v = byLayer.get(f.layer)!.decoderRow(f.latent);
    for (let d = 0; d < D; d++) v[d] *= -f.activation;
    return { i, f, v };
  });

  const mlpOut = await model.forward([[...tokens]], { cache: Array.from({ length: L }, (_, l) => [`blocks.${l}.hook_mlp_out`, `blocks.${l}.mlp.hook_post`]).flat(), logits: 'none' });
  // Residual units: every (layer, position) after a <bos> 0; the K with the largest |AtP| are measured.
  const from = a.zeroBos ? 1 : 0;
  const units: { layer: number; pos: number; atp: number }[] = [];
  for (let l = 0; l < L; l++) {
    const y = mlpOut.cache[`blocks.${l}.hook_mlp_out`].data as Float32Array;
    for (let q = from; q < T; q++) {
      let s = 0;
      for (let d = 0; d < D; d++) s -= gr.mlp[l][q * D + d] * y[q * D + d];
      units.push({ layer: l, pos: q, atp: s });
    }
  }
  units.sort((x, y) => Math.abs(y.atp) - Math.abs(x.atp));
  const resUnits = units.slice(0, K);
  const neurons: { layer: number; pos: number; neuron: number; atp: number; act: number }[] = [];
  for (let l = 0; l < L; l++) {
    const post = mlpOut.cache[`blocks.${l}.mlp.hook_post`].data as Float32Array;
    for (let q = from; q < T; q++) for (let j = 0; j < F; j++) neurons.push({ layer: l, pos: q, neuron: j, act: post[q * F + j], atp: -gr.post[l][q * F + j] * post[q * F + j] });
  }
  neurons.sort((x, y) => Math.abs(y.atp) - Math.abs(x.atp) || x.layer - y.layer || x.pos - y.pos || x.neuron - y.neuron);
  const neuronUnits = neurons.slice(0, K);

  // One batch: row 0 untouched, then features, residual units, neurons.
  const R = 1 + featureRows.length + resUnits.length + neuronUnits.length;
  const deltas = new Map<string, { width: number; data: Float32Array }>();
  const at = (hook: string, width: number) => {
    let d = deltas.get(hook);
    if (!d) deltas.set(hook, (d = { width, data: new Float32Array(R * T * width) }));
    return d.data;
  };
  let row = 1;
  for (const { f, v } of featureRows) at(`blocks.${f.layer}.hook_mlp_out`, D).set(v, (row++ * T + f.pos) * D);
  for (const u of resUnits) {
    const y = mlpOut.cache[`blocks.${u.layer}.hook_mlp_out`].data as Float32Array;
    const dst = at(`blocks.${u.layer}.hook_mlp_out`, D);
    for (let d = 0; d < D; d++) dst[(row * T + u.pos) * D + d] = -y[u.pos * D + d];
    row++;
  }
  for (const u of neuronUnits) at(`blocks.${u.layer}.mlp.hook_post`, F)[(row++ * T + u.pos) * F + u.neuron] = -u.act;
  const measured = await measure(model, tokens, target.token, deltas, R);

  const features: FeatureCheck[] = featureRows.map(({ i, f, v }, k) => {
    let atp = 0;
    for (let d = 0; d < D; d++) atp += gr.mlp[f.layer][f.pos * D + d] * v[d];
    return {
      layer: f.layer, pos: f.pos, latent: f.latent, activation: f.activation, measured: measured[k],
      graph_pruned: propagate(a, [i], (t, s) => edgeSet.has(t * a.n + s)),
      graph_full: propagate(a, [i], () => true),
      graph_direct: -a.adjacency[a.logitStart * a.n + i],
      atp,
    };
  });
  const off = featureRows.length;
  const residual: UnitCheck[] = resUnits.map((u, k) => ({ layer: u.layer, pos: u.pos, measured: measured[off + k], atp: u.atp }));
  const off2 = off + resUnits.length;
  const neuronChecks: UnitCheck[] = neuronUnits.map((u, k) => ({ layer: u.layer, pos: u.pos, neuron: u.neuron, measured: measured[off2 + k], atp: u.atp }));
  return { target: { token: target.token, demeaned: target.demeaned }, features, residual, neurons: neuronChecks };
}
