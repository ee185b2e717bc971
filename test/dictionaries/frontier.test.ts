// The frontier's text summary is computed from the paired intervals, never typed: planted intervals below, above and
// around 0 must come out as "SAE better", "SAE worse" and "no clear difference" at the right operating points; the
// chart puts one line per family on a log2 L0 axis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarise, frontierSpec, frontierTable, seriesOf, type FrontierRow, type FrontierComparison } from '../../src/dictionaries/frontier.js';

// ce_added planted as the loss a splice adds with clean loss 1 and zero-ablation loss 11: (1 - score) x 10.
const row = (codec: string, family: FrontierRow['family'], width: number, l0: number, fve: number, ce: number): FrontierRow => ({
  codec, family, width, l0_requested: l0, l0, fve, ce_loss_score: ce, kl_score: ce, n_tokens: 100, n_scored: 90, ce_clean: 1, ce_added: (1 - ce) * 10,
});
const stat = (estimate: number, lo: number, hi: number) => ({ estimate, lo, hi, p: 0.5 });

test('summary verdicts follow the planted paired intervals', () => {
  const rows = [row('sae:a', 'sae', 64, 4, 0.9, 0.99), row('sae:b', 'sae', 64, 16, 0.95, 0.999), row('pca_l0_4', 'pca', 8, 4, 0.5, 0.7), row('pca_l0_16', 'pca', 8, 16, 0.97, 0.9995)];
  const comparisons: FrontierComparison[] = [
    { sae: 'sae:a', baseline: 'pca_l0_4', l0: 4, diff: { fve: stat(-0.4, -0.45, -0.35), ce_loss_score: stat(-0.29, -0.3, -0.28), kl_score: stat(0, 0, 0) } },
    { sae: 'sae:b', baseline: 'pca_l0_16', l0: 16, diff: { fve: stat(0.02, 0.01, 0.03), ce_loss_score: stat(0.0005, -0.001, 0.002), kl_score: stat(0, 0, 0) } },
  ];
  const s = summarise(comparisons, rows);
  assert.equal(s[0], 'against pca on fve: SAE better at 1 (L0 4 w64), worse at 1 (L0 16 w64), no clear difference at 0 of 2 operating points');
  assert.equal(s[1], 'against pca on ce_loss_score: SAE better at 1 (L0 4 w64), worse at 0, no clear difference at 1 (L0 16 w64) of 2 operating points');
  assert.match(s.find((l) => l.startsWith('sae:b') && l.includes('fve'))!, /SAE worse$/);
  // The CE line carries the loss each splice adds, so a clear but tiny difference reads as tiny.
  assert.match(s.find((l) => l.startsWith('sae:a') && l.includes('ce_loss_score'))!, /SAE better; loss added 0\.1000 vs 3\.0000 nats\/token$/);
  assert.match(s.find((l) => l.startsWith('sae:b') && l.includes('ce_loss_score'))!, /no clear difference; loss added 0\.0100 vs 0\.0050 nats\/token$/);
});

test('frontier chart: log2 L0 axis with power-of-two ticks, one series per family (SAEs and random per width)', () => {
  const rows = [row('sae:a', 'sae', 64, 4, 0.9, 0.99), row('sae:c', 'sae', 32, 30, 0.9, 0.99), row('random64_l0_4', 'random', 64, 4, 0.2, 0.7), row('pca_l0_4', 'pca', 8, 4, 0.5, 0.7)];
  const spec = frontierSpec(rows) as unknown as { hconcat: { encoding: { x: { scale: { type: string; base: number; domain: number[] }; axis: { values: number[] } } } }[] };
  assert.equal(spec.hconcat.length, 2);
  const x = spec.hconcat[0].encoding.x;
  assert.equal(x.scale.type, 'log');
  assert.equal(x.scale.base, 2);
  assert.deepEqual(x.axis.values, [4, 8, 16, 32]);
  assert.deepEqual(rows.map(seriesOf), ['SAE w64', 'SAE w32', 'random dictionary w64', 'PCA']);
});

test('frontier table: one line per L0, cells from the rows, the SAE-minus-best-baseline gap computed per L0', () => {
  const rows = [
    row('sae:a', 'sae', 64, 4, 0.9, 0.99), row('pca_l0_4', 'pca', 8, 4, 0.5, 0.7), row('kmeans_mp_l0_4', 'kmeans', 256, 4, 0.8, 0.95),
    row('sae:b', 'sae', 64, 16, 0.95, 0.999), row('kmeans_mp_l0_16', 'kmeans', 256, 16, 0.96, 0.9995),
  ];
  const t = frontierTable({ rows, summary: ['against pca on fve: planted', 'sae:a vs pca: detail'] }, 'text');
  assert.match(t[1], /^4 +0\.900 \/ 0\.9900 +0\.500 \/ 0\.7000 +0\.800 \/ 0\.9500/);
  assert.match(t[2], /^16 +0\.950 \/ 0\.9990 +- +0\.960 \/ 0\.9995/);
  // Best SAE minus best baseline: at L0 4 0.9 - 0.8 and 0.99 - 0.95; at L0 16 the baseline wins (negative gaps).
  assert.ok(t.includes('best SAE minus best baseline: L0 4: FVE 0.100, CE-loss score 0.0400; L0 16: FVE -0.010, CE-loss score -0.0005'));
  assert.ok(t.includes('against pca on fve: planted') && !t.some((l) => l.includes('detail')));
  const md = frontierTable({ rows, summary: [] }, 'markdown');
  assert.equal(md[0], '| L0 | SAE w64 | PCA | k-means (matching pursuit) |');
});
