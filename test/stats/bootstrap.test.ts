// Bootstrap intervals, paired differences, quantile bins, and the basic descriptive statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCI, bootstrapStatistic, pairedBootstrapDiff } from '../../src/stats/bootstrap.js';
import { quantileBins } from '../../src/stats/bins.js';
import { mean, quantileSorted, std } from '../../src/stats/describe.js';
import { auroc } from '../../src/stats/auroc.js';
import { Rng } from '../../src/stats/rng.js';

test('mean, std, quantiles by hand', () => {
  const v = [2, 4, 4, 4, 5, 5, 7, 9]; // mean 5, sum of squared deviations 32
  assert.equal(mean(v), 5);
  assert.equal(std(v, 0), 2);
  assert.equal(std(v), Math.sqrt(32 / 7));
  assert.equal(std([1e9 + 1, 1e9 + 3]), Math.SQRT2); // two-pass: the offset costs nothing
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4], 1 / 3), 2);
  assert.equal(quantileSorted([1, 2, 3, 4], 1), 4);
  assert.throws(() => mean([]), /empty/);
});

test('Rng is seeded and deterministic', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.u32()), xs);
  const c = new Rng(43);
  assert.notDeepEqual(Array.from({ length: 5 }, () => c.u32()), xs);
  const r = new Rng(1);
  const z = Array.from({ length: 20000 }, () => r.normal());
  assert.ok(Math.abs(mean(z)) < 0.03 && Math.abs(std(z) - 1) < 0.03);
  assert.throws(() => new Rng(-1), /non-negative/);
});

test('bootstrap CI of the mean: deterministic, contains the estimate, about the normal-theory width', () => {
  const rng = new Rng(3);
  const v = Array.from({ length: 100 }, () => rng.normal());
  const ci = bootstrapCI(v, { iterations: 2000, seed: 1 });
  assert.deepEqual(bootstrapCI(v, { iterations: 2000, seed: 1 }), ci);
  assert.equal(ci.estimate, mean(v));
  assert.ok(ci.lo < ci.estimate && ci.estimate < ci.hi);
  const width = ci.hi - ci.lo; // normal theory: 2 * 1.96 * std / sqrt(100)
  const expected = (2 * 1.96 * std(v)) / 10;
  assert.ok(Math.abs(width - expected) < 0.15 * expected, `width ${width} vs ${expected}`);
  // Constant data: every replicate equals the estimate.
  assert.deepEqual([bootstrapCI([3, 3, 3], { iterations: 50 }).lo, bootstrapCI([3, 3, 3], { iterations: 50 }).hi], [3, 3]);
  // A custom statistic (median) over the resampled values.
  const med = bootstrapCI([1, 2, 3, 4, 100], { iterations: 200, statistic: (s) => quantileSorted(Array.from(s).sort((a, b) => a - b), 0.5) });
  assert.equal(med.estimate, 3);
  assert.ok(med.hi <= 100 && med.lo >= 1);
});

test('bootstrap of a statistic over units (AUROC), one-class resamples counted as invalid', () => {
  const scores = [0.1, 0.4, 0.35, 0.8];
  const labels = [0, 0, 1, 1];
  const ci = bootstrapStatistic(4, (idx) => auroc(Array.from(idx, (i) => scores[i]), Array.from(idx, (i) => labels[i])), { iterations: 500, seed: 2 });
  assert.equal(ci.estimate, 0.75);
  // P(one class only) = 2 * (1/2)^4 = 1/8: 62.5 of 500 expected, sd ~7.4.
  assert.ok(ci.nInvalid >= 35 && ci.nInvalid <= 95, `nInvalid ${ci.nInvalid}`);
  // Over the valid replicates the 2.5% quantile is a resample with AUROC 0 (e.g. [0.4, 0.35]) and the 97.5% one 1.
  assert.deepEqual([ci.lo, ci.hi], [0, 1]);
});

test('paired bootstrap difference', () => {
  const rng = new Rng(8);
  const base = Array.from({ length: 50 }, () => 10 * rng.normal()); // large between-unit variance, cancels in pairs
  const a = base.map((v) => v + 1);
  const exact = pairedBootstrapDiff(a, base, { iterations: 999, seed: 1 });
  assert.ok(Math.abs(exact.estimate - 1) < 1e-12);
  assert.ok(Math.abs(exact.lo - 1) < 1e-12 && Math.abs(exact.hi - 1) < 1e-12);
  assert.equal(exact.p, 2 / 1000); // no replicate <= 0: 2 * (0 + 1) / (999 + 1)
  const same = pairedBootstrapDiff(base, base, { iterations: 99 });
  assert.equal(same.estimate, 0);
  assert.equal(same.p, 1);
  // Pure noise differences: the CI covers 0 and p is not small.
  const noisy = base.map((v) => v + rng.normal());
  const d = pairedBootstrapDiff(noisy, base, { iterations: 2000, seed: 4 });
  assert.ok(d.lo < 0 && d.hi > 0 && d.p > 0.05, JSON.stringify(d));
  assert.throws(() => pairedBootstrapDiff([1], [1, 2]), /equal lengths/);
});

test('quantile bins by hand, ties never straddle a bin', () => {
  const scores = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const labels = [0, 0, 0, 1, 0, 1, 1, 0, 1, 1];
  const bins = quantileBins(scores, labels, 5);
  assert.deepEqual(
    bins.map((b) => [b.lo, b.hi, b.n, b.fractionPositive]),
    [
      [1, 2, 2, 0],
      [3, 4, 2, 0.5],
      [5, 6, 2, 0.5],
      [7, 8, 2, 0.5],
      [9, 10, 2, 1],
    ],
  );
  // [1,1,1,2,3,4] into 3: the first cut (after 2) moves past the ties to 3; the next cut falls at 4.
  const tied = quantileBins([4, 1, 3, 1, 2, 1], [1, 0, 1, 0, 0, 1], 3);
  assert.deepEqual(
    tied.map((b) => [b.lo, b.hi, b.n, b.nPositive]),
    [
      [1, 1, 3, 1],
      [2, 2, 1, 0],
      [3, 4, 2, 2],
    ],
  );
  assert.equal(quantileBins([7, 7, 7], [0, 1, 1], 4).length, 1);
});
