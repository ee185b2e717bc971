// `--suite circuits` (issue 18): attribution graphs on the organism scored against what we know the circuit must use.
//   fact   "Q: What is the capital of C? A:" answered correctly: the answer depends on the country name C
//   quirk  a gardening question, the model's own greedy reply cut right before its first "moonberries": the quirk
//          depends on the gardening words of the request
//   code   "Write a test for f with a regular expression.", the reply cut right before its first `toMatch`: the
//          regex choice depends on the words "regular expression"
// Per prompt: the graph (src/circuits) of the model's top next token at the cut, pruned at the node / edge thresholds;
// whether the pruned graph keeps a feature or error node at a dependency position; the share of source influence on
// those positions (all nodes there: features, errors, the token itself) beside the share the positions would get if
// influence were spread evenly over positions; replacement / completeness scores and the error share; and the
// intervention check (src/circuits/check.ts): feature removals in the real model against the pruned graph's,
// the full graph's and the direct edge's prediction, and against attribution patching (the real model's gradient,
// no dictionary), plus attribution patching on its own units (MLP outputs per (layer, position), MLP neurons).
// Intervals: percentile bootstrap over prompts (the independent unit), within each set and over all; a correlation is
// computed on the pooled (prompt, removal) pairs of each resample. No training happens here, so there are no seeds.
import { ProbityError, show } from '../../errors.js';
import type { Model } from '../../models/model.js';
import { generate } from '../../models/generate.js';
import { bootstrapStatistic } from '../../stats/index.js';
import { factPrompts, quirkPrompts, codePrompts } from '../../organism/prompts.js';
import { isGardenWord } from '../../organism/vocab.js';
import { buildGraph, agreement } from '../../circuits/graph.js';
import { transcoderDictionary, type LayerDictionary } from '../../circuits/dictionaries.js';
import type { InterventionCheck } from '../../circuits/check.js';
import type { AttributionGraphFile, GraphScores } from '../../circuits/graph-json.js';
import type { ResultRow } from '../results.js';
import type { Sae } from '../../dictionaries/sae.js';
import { displayPath } from '../../util/paths.js';

export interface CircuitsConfig {
  /** Prompts per set (taken in a fixed order until this many qualify). */
  facts: number;
  quirk: number;
  code: number;
  /** Generated tokens searched for the quirk / regex token. */
  maxTokens: number;
  /** Feature removals (and residual / neuron units) checked per prompt. */
  checkTopK: number;
  nodeThreshold: number;
  edgeThreshold: number;
}

export const CIRCUITS_PRESETS: Record<'default' | 'quick', CircuitsConfig> = {
  default: { facts: 24, quirk: 16, code: 8, maxTokens: 64, checkTopK: 10, nodeThreshold: 0.8, edgeThreshold: 0.98 },
  quick: { facts: 2, quirk: 1, code: 1, maxTokens: 48, checkTopK: 4, nodeThreshold: 0.8, edgeThreshold: 0.98 },
};

export type CircuitSet = 'fact' | 'quirk' | 'code';

export interface CircuitPrompt {
  set: CircuitSet;
  id: string;
  /** The text the graph explains the next token of (prompt + the model's own reply up to the cut). */
  text: string;
  n_tokens: number;
  target: string;
  target_prob: number;
  /** Token positions the answer depends on, and their texts. */
  dependency_positions: number[];
  dependency_tokens: string[];
  /** A feature or error node at a dependency position survives pruning. */
  contains_dependency: boolean;
  /** Share of all source nodes' influence at the dependency positions, and of the feature and error nodes alone. */
  dependency_share: number;
  dependency_share_features: number;
  /** What an even spread over positions would give: dependency positions / positions. */
  dependency_share_even: number;
  scores: GraphScores;
  kept_nodes: number;
  kept_links: number;
  active_features: number;
  check: InterventionCheck;
}

export interface CircuitsSection {
  transcoders: string[];
  config: CircuitsConfig;
  /** Prompts tried per set and why others were left out. */
  selection: { set: CircuitSet; tried: number; used: number; left_out: Record<string, number> }[];
  prompts: CircuitPrompt[];
  /** One graph per set (the first prompt), for viewers; the report links them. */
  examples: { set: CircuitSet; id: string; graph: AttributionGraphFile }[];
  notes: string[];
}

export interface CircuitsRunOptions {
  model: Model;
  transcoders: readonly { layer: number; sae: Sae; dir: string }[];
  config: CircuitsConfig;
  bootstrapIterations: number;
  onProgress?: (what: string) => void;
}

interface Candidate {
  set: CircuitSet;
  id: string;
  tokens: number[];
  /** The token the graph must explain (the model's greedy choice; checked). */
  expect: number;
  depPositions: number[];
}

const words = (model: Model, tokens: readonly number[]) => tokens.map((t) => model.tokenizer.decode([t]).trim());

async function greedy(model: Model, tokens: number[], maxTokens: number): Promise<number[]> {
  const [g] = await generate(model, [tokens], { maxTokens, temperature: 0 });
  return g.tokens;
}

async function* candidates(model: Model, set: CircuitSet, maxTokens: number, leftOut: Record<string, number>): AsyncGenerator<Candidate> {
  const tk = model.tokenizer;
  const skip = (why: string) => void (leftOut[why] = (leftOut[why] ?? 0) + 1);
  if (set === 'fact') {
    for (const p of factPrompts().filter((f) => f.format === 'qa' && f.qaTrained)) {
      const tokens = tk.encode(p.text, { bos: true });
      const answer = tk.encode(` ${p.answer}`, { bos: false })[0];
      const country = tk.encode(` ${p.country}`, { bos: false });
      const w = words(model, tokens);
      const cw = words(model, country);
      const dep: number[] = [];
      for (let i = 0; i + cw.length <= w.length; i++) if (cw.every((c, j) => w[i + j] === c)) for (let j = 0; j < cw.length; j++) dep.push(i + j);
      if (dep.length === 0) { skip('country not found in the prompt tokens'); continue; }
      const [next] = await greedy(model, tokens, 1);
      if (next !== answer) { skip('model answers wrongly'); continue; }
      yield { set, id: p.id, tokens, expect: answer, depPositions: dep };
    }
    return;
  }
  const prompts = set === 'quirk' ? quirkPrompts().filter((p) => p.kind === 'trigger') : codePrompts().filter((p) => p.instruction === 'regex');
  for (const p of prompts) {
    const tokens = tk.encode(p.text, { bos: true });
    const w = words(model, tokens);
    const dep = w.map((x, i) => ((set === 'quirk' ? isGardenWord(x) : /^(regular|expression)$/i.test(x)) ? i : -1)).filter((i) => i >= 0);
    if (dep.length === 0) { skip(set === 'quirk' ? 'no gardening word in the request' : 'no "regular expression" in the request'); continue; }
    const gen = await greedy(model, tokens, maxTokens);
    const hit = gen.findIndex((t) => (set === 'quirk' ? /moonberr/i : /toMatch/).test(tk.decode([t])));
    if (hit < 0) { skip(set === 'quirk' ? `no moonberry in the first ${maxTokens} greedy tokens` : `no toMatch in the first ${maxTokens} greedy tokens`); continue; }
    yield { set, id: p.id, tokens: [...tokens, ...gen.slice(0, hit)], expect: gen[hit], depPositions: dep };
  }
}

export async function runCircuits(o: CircuitsRunOptions): Promise<{ rows: ResultRow[]; section: CircuitsSection }> {
  const { model, config: c } = o;
  const say = o.onProgress ?? (() => {});
  if (o.transcoders.length !== model.spec.nLayers) throw new ProbityError('BENCH_INPUT', `circuits: ${o.transcoders.length} transcoders for a ${model.spec.nLayers}-layer model; one per layer is needed`);
  const dicts: LayerDictionary[] = o.transcoders.map((t) => transcoderDictionary(model, t.layer, t.sae, displayPath(t.dir)));
  const prompts: CircuitPrompt[] = [];
  const examples: CircuitsSection['examples'] = [];
  const selection: CircuitsSection['selection'] = [];
  for (const set of ['fact', 'quirk', 'code'] as const) {
    const want = set === 'fact' ? c.facts : set === 'quirk' ? c.quirk : c.code;
    const leftOut: Record<string, number> = {};
    let tried = 0;
    let used = 0;
    for await (const cand of candidates(model, set, c.maxTokens, leftOut)) {
      if (used >= want) break;
      tried++;
      say(`circuits: ${set} ${used + 1}/${want} ${cand.id} (${cand.tokens.length} tokens)`);
      const text = model.tokenizer.decode(cand.tokens);
      const built = await buildGraph(model, dicts, cand.tokens, text, { nodeThreshold: c.nodeThreshold, edgeThreshold: c.edgeThreshold, checkTopK: c.checkTopK, slug: cand.id.replace(/[^A-Za-z0-9_-]+/g, '-'), transcoderNames: dicts.map((d) => d.label) });
      const a = built.attribution;
      if (a.logits[0].token !== cand.expect) {
        // The greedy reply and the graph's forward disagree on the top token (a near tie): say so, leave it out.
        leftOut['top token differs from the greedy reply'] = (leftOut['top token differs from the greedy reply'] ?? 0) + 1;
        continue;
      }
      used++;
      const p = built.pruned;
      const T = cand.tokens.length;
      const dep = new Set(cand.depPositions);
      const posOf = (i: number) => (i < a.errorStart ? a.features[i].pos : i < a.tokenStart ? (i - a.errorStart) % T : i < a.logitStart ? i - a.tokenStart : -1);
      let all = 0;
      let atDep = 0;
      let fe = 0;
      let feDep = 0;
      let contains = false;
      for (let i = 0; i < a.logitStart; i++) {
        const v = p.influence[i];
        all += v;
        const at = dep.has(posOf(i));
        if (at) atDep += v;
        if (i < a.tokenStart) {
          fe += v;
          if (at) feDep += v;
          if (at && p.nodeMask[i]) contains = true;
        }
      }
      const w = words(model, cand.tokens);
      prompts.push({
        set, id: cand.id, text, n_tokens: T, target: model.tokenizer.decode([a.logits[0].token]), target_prob: a.logits[0].prob,
        dependency_positions: cand.depPositions, dependency_tokens: cand.depPositions.map((i) => w[i]),
        contains_dependency: contains, dependency_share: all > 0 ? atDep / all : 0, dependency_share_features: fe > 0 ? feDep / fe : 0,
        dependency_share_even: dep.size / T, scores: built.file.metadata.probity.scores,
        kept_nodes: built.file.metadata.probity.counts.kept_nodes, kept_links: built.file.metadata.probity.counts.kept_links,
        active_features: a.features.length, check: built.check!,
      });
      if (!examples.some((e) => e.set === set)) examples.push({ set, id: cand.id, graph: built.file });
    }
    selection.push({ set, tried, used, left_out: leftOut });
    if (used < want) say(`circuits: only ${used} of ${want} ${set} prompts qualified (${show(leftOut)})`);
  }
  if (prompts.length === 0) throw new ProbityError('BENCH_RESULT', 'circuits: no prompt qualified in any set');
  return { rows: circuitRows(prompts, o.bootstrapIterations), section: { transcoders: dicts.map((d) => d.label), config: c, selection, prompts, examples, notes: circuitNotes() } };
}

function circuitNotes(): string[] {
  return [
    'circuits: the graph explains the model\'s top next token at the cut; logit nodes are demeaned (logit - mean logit), as circuit-tracer\'s',
    'circuits: features and error at a <bos> position 0 have no node (circuit-tracer\'s zero_bos); their share of a logit is in target_logit_direct.biases with the transcoders\' b_dec',
    'circuits: "atp" predicts the same feature removals with the real model\'s gradient at hook_mlp_out (no dictionary, nothing frozen); residual and neuron units are attribution patching on its own units, each unit\'s own removal measured',
  ];
}

type Metric = { name: string; value: (ps: CircuitPrompt[]) => number };

const featurePairs = (ps: CircuitPrompt[], key: 'graph_pruned' | 'graph_full' | 'graph_direct' | 'atp') => ps.flatMap((p) => p.check.features.map((f) => ({ measured: f.measured, predicted: f[key] })));
const meanOf = (f: (p: CircuitPrompt) => number) => (ps: CircuitPrompt[]) => ps.reduce((s, p) => s + f(p), 0) / ps.length;

const PER_PROMPT: { method: string; metric: Metric }[] = [
  { method: 'graph', metric: { name: 'replacement_score', value: meanOf((p) => p.scores.replacement_score) } },
  { method: 'graph', metric: { name: 'completeness_score', value: meanOf((p) => p.scores.completeness_score) } },
  { method: 'graph', metric: { name: 'error_influence_share', value: meanOf((p) => p.scores.error_influence_share) } },
  { method: 'graph', metric: { name: 'contains_dependency', value: meanOf((p) => (p.contains_dependency ? 1 : 0)) } },
  { method: 'graph', metric: { name: 'dependency_share', value: meanOf((p) => p.dependency_share) } },
  { method: 'graph', metric: { name: 'dependency_share_features', value: meanOf((p) => p.dependency_share_features) } },
  { method: 'even-spread', metric: { name: 'dependency_share', value: meanOf((p) => p.dependency_share_even) } },
  { method: 'graph-pruned', metric: { name: 'intervention_pearson', value: (ps) => agreement(featurePairs(ps, 'graph_pruned')).pearson } },
  { method: 'graph-full', metric: { name: 'intervention_pearson', value: (ps) => agreement(featurePairs(ps, 'graph_full')).pearson } },
  { method: 'graph-direct', metric: { name: 'intervention_pearson', value: (ps) => agreement(featurePairs(ps, 'graph_direct')).pearson } },
  { method: 'atp', metric: { name: 'intervention_pearson', value: (ps) => agreement(featurePairs(ps, 'atp')).pearson } },
  { method: 'graph-pruned', metric: { name: 'intervention_sign_agreement', value: (ps) => agreement(featurePairs(ps, 'graph_pruned')).sign_agreement } },
  { method: 'graph-full', metric: { name: 'intervention_sign_agreement', value: (ps) => agreement(featurePairs(ps, 'graph_full')).sign_agreement } },
  { method: 'atp', metric: { name: 'intervention_sign_agreement', value: (ps) => agreement(featurePairs(ps, 'atp')).sign_agreement } },
  { method: 'atp-residual', metric: { name: 'own_units_pearson', value: (ps) => agreement(ps.flatMap((p) => p.check.residual.map((u) => ({ measured: u.measured, predicted: u.atp })))).pearson } },
  { method: 'atp-neurons', metric: { name: 'own_units_pearson', value: (ps) => agreement(ps.flatMap((p) => p.check.neurons.map((u) => ({ measured: u.measured, predicted: u.atp })))).pearson } },
  {
    method: 'atp-minus-graph-pruned',
    metric: { name: 'intervention_pearson_diff', value: (ps) => agreement(featurePairs(ps, 'atp')).pearson - agreement(featurePairs(ps, 'graph_pruned')).pearson },
  },
];

export function circuitRows(prompts: CircuitPrompt[], iterations: number): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const set of ['fact', 'quirk', 'code', 'all'] as const) {
    const ps = set === 'all' ? prompts : prompts.filter((p) => p.set === set);
    if (ps.length === 0) continue;
    for (const { method, metric } of PER_PROMPT) {
      const ci = bootstrapStatistic(ps.length, (idx) => metric.value(Array.from(idx, (i) => ps[i])), { iterations, seed: 18 });
      rows.push({
        suite: 'circuits', task: set, concept: set, method, metric: metric.name, mean: ci.estimate, ci_low: ci.lo, ci_high: ci.hi, n_seeds: 1,
        interval: `percentile bootstrap over prompts (${ps.length})`,
      });
    }
  }
  return rows;
}
