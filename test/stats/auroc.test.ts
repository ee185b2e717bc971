// AUROC against hand cases and an O(n^2) pairwise count; recall at a fixed FPR with its tie rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, recallAtFpr, rocPointAtFpr } from '../../src/stats/auroc.js';
import { Rng } from '../../src/stats/rng.js';

/** P(pos > neg) + 0.5 P(tie) over all pairs, directly. */
function pairwiseAuroc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('auroc by hand', () => {
  // positives 0.35, 0.8; negatives 0.1, 0.4: 0.35 beats 0.1 only, 0.8 beats both -> 3/4
  assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // tie: positive 1 vs negative 1 counts 1/2, positive 2 beats it -> 1.5/2
  assert.equal(auroc([1, 1, 2], [0, 1, 1]), 0.75);
  assert.equal(auroc([3, 2, 1], [true, false, false]), 1);
  assert.equal(auroc([5, 5, 5, 5], [1, 0, 1, 0]), 0.5);
  assert.ok(Number.isNaN(auroc([1, 2], [1, 1])));
  assert.throws(() => auroc([1, NaN], [0, 1]), /scores\[1\] is NaN/);
  assert.throws(() => auroc([1, 2], [0, 2]), /labels\[1\] is 2/);
});

test('auroc agrees with the pairwise count on random data with many ties', () => {
  for (let seed = 0; seed < 20; seed++) {
    const rng = new Rng(seed);
    const n = 5 + rng.int(60);
    const labels = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    const scores = Array.from({ length: n }, (_, i) => rng.int(6) + labels[i] * rng.int(3)); // integers: lots of ties
    const a = auroc(scores, labels);
    const b = pairwiseAuroc(scores, labels);
    assert.ok(Math.abs(a - b) < 1e-12, `seed ${seed}: ${a} vs ${b}`);
  }
});

test('recall at FPR: threshold from the negatives, strict >, ties called negative', () => {
  const neg = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const pos = [5.5, 9.5, 10, 11, 12];
  const scores = [...neg, ...pos];
  const labels = [...neg.map(() => 0), ...pos.map(() => 1)];
  // fpr 0.1: one false positive allowed -> threshold = 2nd largest negative = 9; positives > 9: 4 of 5
  assert.deepEqual(rocPointAtFpr(scores, labels, 0.1), { threshold: 9, recall: 0.8, fpr: 0.1 });
  // fpr 0: threshold 10 (largest negative); the positive tied at 10 is not counted -> 2 of 5
  assert.deepEqual(rocPointAtFpr(scores, labels, 0), { threshold: 10, recall: 0.4, fpr: 0 });
  // fpr 0.25: floor(2.5) = 2 allowed -> threshold 8 -> 4 of 5
  assert.equal(recallAtFpr(scores, labels, 0.25), 0.8);
  // fpr 1: everything is called positive
  assert.deepEqual(rocPointAtFpr(scores, labels, 1), { threshold: -Infinity, recall: 1, fpr: 1 });
});

test('recall at FPR: tied negatives keep the realised FPR at or under the target; float guard', () => {
  // negatives [5,5,5,1], fpr 0.25 -> 1 allowed -> threshold = 2nd largest = 5 -> no negative is > 5
  const p = rocPointAtFpr([5, 5, 5, 1, 6, 5], [0, 0, 0, 0, 1, 1], 0.25);
  assert.deepEqual(p, { threshold: 5, recall: 0.5, fpr: 0 });
  // 0.29 * 100 = 28.999999999999996 in floating point; 29 false positives must still be allowed
  const negs = Array.from({ length: 100 }, (_, i) => i);
  const q = rocPointAtFpr([...negs, 1000], [...negs.map(() => 0), 1], 0.29);
  assert.equal(q.threshold, 70);
  assert.equal(q.fpr, 0.29);
  assert.throws(() => recallAtFpr([1, 2], [1, 1]), /needs both classes/);
});
