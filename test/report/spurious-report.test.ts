// The spurious suite's report section on a synthetic section (no model runs): every method reaches the table with its
// row's numbers, the group chart is inline SVG, chosen latents and their contexts show, strings from the results are
// escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spuriousSection } from '../../src/report/spurious-report.js';
import { SPURIOUS_METRICS, SPURIOUS_PRESETS, type SpuriousSection } from '../../src/bench/tasks/spurious.js';
import type { BenchResults, ResultRow } from '../../src/bench/results.js';

const XSS = '<script>alert(1)</script>';

test('spurious report: table with every method and interval, group chart, chosen latents, escaping', async () => {
  const methods = ['original', 'shift@h', 'projection', 'oracle'];
  const rows: ResultRow[] = [];
  methods.forEach((m, i) =>
    SPURIOUS_METRICS.forEach((metric, j) => {
      if (metric === 'scr' && (m === 'original' || m === 'oracle')) return;
      const mean = 0.5 + 0.01 * (i * 5 + j);
      rows.push({ suite: 'spurious', task: 'spurious', concept: 'c', method: m, metric, mean, ci_low: mean - 0.05, ci_high: mean + 0.05, n_seeds: 3, interval: 'x' });
    }),
  );
  const section: SpuriousSection = {
    notes: [`a note ${XSS}`], config: SPURIOUS_PRESETS.quick, hook: 'blocks.2.hook_resid_post', seeds: [1, 2, 3], groups: ['happy/sunny', 'happy/rainy+cloudy', 'sad/sunny', 'sad/rainy+cloudy'],
    group_counts: [{ split: 'test (balanced)', counts: [24, 24, 24, 24] }],
    methods: methods.map((name) => ({ name, affordances: `aff ${name}`, upper_bound: name === 'oracle' })),
    per_seed: [{ method: 'original', metric: 'tone_acc', values: [0.7, 0.71, 0.72] }],
    group_acc: methods.flatMap((m) => ['happy/sunny', 'sad/sunny'].map((g) => ({ method: m, group: g, mean: 0.6, ci_low: 0.5, ci_high: 0.7 }))),
    comparisons: [{ method: 'shift@h', baseline: 'projection', metric: 'worst_group_acc', diff: -0.0421, ci_low: -0.1, ci_high: 0.02, p: 0.3, interval: 'paired' }],
    shift: [{ method: 'shift@h', seed: 1, hook: 'h', sae: 'sae-dir', ranked: [{ latent: 77, attribution: 0.2, auroc_train: 0.71 }], grid: [{ k: 0, val_acc: 1, reliance: 0.5 }, { k: 1, val_acc: 1, reliance: 0.4 }], k: 1,
      chosen: [{ latent: 77, attribution: 0.2, auroc_train: 0.71, auroc_test: 0.69, contexts: [{ story: 's', activation: 3, text: `The[[ sun]] was ${XSS}`, weather_token: true }] }] }],
    deleted: [{ kind: 'delete-weather-words', tokens_per_story: 1.5, what: 'weather tokens' }], interval: 'cluster bootstrap', seconds: 1,
  };
  const html = await spuriousSection({ rows } as BenchResults, section);
  assert.ok(!html.includes(XSS), 'results strings are escaped');
  assert.ok(html.includes('&lt;script&gt;'));
  for (const m of methods) assert.ok(html.includes(`<td class="t">${m}`), `method ${m} in the table`);
  const orig = rows.find((r) => r.method === 'original' && r.metric === 'worst_group_acc')!;
  assert.ok(html.includes(`${orig.mean.toFixed(3)} [${orig.ci_low.toFixed(3)}, ${orig.ci_high.toFixed(3)}]`), 'the row interval is printed');
  assert.ok(html.includes('(upper bound)'));
  assert.ok(html.includes('<svg'), 'the group chart renders inline');
  assert.ok(html.includes('-0.042 [-0.100, 0.020]'), 'the paired comparison shows');
  assert.ok(html.includes('The[[ sun]] was') && html.includes('>77<'), 'chosen latent and its context');
});
