// The circuits suite's section of the bench report: what the graphs' error terms carry, whether the pruned graphs keep
// the position the answer depends on, and which predictor of the real model's response to interventions wins (the
// graph or attribution patching), every number with its bootstrap interval over prompts; the prompts one by one.
// Strings from the results go through esc.
import type { BenchResults } from '../bench/results.js';
import type { CircuitsSection } from '../bench/tasks/circuits.js';
import { details, esc, interval, list, num, rowIndex, table } from './html.js';

const SETS = ['fact', 'quirk', 'code', 'all'] as const;

export function circuitsSection(r: BenchResults, s: CircuitsSection): string {
  const rows = r.rows.filter((x) => x.suite === 'circuits');
  const get = rowIndex(rows);
  const sets = SETS.filter((set) => rows.some((x) => x.concept === set));
  const cell = (set: string, method: string, metric: string) => {
    const x = get(set, method, metric);
    return x ? interval(x.mean, x.ci_low, x.ci_high) : '–';
  };
  const n = (set: string) => (set === 'all' ? s.prompts.length : s.prompts.filter((p) => p.set === set).length);
  const c = s.config;
  const intro = `<p>${esc(
    `Attribution graphs (MLPs replaced by the per-layer transcoders ${s.transcoders.join(', ')} plus error nodes; attention patterns and norm scales frozen) ` +
      `of the model's top next token, pruned at ${c.nodeThreshold} cumulative node influence and ${c.edgeThreshold} edge influence. ` +
      'fact: the capital / attribute answer, which depends on the country name; quirk: the first "moonberries" of the greedy reply to a gardening question, which depends on the gardening words; ' +
      'code: the first toMatch of the greedy reply to "with a regular expression", which depends on those words. Intervals: percentile bootstrap over prompts.',
  )}</p>`;
  const head = ['metric', ...sets.map((set) => `${esc(set)} (${n(set)} prompts)`)];
  const line = (label: string, method: string, metric: string) => [esc(label), ...sets.map((set) => cell(set, method, metric))];
  const errors = table(head, [
    line('replacement score', 'graph', 'replacement_score'),
    line('completeness score', 'graph', 'completeness_score'),
    line('share of influence through error nodes', 'graph', 'error_influence_share'),
  ]);
  const truth = table(head, [
    line('pruned graph keeps a feature / error node at the dependency', 'graph', 'contains_dependency'),
    line('influence share at the dependency positions (all nodes)', 'graph', 'dependency_share'),
    line('the same, feature and error nodes only', 'graph', 'dependency_share_features'),
    line('even spread over positions (reference)', 'even-spread', 'dependency_share'),
  ]);
  const check = table(head, [
    line('pruned graph: Pearson r with measured removals', 'graph-pruned', 'intervention_pearson'),
    line('full graph: Pearson r', 'graph-full', 'intervention_pearson'),
    line('direct edge only: Pearson r', 'graph-direct', 'intervention_pearson'),
    line('attribution patching (real gradient): Pearson r', 'atp', 'intervention_pearson'),
    line('r(attribution patching) - r(pruned graph)', 'atp-minus-graph-pruned', 'intervention_pearson_diff'),
    line('pruned graph: sign agreement', 'graph-pruned', 'intervention_sign_agreement'),
    line('full graph: sign agreement', 'graph-full', 'intervention_sign_agreement'),
    line('attribution patching: sign agreement', 'atp', 'intervention_sign_agreement'),
    line('attribution patching on (layer, position) MLP outputs, own removals: r', 'atp-residual', 'own_units_pearson'),
    line('attribution patching on MLP neurons, own removals: r', 'atp-neurons', 'own_units_pearson'),
  ]);
  const diff = get('all', 'atp-minus-graph-pruned', 'intervention_pearson_diff');
  const verdict = diff
    ? diff.ci_low > 0
      ? 'Attribution patching predicts the real model\'s response to feature removals better than the pruned graph (the interval of the difference is above 0).'
      : diff.ci_high < 0
        ? 'The pruned graph predicts the real model\'s response to feature removals better than attribution patching (the interval of the difference is below 0).'
        : 'Neither the pruned graph nor attribution patching predicts the feature removals measurably better (the interval of the difference contains 0).'
    : '';
  const sel = list(s.selection.map((x) => `${x.set}: ${x.used} prompts used of ${x.tried} tried${Object.keys(x.left_out).length ? `; left out: ${Object.entries(x.left_out).map(([k, v]) => `${v} ${k}`).join(', ')}` : ''}`));
  const prompts = table(
    ['set', 'prompt', 'target', 'dependency', 'kept', 'replacement', 'completeness', 'error share', 'dep. share', 'even'],
    s.prompts.map((p) => [
      esc(p.set), esc(p.text.length > 90 ? '…' + p.text.slice(-90) : p.text), `${esc(p.target)} (${num(p.target_prob)})`, esc(p.dependency_tokens.join(' ')),
      p.contains_dependency ? 'yes' : '<strong>no</strong>', num(p.scores.replacement_score), num(p.scores.completeness_score), num(p.scores.error_influence_share), num(p.dependency_share), num(p.dependency_share_even),
    ]),
    { textCols: 5 },
  );
  const examples = s.examples.length ? `<p>${esc(`Example graphs (viewer JSON, circuit-tracer / Neuronpedia schema) are written beside results.json: ${s.examples.map((e) => `graphs/${e.graph.metadata.slug}.json`).join(', ')}.`)}</p>` : '';
  return [
    '<h2>Circuits (attribution graphs)</h2>',
    intro,
    '<h3>Error terms</h3>',
    errors,
    '<h3>Ground truth: the position the answer depends on</h3>',
    truth,
    '<h3>Predicting interventions on the real model</h3>',
    `<p>${esc(`The ${c.checkTopK} most influential feature nodes of each pruned graph are removed from the real model one at a time (attention, norms and later MLPs live); the change of the target's demeaned logit is compared with each predictor's.`)}</p>`,
    check,
    verdict ? `<p><strong>${esc(verdict)}</strong></p>` : '',
    examples,
    details('prompt selection', sel),
    details(`every prompt (${s.prompts.length})`, prompts),
    s.notes.length ? list(s.notes) : '',
  ].join('\n');
}
