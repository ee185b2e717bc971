// Influence, pruning and the graph scores, as circuit-tracer defines them (circuit_tracer/graph.py: normalize_matrix,
// compute_influence, find_threshold, prune_graph, compute_graph_scores), on the adjacency of attribution.ts
// (rows = targets, columns = sources, circuit-tracer's node order).
//   normalised  |A| with each row divided by its sum (rows summing to 0 stay 0)
//   influence   w (N + N^2 + ...) with w = the logit nodes' probabilities (N is nilpotent: sources come first)
//   node mask   influence >= the value at which the sorted influences reach `nodeThreshold` of their sum; tokens and
//               logits always kept
//   edge mask   on the node-pruned matrix, score N'[t, s] * (influence'(t) + w(t)) >= the `edgeThreshold` quantile of
//               cumulative edge score; then, repeatedly, feature and error nodes without a kept outgoing edge and
//               features without a kept incoming edge are dropped
//   replacement score   token influence / (token + error influence)
//   completeness score  sum_t (1 - N[t, errors]) (influence(t) + w(t)) / sum_t (influence(t) + w(t))
import type { Attribution } from './attribution.js';
import type { GraphScores } from './graph-json.js';

export function normalizeRows(A: Float32Array, n: number): Float64Array {
  const N = new Float64Array(n * n);
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.abs(A[t * n + j]);
    const z = Math.max(s, 1e-10);
    for (let j = 0; j < n; j++) N[t * n + j] = Math.abs(A[t * n + j]) / z;
  }
  return N;
}

/** w N + w N^2 + ... until the product vanishes (at most n terms: N is nilpotent on a DAG). */
export function influence(N: Float64Array, n: number, w: Float64Array): Float64Array {
  const total = new Float64Array(n);
  let cur = vecMat(w, N, n);
  for (let it = 0; it <= n && cur.some((v) => v !== 0); it++) {
    for (let j = 0; j < n; j++) total[j] += cur[j];
    cur = vecMat(cur, N, n);
  }
  return total;
}

function vecMat(v: Float64Array, N: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const a = v[t];
    if (a === 0) continue;
    for (let j = 0; j < n; j++) out[j] += a * N[t * n + j];
  }
  return out;
}

/** The score at which the descending cumulative share first reaches `threshold` (circuit-tracer's find_threshold). */
export function findThreshold(scores: ArrayLike<number>, threshold: number): number {
  const sorted = Float64Array.from(scores).sort().reverse();
  let sum = 0;
  for (const v of sorted) sum += v;
  if (sorted.length === 0) return Infinity;
  let cum = 0;
  for (let i = 0; i < sorted.length; i++) {
    cum += sorted[i];
    if (cum / sum >= threshold) return sorted[i];
  }
  return sorted[sorted.length - 1];
}

export function logitWeights(a: Attribution): Float64Array {
  const w = new Float64Array(a.n);
  a.logits.forEach((l, i) => (w[a.logitStart + i] = l.prob));
  return w;
}

export interface Pruned {
  nodeMask: Uint8Array;
  /** Kept edges as [target, source] pairs. */
  edges: [number, number][];
  /** Node influence on the unpruned graph and circuit-tracer's cumulative score per node. */
  influence: Float64Array;
  cumulative: Float64Array;
}

export function prune(a: Attribution, nodeThreshold = 0.8, edgeThreshold = 0.98): Pruned {
  const { n, adjacency: A, tokenStart, logitStart, errorStart } = a;
  const nF = errorStart;
  const w = logitWeights(a);
  const N = normalizeRows(A, n);
  const infl = influence(N, n, w);
  const cut = findThreshold(infl, nodeThreshold);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = infl[i] >= cut || i >= tokenStart ? 1 : 0;

  const P = new Float32Array(A);
  for (let t = 0; t < n; t++) for (let s = 0; s < n; s++) if (!mask[t] || !mask[s]) P[t * n + s] = 0;
  const NP = normalizeRows(P, n);
  const pInfl = influence(NP, n, w);
  const edgeScore = new Float64Array(n * n);
  const positive: number[] = [];
  for (let t = 0; t < n; t++) {
    const f = pInfl[t] + w[t];
    for (let s = 0; s < n; s++) {
      const v = NP[t * n + s] * f;
      edgeScore[t * n + s] = v;
      if (v > 0) positive.push(v);
    }
  }
  const ecut = findThreshold(positive, edgeThreshold);
  const emask = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) emask[i] = edgeScore[i] > 0 && edgeScore[i] >= ecut ? 1 : 0;

  // Drop feature / error nodes without outgoing edges and features without incoming ones, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) {
        for (let j = 0; j < n; j++) emask[i * n + j] = emask[j * n + i] = 0;
        continue;
      }
      if (i >= tokenStart) continue;
      let out = false;
      for (let t = 0; t < n && !out; t++) out = emask[t * n + i] === 1;
      let inc = i >= nF;
      for (let s = 0; s < n && !inc; s++) inc = emask[i * n + s] === 1;
      if (!out || !inc) {
        mask[i] = 0;
        changed = true;
      }
    }
  }
  const edges: [number, number][] = [];
  for (let t = 0; t < n; t++) for (let s = 0; s < n; s++) if (emask[t * n + s] && mask[t] && mask[s]) edges.push([t, s]);

  const order = Array.from(infl.keys()).sort((x, y) => infl[y] - infl[x] || x - y);
  let total = 0;
  for (const v of infl) total += v;
  const cumulative = new Float64Array(n);
  let cum = 0;
  for (const i of order) {
    cum += infl[i];
    cumulative[i] = total > 0 ? cum / total : 0;
  }
  void logitStart;
  return { nodeMask: mask, edges, influence: infl, cumulative };
}

export function graphScores(a: Attribution): GraphScores {
  const { n, adjacency: A, errorStart, tokenStart, logitStart, nLayers: L, tokens } = a;
  const T = tokens.length;
  const w = logitWeights(a);
  const N = normalizeRows(A, n);
  const infl = influence(N, n, w);
  const sum = (from: number, to: number) => {
    let s = 0;
    for (let i = from; i < to; i++) s += infl[i];
    return s;
  };
  const featInf = sum(0, errorStart);
  const errInf = sum(errorStart, tokenStart);
  const tokInf = sum(tokenStart, logitStart);
  let num = 0;
  let den = 0;
  for (let t = 0; t < n; t++) {
    let errIn = 0;
    for (let s = errorStart; s < tokenStart; s++) errIn += N[t * n + s];
    const o = infl[t] + w[t];
    num += (1 - errIn) * o;
    den += o;
  }
  const sources = featInf + errInf + tokInf;
  const byLayer = Array.from({ length: L }, (_, l) => (sources > 0 ? sum(errorStart + l * T, errorStart + (l + 1) * T) / sources : 0));
  const row = logitStart * n;
  const part = (from: number, to: number) => {
    let s = 0;
    for (let j = from; j < to; j++) s += A[row + j];
    return s;
  };
  const features = part(0, errorStart);
  const errors = part(errorStart, tokenStart);
  const tok = part(tokenStart, logitStart);
  const total = a.logits[0].demeaned;
  return {
    replacement_score: tokInf + errInf > 0 ? tokInf / (tokInf + errInf) : 0,
    completeness_score: den > 0 ? num / den : 0,
    error_influence_share: sources > 0 ? errInf / sources : 0,
    error_influence_share_by_layer: byLayer,
    target_logit_direct: { features, errors, tokens: tok, biases: total - features - errors - tok, total },
  };
}
