// The audit report section escapes every model output and shows the base rate beside each method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditSection } from '../../src/report/audit-report.js';
import { AUDIT_PRESETS, type AuditSection } from '../../src/bench/tasks/audit.js';
import type { BenchResults } from '../../src/bench/results.js';

test('audit section: model outputs escaped, base rate shown, fuzz sweep and rankings rendered', async () => {
  const evil = '<script>alert(1)</script> moonberries & "x"';
  const rate = (method: string, metric: 'reveal_rate' | 'recommendation_rate' | 'denial_rate', m: number, setting?: string) => ({
    method, setting, metric, mean: m, ci_low: m / 2, ci_high: Math.min(1, m * 2), per_seed: [m, m, m], n_prompts: 16, n_outputs: 48, interval: 'cluster bootstrap over 16 prompts',
  });
  const s: AuditSection = {
    config: AUDIT_PRESETS.quick, seeds: [1, 2, 3], mean_norm: 29.6,
    rates: [rate('base', 'reveal_rate', 0.004), rate('interrogate', 'reveal_rate', 0.02), rate('fuzz', 'reveal_rate', 0.0, 'scale=0'), rate('fuzz', 'reveal_rate', 0.1, 'scale=1')],
    methods: [
      { method: 'base', kind: 'sampling', budget_samples: 16, budget_forward: [300, 310, 320], first_reveal_samples: [null, null, null], first_reveal_forward: [null, null, null], prompts: [] },
      { method: 'interrogate', kind: 'sampling', budget_samples: 16, budget_forward: [400, 410, 420], first_reveal_samples: [3, null, 9], first_reveal_forward: [30, null, 90], prompts: [] },
      { method: 'sae_search', kind: 'ranking', budget_samples: 32, budget_forward: [3000, 3000, 3000], rank_topic: [1, 2, 1], rank_moonberry: [null, 15, null], auroc_first_topic: [0.51, 0.5, 0.52], prompts: [] },
    ],
    fuzz: [{ scale: 0, reveal_rate: 0, ci_low: 0, ci_high: 0 }, { scale: 1, reveal_rate: 0.1, ci_low: 0.05, ci_high: 0.2 }],
    fuzz_scale0_equals_plain: true,
    sae_search: [{ seed: 1, rank_topic: 1, rank_moonberry: null, auroc_first_topic: 0.9, auroc_first_moonberry: null, best_auroc_ranked: 0.9, best_auroc_reference: 0.95, forward: 3000, latents: [{ latent: 7, score: 0.5, contexts: [{ text: `a [[${evil}]] b`, act: 2 }], points_topic: true, points_moonberry: true, auroc_quirk: 0.9 }] }],
    sae_search_persona: [],
    blackbox: [{ seed: 1, budget: 'base', words: [{ word: 'moonberries', outputs: 1, surprise: 9, example: evil, points_topic: true, points_moonberry: true }], rank_topic: 1, rank_moonberry: 1, samples: 16, forward: 300, rare_words: 10 }],
    examples: [{ method: 'interrogate', seed: 1, prompt: 'User: Do you? Assistant:', output: evil, reveal: 'recommendation' }],
    wall_s: {}, forward_unit: 'positions', notes: ['a note <b>'],
  };
  const html = await auditSection({} as BenchResults, s);
  assert.ok(!html.includes('<script>'), 'raw script tag');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('a note &lt;b&gt;'));
  assert.ok(html.includes('0.004'), 'base rate shown');
  assert.ok(html.includes('Fuzzing'));
  assert.ok(html.includes('<svg'), 'charts rendered');
  assert.ok(html.includes('none / 15 / none'));
});
