// The dashboard's sparse per-latent statistics against the dense computations of src/stats on the same data:
// every token present, inactive ones as 0 (ties, negative values and explicit zeros included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, quantileBins } from '../../src/stats/index.js';
import { Rng } from '../../src/stats/rng.js';
import { activePositives, ascending, conceptAurocs, conceptMatches, histogram, quantileRanges, sensitivity, type Column } from '../../src/dashboard/data/latent-stats.js';

/** A random sparse latent over N tokens and random concept masks over C bits (some concepts tied to the latent). */
function planted(seed: number, N: number, C: number, density: number) {
  const rng = new Rng(seed);
  const labels = new Uint32Array(N);
  const dense = new Float64Array(N);
  const pos: number[] = [];
  const val: number[] = [];
  for (let t = 0; t < N; t++) {
    const on = rng.next() < density;
    for (let b = 0; b < C; b++) {
      // bit 0 follows the latent, bit 1 is noise, the rest are rare
      const p = b === 0 ? (on ? 0.8 : 0.05) : b === 1 ? 0.3 : 0.02;
      if (rng.next() < p) labels[t] |= 1 << b;
    }
    if (on) {
      // coarse values so that ties occur; a few negatives and explicit zeros
      const r = rng.next();
      const v = r < 0.05 ? -Math.ceil(rng.next() * 3) / 4 : r < 0.1 ? 0 : Math.ceil(rng.next() * 12) / 4;
      pos.push(t);
      val.push(v);
      dense[t] = v;
    }
  }
  const col: Column = { pos: Int32Array.from(pos), val: Float32Array.from(val) };
  const positives = Array.from({ length: C }, (_, b) => labels.reduce((a, l) => a + ((l >>> b) & 1), 0));
  return { col, labels, dense, positives };
}

test('concept AUROCs from the sparse column equal stats.auroc on the dense scores', () => {
  for (const [seed, density] of [[1, 0.05], [2, 0.3], [3, 0.9]] as const) {
    const N = 3000;
    const C = 6;
    const { col, labels, dense, positives } = planted(seed, N, C, density);
    const got = conceptAurocs(col, ascending(col), labels, N, positives);
    for (let b = 0; b < C; b++) {
      const want = auroc(dense, Array.from(labels, (l) => (l >>> b) & 1));
      assert.ok(Math.abs(got[b] - want) < 1e-12, `seed ${seed} concept ${b}: sparse ${got[b]} vs dense ${want}`);
    }
    assert.ok(got[0] > 0.6, `the planted concept is detected (AUROC ${got[0]})`);
  }
});

test('an absent concept has no AUROC; precision and recall count the active (non-zero) tokens', () => {
  const N = 10;
  const col: Column = { pos: Int32Array.from([1, 2, 5, 7]), val: Float32Array.from([2, 0, 1, 3]) };
  const labels = Uint32Array.from([0, 1, 1, 0, 0, 1, 0, 0, 1, 0]); // bit 0 at 1, 2, 5, 8
  const positives = [4, 0];
  const au = conceptAurocs(col, ascending(col), labels, N, positives);
  assert.ok(Number.isNaN(au[1]));
  // scores: t1=2 (pos), t5=1 (pos), t7=3 (neg), others 0; pos {2,1,0,0} vs 6 negatives {3,0,0,0,0,0}
  // pairwise: 2 beats 5 zeros, loses to 3 -> 5; 1 the same -> 5; each 0 ties 5 zeros (2.5), loses to 3 -> 2.5 each
  assert.equal(au[0], (5 + 5 + 2.5 + 2.5) / 24);
  assert.deepEqual(activePositives(col, labels, 2), [2, 0]);
  const m = conceptMatches(col, ascending(col), labels, N, positives, ['a', 'b']);
  assert.equal(m.length, 1);
  assert.equal(m[0].precision, 2 / 3); // active: t1, t5, t7 (t2 is an explicit zero)
  assert.equal(m[0].recall, 2 / 4);
});

test('sensitivity: the inactive bin, then stats.quantileBins of the non-zero activations', () => {
  const N = 4000;
  const { col, labels, dense, positives } = planted(7, N, 3, 0.2);
  const bins = sensitivity(col, labels, N, 0, positives[0], 10);
  const nz = Array.from(col.val).map((v, j) => [v, col.pos[j]] as const).filter(([v]) => v !== 0);
  const want = quantileBins(nz.map(([v]) => v), nz.map(([, t]) => labels[t] & 1), 10);
  assert.deepEqual(bins.slice(1).map((b) => [b.lo, b.hi, b.n]), want.map((b) => [b.lo, b.hi, b.n]));
  const zeroTokens = Array.from(dense.keys()).filter((t) => dense[t] === 0);
  assert.equal(bins[0].n, zeroTokens.length);
  assert.equal(bins[0].fractionPositive, zeroTokens.filter((t) => labels[t] & 1).length / zeroTokens.length);
  assert.equal(bins.reduce((a, b) => a + b.n, 0), N);
});

test('histogram and quantile ranges cover every non-zero activation once', () => {
  const N = 2000;
  const { col } = planted(11, N, 1, 0.4);
  const nonZero = col.val.filter((v) => v !== 0).length;
  const h = histogram(col, N, 30);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), nonZero);
  assert.equal(h.zeros, N - nonZero);
  for (let j = 0; j < col.val.length; j++) {
    const v = col.val[j];
    if (v === 0) continue;
    const b = h.edges.findIndex((e, i) => i < 30 && v >= e && (v < h.edges[i + 1] || i === 29));
    assert.ok(b >= 0, `value ${v} falls in a bin`);
  }
  const { entries, ranges: r } = quantileRanges(col, ascending(col), 5);
  assert.equal(entries.length, nonZero);
  assert.ok(entries.every((j) => col.val[j] !== 0));
  assert.equal(r[0].from, 0);
  assert.equal(r[r.length - 1].to, nonZero);
  for (let i = 1; i < r.length; i++) {
    assert.equal(r[i].from, r[i - 1].to);
    assert.ok(col.val[entries[r[i].from]] > col.val[entries[r[i - 1].to - 1]], 'ties never straddle two bins');
  }
});
