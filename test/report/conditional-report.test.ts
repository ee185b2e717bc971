// The conditional section of the bench report: the two plots are there (Pareto with a point per (method, strength),
// precision-recall with the triggers), every method has a row with its interval, and strings from the results are
// escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionalSection } from '../../src/report/conditional-report.js';
import type { BenchResults, ResultRow } from '../../src/bench/results.js';
import type { ConditionalPoint, ConditionalSection } from '../../src/bench/tasks/conditional.js';
import { CONDITIONAL_PRESETS } from '../../src/bench/tasks/conditional.js';

test('conditional report: table, Pareto and PR plots, escaping', async () => {
  const methods = ['unsteered', 'prompt', 'cond-sae'];
  const rows: ResultRow[] = [];
  const pt = (method: string, setting: string, strength: number, chosen: boolean, regex: number): ConditionalPoint => ({
    method, setting, strength, chosen, regex_rate: regex, valid_rate: 0.9, clean_valid: 0.9 - regex, fact_recall: 1, fact_recall_drop: 0, story_tone: 0.8, off_target_kl: chosen ? 0 : 0.01, samples_per_output: 1,
  });
  const points = [pt('unsteered', 'none', NaN, true, 0.35), pt('prompt', 'none', NaN, true, 0.05), pt('cond-sae', 'strength=1', 1, false, 0.2), pt('cond-sae', 'strength=2', 2, false, 0.1), pt('cond-sae', 'chosen on validation', NaN, true, 0.1)];
  for (const p of points) {
    for (const metric of ['regex_rate', 'fact_recall', 'off_target_kl']) {
      rows.push({ suite: 'conditional', task: 'conditional', concept: 'code:regex', method: p.method, setting: p.setting, metric, mean: metric === 'regex_rate' ? p.regex_rate : 0.5, ci_low: 0.123, ci_high: 0.987, n_seeds: 3, interval: 'x' });
    }
  }
  rows.push({ suite: 'conditional', task: 'trigger', concept: 'code:regex', method: 'trigger:sae', setting: 't', metric: 'recall_at_precision_0.999', mean: 0.2, ci_low: 0.1, ci_high: 0.3, n_seeds: 3 });
  const s: ConditionalSection = {
    settings: { ...CONDITIONAL_PRESETS.quick, unit_norm: 30 }, methods, grid: [], chosen: [], points, val_points: [], latents: [{ seed: 1, latent: 5, train_auroc: 0.7, threshold: 1, pre_passes_not_in_topk: 0 }],
    triggers: { fits: [], stats: [{ trigger: 'sae', metric: 'recall_at_precision_0.999', estimate: 0.2, lo: 0.1, hi: 0.3, per_seed: [0.2] }], diffs: [{ trigger: 'sae', baseline: 'probe', metric: 'recall_at_precision_0.999', diff: -0.05, ci_low: -0.2, ci_high: 0.1, p: 0.4 }], curves: ['sae', 'probe'].map((t) => ({ trigger: t as 'sae', seed: 1, points: [{ recall: 0.1, precision: 1 }, { recall: 0.5, precision: 0.7 }], at_threshold: { recall: 0.3, precision: 0.9 } })), n_docs: 10 },
    rejection: { cap: 8, mean_samples: 1.5, capped_share: 0 }, eval_match: { prompts: 11, samples: 4, regex_rate: 0.3, ci_low: 0.2, ci_high: 0.4, reference: 0.34, reference_source: 'organism/eval.json' },
    comparisons: [], pareto: { front: ['prompt'], winner: 'prompt', sae_earns_keep: 'no <script>' }, examples: [{ method: 'prompt', setting: 'none', prompt: 'User: <b>', output: 'x', regex: false, valid: true }], notes: ['a <note>'],
  };
  const html = await conditionalSection({ rows } as unknown as BenchResults, s);
  assert.equal((html.match(/<svg/g) ?? []).length, 2, 'the Pareto plot and the PR plot');
  for (const m of methods) assert.ok(html.includes(`<td class="t">${m}</td>`), m);
  assert.ok(html.includes('0.123'), 'intervals shown');
  assert.ok(!html.includes('<script>') && html.includes('&lt;script&gt;') && html.includes('&lt;note&gt;') && !html.includes('User: <b>'));
  assert.ok(/regex rate \(test\)/.test(html) && /precision/.test(html));
});
