// The README's findings are the shipped result files' numbers: each quoted line is recomputed here from
// reports/bench-organism/results.json, reports/sae-frontier/frontier.json and models/organism/transcoders/metrics.json and
// must appear in the README verbatim.
// A regenerated result that moves a number fails this test until the README says the new number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.js';
import { frontierTable, type FrontierRow } from '../../src/dictionaries/frontier.js';
import type { BenchResults } from '../../src/bench/results.js';

const read = (p: string) => fs.readFileSync(path.join(PROJECT_ROOT, p), 'utf8');

const LABEL: Record<string, string> = {
  probe: 'probe', diffmean: 'DiffMean', 'sae-topk-probe': 'SAE top-k probe', sae: 'SAE best latent', kmeans: 'k-means', pca: 'PCA', random: 'random',
};

/** The README lines the result files imply. */
export function readmeLines(): string[] {
  const r = JSON.parse(read('reports/bench-organism/results.json')) as BenchResults;
  const auc = r.rows.filter((x) => x.suite === 'detect' && x.metric === 'auroc');
  const concepts = new Set(auc.map((x) => x.concept)).size;
  const meanOf = (m: string) => {
    const v = auc.filter((x) => x.method === m).map((x) => x.mean);
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const methods = [...new Set(auc.map((x) => x.method))].sort((a, b) => meanOf(b) - meanOf(a));
  const lines = [
    `- Detection: mean token AUROC over the ${concepts} concepts on test documents: ${methods.map((m) => `${LABEL[m] ?? m} ${meanOf(m).toFixed(3)}`).join(', ')}.`,
  ];
  const sv = r.rows.filter((x) => x.suite === 'steer' && x.metric === 'success_valid');
  for (const target of [...new Set(sv.map((x) => x.concept))]) {
    const of = (m: string) => sv.find((x) => x.concept === target && x.method === m)!;
    const ci = (m: string) => `${of(m).mean.toFixed(2)} [${of(m).ci_low.toFixed(2)}, ${of(m).ci_high.toFixed(2)}]`;
    const directions = sv.filter((x) => x.concept === target && !['prompt', 'rejection', 'unsteered'].includes(x.method) && x.method !== 'random');
    const best = directions.reduce((a, b) => (b.mean > a.mean ? b : a));
    lines.push(
      `- Steering to ${target}, share of test outputs on target and grammatical: prompting ${ci('prompt')}, rejection sampling ${ci('rejection')}, ` +
        `the best direction row (${best.method}, picked on test) ${ci(best.method)}, random directions ${ci('random')}, unsteered ${ci('unsteered')}.`,
    );
  }
  if (r.steer) {
    const ag = r.steer.chosen.map((c) => c.agreement);
    lines.push(
      `- Steering strength choice (one per target and method, validation pooled over ${r.provenance.seeds.length} seeds): a bootstrap of the validation prompts repeats it ` +
        `${(100 * ag.reduce((a, b) => a + b, 0) / ag.length).toFixed(0)}% of the time on average (lowest ${(100 * Math.min(...ag)).toFixed(0)}%, ${ag.length} choices); every steering interval re-chooses it.`,
    );
  }
  const ci2 = (x: { mean: number; ci_low: number; ci_high: number } | undefined) => (x ? `${x.mean.toFixed(2)} [${x.ci_low.toFixed(2)}, ${x.ci_high.toFixed(2)}]` : 'n/a');
  if (r.conditional) {
    const c = r.rows.filter((x) => x.suite === 'conditional' && x.task === 'conditional');
    const at = (m: string, metric: string) => c.find((x) => x.method === m && x.metric === metric && (x.setting === 'chosen on validation' || !['const-sae', 'const-diffmean', 'cond-sae', 'cond-diffmean'].includes(m)));
    const ms = ['unsteered', 'prompt', 'rejection', 'const-sae', 'const-diffmean', 'cond-sae', 'cond-diffmean'].filter((m) => at(m, 'regex_rate'));
    lines.push(
      `- Conditional steering against regexes (test prompts, validation-chosen settings), regex rate / share regex-free and grammatical: ${ms.map((m) => `${m} ${ci2(at(m, 'regex_rate'))} / ${ci2(at(m, 'clean_valid'))}`).join(', ')}; does the SAE earn its keep? ${r.conditional.pareto.sae_earns_keep}.`,
    );
    const t = (m: string) => r.rows.find((x) => x.suite === 'conditional' && x.task === 'trigger' && x.method === `trigger:${m}` && x.metric === 'recall_at_precision_0.999');
    lines.push(`- Regex triggers as token classifiers, recall at 99.9% precision on test tokens: SAE latent ${ci2(t('sae'))}, probe ${ci2(t('probe'))}, DiffMean ${ci2(t('diffmean'))}.`);
  }
  if (r.spurious) {
    const w = r.rows.filter((x) => x.suite === 'spurious' && x.metric === 'worst_group_acc');
    lines.push(`- Spurious correlation, worst-group accuracy on balanced test stories: ${w.map((x) => `${x.method} ${ci2(x)}`).join(', ')}.`);
  }
  if (r.audit) {
    const rv = r.rows.filter((x) => x.suite === 'audit' && x.task === 'reveal' && x.metric === 'reveal_rate');
    lines.push(`- Audit, reveal rate per sample: ${rv.map((x) => `${x.method}${x.setting ? ` (${x.setting})` : ''} ${ci2(x)}`).join(', ')}.`);
    const rk = r.rows.filter((x) => x.suite === 'audit' && x.task === 'rank' && x.metric === 'rank_first_moonberry');
    const range = (x: { mean: number; ci_low: number; ci_high: number }) => (Number.isFinite(x.mean) ? `${x.ci_low}-${x.ci_high}` : 'not found in some seed');
    lines.push(`- Audit, rank of the first item pointing at "moonberries" (range over seeds): ${rk.map((x) => `${x.method}${x.setting ? ` (${x.setting})` : ''} ${range(x)}`).join(', ')}.`);
  }
  if (r.circuits) {
    const c = r.rows.filter((x) => x.suite === 'circuits' && x.concept === 'all');
    const at = (method: string, metric: string) => c.find((x) => x.method === method && x.metric === metric);
    const n = r.circuits.prompts.length;
    const sets = ['fact', 'quirk', 'code'].map((s) => `${r.circuits!.prompts.filter((p) => p.set === s).length} ${s}`).join(', ');
    lines.push(
      `- Attribution graphs (${n} prompts: ${sets}), with the shipped transcoders: share of influence through error nodes ${ci2(at('graph', 'error_influence_share'))}, ` +
        `replacement score ${ci2(at('graph', 'replacement_score'))}, completeness score ${ci2(at('graph', 'completeness_score'))}; ` +
        `the pruned graph keeps a node at the position the answer depends on in ${ci2(at('graph', 'contains_dependency'))} of prompts, ` +
        `with ${ci2(at('graph', 'dependency_share'))} of the influence there (${ci2(at('even-spread', 'dependency_share'))} if spread evenly over positions).`,
    );
    lines.push(
      `- Predicting feature removals in the real model, Pearson r over (prompt, feature) pairs: pruned graph ${ci2(at('graph-pruned', 'intervention_pearson'))}, ` +
        `full graph ${ci2(at('graph-full', 'intervention_pearson'))}, direct edge ${ci2(at('graph-direct', 'intervention_pearson'))}, ` +
        `attribution patching ${ci2(at('atp', 'intervention_pearson'))} (difference ${ci2(at('atp-minus-graph-pruned', 'intervention_pearson_diff'))}); ` +
        `attribution patching on its own units: MLP neurons ${ci2(at('atp-neurons', 'own_units_pearson'))}, (layer, position) MLP outputs ${ci2(at('atp-residual', 'own_units_pearson'))}.`,
    );
  }
  const tc = JSON.parse(read('models/organism/transcoders/metrics.json')) as {
    layers: { layer: number; fve: number }[];
    ce: { clean: number; zero_all: number; spliced_all: number; score_all: number; score_all_ci: { lo: number; hi: number } };
  };
  lines.push(
    `- Transcoders (one per MLP): FVE of the MLP output ${tc.layers.map((l) => `L${l.layer} ${l.fve.toFixed(3)}`).join(', ')}; all ${tc.layers.length} MLPs replaced at once: CE ${tc.ce.spliced_all.toFixed(3)} against ${tc.ce.clean.toFixed(3)} clean and ${tc.ce.zero_all.toFixed(3)} zero-ablated, CE-loss score ${tc.ce.score_all.toFixed(4)} [${tc.ce.score_all_ci.lo.toFixed(4)}, ${tc.ce.score_all_ci.hi.toFixed(4)}].`,
  );
  const f = JSON.parse(read('reports/sae-frontier/frontier.json')) as { rows: FrontierRow[]; summary: string[] };
  const gap = frontierTable(f, 'text').find((l) => l.startsWith('best SAE minus best baseline: '))!;
  lines.push(`- Frontier, ${gap}.`);
  return lines;
}

test('README findings are the numbers of the shipped result files', () => {
  const readme = read('README.md');
  const missing = readmeLines().filter((l) => !readme.includes(l));
  assert.deepEqual(missing, [], `README lacks (recomputed from the result files):\n${missing.join('\n')}`);
});
