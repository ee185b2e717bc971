// The frontier's text summary is computed from the paired intervals, never typed: planted intervals below, above and
// around 0 must come out as "SAE better", "SAE worse" and "no clear difference" at the right operating points; the
// chart puts one line per family on a log2 L0 axis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarise, frontierSpec, seriesOf, type FrontierRow, type FrontierComparison } from '../../src/dictionaries/frontier.js';

const row = (codec: string, family: FrontierRow['family'], width: number, l0: number, fve: number, ce: number): FrontierRow => ({
  codec, family, width, l0_requested: l0, l0, fve, ce_loss_score: ce, kl_score: ce, n_tokens: 100, n_scored: 90, ce_clean: 1,
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
  assert.match(s.find((l) => l.startsWith('sae:a') && l.includes('ce_loss_score'))!, /SAE better$/);
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
