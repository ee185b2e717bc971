// One prompt -> attribution graph file: attribute (attribution.ts), prune and score (prune.ts), check against the real
// model (check.ts), write the viewer's JSON (graph-file.ts). The library entry point behind `probity graph` and the
// circuits suite.
import { ProbityError } from '../errors.js';
import type { Model } from '../models/model.js';
import { codeVersion, displayModel } from '../util/paths.js';
import { attribute, type Attribution, type AttributeOptions } from './attribution.js';
import { checkInterventions, type InterventionCheck } from './check.js';
import type { LayerDictionary } from './dictionaries.js';
import { toGraphFile } from './graph-file.js';
import type { AttributionGraphFile } from './graph-json.js';
import { graphScores, prune, type Pruned } from './prune.js';

export interface BuildGraphOptions extends AttributeOptions {
  nodeThreshold?: number;
  edgeThreshold?: number;
  /** Feature nodes (and residual / neuron units) checked by intervention; 0 skips the check (default 10). */
  checkTopK?: number;
  slug?: string;
  /** Names of the transcoders, written into the file (e.g. their folders). */
  transcoderNames?: string[];
}

export interface BuiltGraph {
  file: AttributionGraphFile;
  attribution: Attribution;
  pruned: Pruned;
  check: InterventionCheck | null;
}

export async function buildGraph(model: Model, dicts: readonly LayerDictionary[], tokens: readonly number[], prompt: string, o: BuildGraphOptions = {}): Promise<BuiltGraph> {
  const nodeThreshold = o.nodeThreshold ?? 0.8;
  const edgeThreshold = o.edgeThreshold ?? 0.98;
  for (const [name, v] of [['node threshold', nodeThreshold], ['edge threshold', edgeThreshold]] as const) {
    if (!(v >= 0 && v <= 1)) throw new ProbityError('GRAPH_OPTIONS', `${name} is ${v}, expected a number from 0 to 1`);
  }
  const t0 = performance.now();
  const a = await attribute(model, dicts, tokens, o);
  const p = prune(a, nodeThreshold, edgeThreshold);
  const scores = graphScores(a);
  const check = (o.checkTopK ?? 10) > 0 ? await checkInterventions(model, dicts, a, p, { topK: o.checkTopK ?? 10 }) : null;
  const text = (id: number) => model.tokenizer.decode([id]);
  const file = toGraphFile(a, p, {
    slug: o.slug ?? 'graph',
    prompt,
    tokenTexts: [...a.tokens.map(text), ...a.logits.map((l) => text(l.token))],
    probity: {
      schema: 'probity-attribution-graph/1',
      model: displayModel(model.source),
      transcoders: o.transcoderNames ?? dicts.map((d) => d.label),
      node_threshold: nodeThreshold,
      edge_threshold: edgeThreshold,
      scores,
      layer_fve: a.layerFve,
      code_version: codeVersion(),
      wall_s: (performance.now() - t0) / 1000,
    },
  });
  return { file, attribution: a, pruned: p, check };
}

/** Pearson correlation and sign agreement of predictions with measurements. */
export function agreement(pairs: readonly { measured: number; predicted: number }[]): { n: number; pearson: number; sign_agreement: number } {
  const n = pairs.length;
  if (n === 0) return { n, pearson: NaN, sign_agreement: NaN };
  let mx = 0;
  let my = 0;
  for (const q of pairs) ((mx += q.predicted / n), (my += q.measured / n));
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  let agree = 0;
  for (const q of pairs) {
    sxy += (q.predicted - mx) * (q.measured - my);
    sxx += (q.predicted - mx) ** 2;
    syy += (q.measured - my) ** 2;
    if (Math.sign(q.predicted) === Math.sign(q.measured)) agree++;
  }
  return { n, pearson: sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN, sign_agreement: agree / n };
}

/** The check's predictors side by side on one prompt. */
export function checkSummary(c: InterventionCheck) {
  const f = (key: 'graph_pruned' | 'graph_full' | 'graph_direct' | 'atp') => agreement(c.features.map((x) => ({ measured: x.measured, predicted: x[key] })));
  return {
    features: { graph_pruned: f('graph_pruned'), graph_full: f('graph_full'), graph_direct: f('graph_direct'), atp: f('atp') },
    residual_atp: agreement(c.residual.map((x) => ({ measured: x.measured, predicted: x.atp }))),
    neurons_atp: agreement(c.neurons.map((x) => ({ measured: x.measured, predicted: x.atp }))),
  };
}
