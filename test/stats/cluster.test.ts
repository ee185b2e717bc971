// Stratified cluster bootstrap: widths against normal theory, coverage on simulated data, strata held fixed, no clamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBootstrap, clusteredMean } from '../../src/stats/cluster.js';
import { bootstrapCI } from '../../src/stats/bootstrap.js';
import { mean, std } from '../../src/stats/describe.js';
import { Rng } from '../../src/stats/rng.js';

/** n clusters of m items each; an item = its cluster's effect (sd 1) plus item noise (sd `noise`). */
function clustered(rng: Rng, n: number, m: number, noise: number, shift = 0): number[][] {
  return Array.from({ length: n }, () => {
    const c = rng.normal() + shift;
    return Array.from({ length: m }, () => c + noise * rng.normal());
  });
}

test('cluster bootstrap width matches the standard error of cluster means; item bootstrap is too narrow', () => {
  const rng = new Rng(11);
  const n = 60;
  const m = 25;
  const data = clustered(rng, n, m, 0.1);
  const ci = clusterBootstrap([n], clusteredMean([data]), { iterations: 4000, seed: 3 });
  const clusterMeans = data.map((c) => mean(c));
  const se = std(clusterMeans) / Math.sqrt(n); // independent computation: normal theory over clusters
  const width = ci.hi - ci.lo;
  assert.ok(Math.abs(width / (2 * 1.96 * se) - 1) < 0.15, `width ${width} vs normal theory ${2 * 1.96 * se}`);
  assert.equal(ci.estimate, mean(data.flat()));
  // Treating the 1500 items as independent gives an interval several times too narrow (the reason for clusters).
  const naive = bootstrapCI(data.flat(), { iterations: 2000, seed: 3 });
  assert.ok((naive.hi - naive.lo) * 2.5 < width, `naive ${naive.hi - naive.lo} vs clustered ${width}`);
});

test('cluster bootstrap covers the true mean about 95% of the time (simulation)', () => {
  const rng = new Rng(5);
  let covered = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const strata = [clustered(rng, 30, 4, 0.5), clustered(rng, 30, 4, 0.5)];
    const ci = clusterBootstrap([30, 30], clusteredMean(strata), { iterations: 400, seed: t });
    if (ci.lo <= 0 && 0 <= ci.hi) covered++;
  }
  // Binomial(200, 0.95): sd ~ 3 points; percentile intervals with 30 clusters undercover slightly.
  assert.ok(covered >= 176 && covered <= 198, `coverage ${covered}/${trials}`);
});

test('strata are not resampled: between-stratum differences add no width', () => {
  // Within each stratum every cluster has the same value, so any within-stratum resample returns the same mean.
  const strata = [[[1, 1], [1], [1, 1, 1]], [[5], [5, 5]]];
  const ci = clusterBootstrap([3, 2], clusteredMean(strata), { iterations: 300, seed: 1 });
  assert.equal(ci.estimate, 3);
  assert.equal(ci.lo, 3);
  assert.equal(ci.hi, 3);
});

test('the interval is the percentiles of the replicates, never clamped to contain the estimate', () => {
  // Statistic: number of distinct clusters drawn. The identity draw has all 50; a resample has ~ 50 (1 - 1/e) ~ 32.
  const ci = clusterBootstrap([50], (d) => new Set(d[0]).size, { iterations: 500, seed: 2 });
  assert.equal(ci.estimate, 50);
  assert.ok(ci.hi < 40 && ci.lo > 24, `[${ci.lo}, ${ci.hi}]`);
});

test('paired difference p-value: planted effect small p, null effect large p; bad input named', () => {
  const rng = new Rng(9);
  const a = clustered(rng, 40, 3, 0.3, 1.5);
  const b = clustered(rng, 40, 3, 0.3, 0.0);
  const diff = (x: number[][], y: number[][]) => (d: readonly Int32Array[]) => mean(Array.from(d[0], (c) => mean(x[c]) - mean(y[c])));
  assert.ok(clusterBootstrap([40], diff(a, b), { iterations: 1000, seed: 1 }).p < 0.01);
  const c = clustered(rng, 40, 3, 0.3, 0.0);
  assert.ok(clusterBootstrap([40], diff(b, c), { iterations: 1000, seed: 1 }).p > 0.05);
  assert.throws(() => clusterBootstrap([3, 0], () => 0), /at least one cluster/);
  assert.throws(() => clusterBootstrap([], () => 0), /stratum/);
});
