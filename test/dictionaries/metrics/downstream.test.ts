// CE / KL accumulators and the recovered-fraction scores, by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ceLossScore, klScore, CrossEntropyStats, KLStats } from '../../../src/dictionaries/metrics/downstream.js';
import { Rng } from '../../../src/stats/rng.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('scores: fraction of the zero-ablation damage recovered', () => {
  close(ceLossScore(2, 2.5, 4), 0.75); // (4 - 2.5) / (4 - 2)
  close(ceLossScore(2, 2, 4), 1);
  close(ceLossScore(2, 4, 4), 0);
  close(klScore(0.1, 0.4), 0.75); // (0.4 - 0.1) / 0.4
  assert.ok(Number.isNaN(ceLossScore(2, 2, 2)));
  assert.ok(Number.isNaN(klScore(0, 0)));
});

test('cross-entropy by hand, padding skipped, large logits stable', () => {
  // row 0: logits [0, 0], target 0 -> ln 2; row 1: [ln 3, 0] -> p = [3/4, 1/4], target 1 -> ln 4
  // row 2: target -1 (padding) skipped; row 3: [1000, 1000] target 1 -> ln 2 (naive exp would overflow)
  const logits = Float32Array.of(0, 0, Math.log(3), 0, 5, 5, 1000, 1000);
  const ce = new CrossEntropyStats(2).add(logits, [0, 1, -1, 1], 4);
  assert.equal(ce.count, 3);
  close(ce.mean(), (Math.log(2) + Math.log(4) + Math.log(2)) / 3, 1e-7); // float32 ln 3
  assert.throws(() => new CrossEntropyStats(2).add(logits, [0, 2, 0, 0], 4), /target 2 at token 1/);
});

test('KL(clean || spliced) by hand', () => {
  // clean [ln 3, 0] -> p = [3/4, 1/4]; spliced [0, 0] -> q = [1/2, 1/2]
  // KL = 3/4 ln(3/2) + 1/4 ln(1/2)
  const kl = new KLStats(2).add(Float64Array.of(Math.log(3), 0), Float64Array.of(0, 0), 1);
  close(kl.mean(), 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5));
  // Identical distributions (shifted logits) -> 0; the mask skips token 1.
  const same = new KLStats(3).add(Float64Array.of(1, 2, 3, 9, 9, 9), Float64Array.of(101, 102, 103, 0, 0, 50), 2, [1, 0]);
  assert.equal(same.count, 1);
  close(same.mean(), 0, 1e-12);
});

test('CE and KL do not depend on batch size', () => {
  const rng = new Rng(5);
  const n = 23;
  const V = 11;
  const a = Float32Array.from({ length: n * V }, () => 3 * rng.normal());
  const b = Float32Array.from(a, (v) => v + rng.normal());
  const y = Int32Array.from({ length: n }, () => rng.int(V));
  const run = (batch: number) => {
    const ce = new CrossEntropyStats(V);
    const kl = new KLStats(V);
    for (let t0 = 0; t0 < n; t0 += batch) {
      const m = Math.min(batch, n - t0);
      ce.add(a.subarray(t0 * V, (t0 + m) * V), y.subarray(t0, t0 + m), m);
      kl.add(a.subarray(t0 * V, (t0 + m) * V), b.subarray(t0 * V, (t0 + m) * V), m);
    }
    return [ce.mean(), kl.mean()];
  };
  const all = run(n);
  for (const batch of [1, 7]) run(batch).forEach((v, i) => close(v, all[i], 1e-9));
  assert.ok(all[1] > 0);
});
