// How often int8 selection (architectures/topk-select.ts) picks the same latents as the float32 definition, for a
// trained TopK SAE on real activations. `probity sae train --selection int8` records it in metrics.json, so the
// approximation is measured on every run's own data instead of assumed.
import { Graph, type Tensor } from '../../engine/graph/graph.js';
import * as op from '../../engine/ops/index.js';
import { compile } from '../../engine/session/session.js';
import { NDArray } from '../../engine/ndarray.js';
import { effectiveBias } from '../architectures/topk-core.js';
import { candidatesOf, selectTopK } from '../architectures/topk-select.js';
import type { Sae } from '../sae.js';

export interface SelectionRecall {
  /** Share of the exact top-k (latent, token) pairs that int8 selection also chose. */
  recall: number;
  /** Tokens whose chosen set differs from the exact one. */
  tokens_differing: number;
  tokens: number;
  candidates: number;
}

/** Compare int8 and exact selection on rows `x` [n, dIn] of raw activations (the SAE's scales are applied). */
export async function int8SelectionRecall(sae: Sae, x: Float32Array, n: number): Promise<SelectionRecall> {
  const { cfg } = sae;
  const k = cfg.k!;
  const candidates = candidatesOf(k, cfg.topkCandidates);
  const g = new Graph('selection_recall');
  const p: Record<string, Tensor> = {};
  for (const name of ['W_encT', 'b_enc', 'b_dec']) p[name] = g.input(name, 'float32', sae.specs.find((s) => s.name === name)!.dims);
  const xin = op.mul(g.input('x', 'float32', ['B', cfg.dIn]), cfg.inputScale);
  const b_eff = effectiveBias({ W_encT: p.W_encT, b_enc: p.b_enc, b_dec: p.b_dec }, cfg.applyBDecToInput);
  g.output(selectTopK(p.W_encT, b_eff, xin, k, 'exact').idx, 'exact');
  g.output(selectTopK(p.W_encT, b_eff, xin, k, 'int8', candidates).idx, 'int8');
  const sess = await compile(g, sae.session);
  const feeds: Record<string, NDArray> = { x: new NDArray(x.subarray(0, n * cfg.dIn), [n, cfg.dIn]) };
  for (const name of ['W_encT', 'b_enc', 'b_dec']) feeds[name] = new NDArray(sae.params[name], sae.specs.find((s) => s.name === name)!.dims);
  const out = await sess.run(feeds);
  sess.release();
  const a = out.exact.data as BigInt64Array;
  const b = out.int8.data as BigInt64Array;
  let hit = 0;
  let differing = 0;
  for (let t = 0; t < n; t++) {
    const want = new Set(a.subarray(t * k, (t + 1) * k));
    let h = 0;
    for (const s of b.subarray(t * k, (t + 1) * k)) if (want.has(s)) h++;
    hit += h;
    if (h < k) differing++;
  }
  return { recall: hit / (n * k), tokens_differing: differing, tokens: n, candidates };
}
