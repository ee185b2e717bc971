// Detection metrics under cluster multiplicities (stats/clustered-metrics.ts) against explicit resampled data sets
// scored by stats/auroc.ts, and the coverage of the cluster-bootstrap interval of an AUROC on planted clustered data
// whose true AUROC is known in closed form (where a token-level bootstrap is shown to under-cover).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusteredAuroc, ClusteredRates } from '../../src/stats/clustered-metrics.js';
import { auroc, rocPointAtFpr } from '../../src/stats/auroc.js';
import { clusterBootstrap } from '../../src/stats/cluster.js';
import { Rng } from '../../src/stats/rng.js';

/** Items of the data set where cluster c appears w[c] times. */
function materialise(scores: number[], labels: number[], cluster: number[], w: number[]): { s: number[]; y: number[] } {
  const s: number[] = [];
  const y: number[] = [];
  for (let c = 0; c < w.length; c++) {
    for (let k = 0; k < w[c]; k++) {
      for (let i = 0; i < scores.length; i++) {
        if (cluster[i] !== c) continue;
        s.push(scores[i]);
        y.push(labels[i]);
      }
    }
  }
  return { s, y };
}

function randomData(seed: number, ties: boolean) {
  const rng = new Rng(seed);
  const nClusters = 3 + rng.int(10);
  const n = 10 + rng.int(80);
  const cluster = Array.from({ length: n }, () => rng.int(nClusters));
  const labels = Array.from({ length: n }, () => (rng.next() < 0.35 ? 1 : 0));
  const scores = labels.map((y) => (ties ? rng.int(5) + y * rng.int(3) : rng.normal() + y));
  return { rng, nClusters, n, cluster, labels, scores };
}

test('clustered AUROC equals stats/auroc on the explicitly resampled data, with and without ties', () => {
  for (let seed = 0; seed < 40; seed++) {
    const { rng, nClusters, cluster, labels, scores } = randomData(seed, seed % 2 === 0);
    const ca = new ClusteredAuroc(scores, labels, cluster, nClusters);
    // All ones: the original data.
    const ones = new Array(nClusters).fill(1);
    assert.ok(Math.abs(ca.auroc(ones) - auroc(scores, labels)) < 1e-12 || (Number.isNaN(ca.auroc(ones)) && Number.isNaN(auroc(scores, labels))));
    for (let r = 0; r < 10; r++) {
      // A bootstrap draw of the clusters (multiplicities 0, 1, 2, ...), read at an offset in a longer buffer.
      const w = new Array(nClusters).fill(0);
      for (let i = 0; i < nClusters; i++) w[rng.int(nClusters)]++;
      const { s, y } = materialise(scores, labels, cluster, w);
      const want = s.length ? auroc(s, y) : NaN;
      const buf = Float64Array.from([7, 7, 7, ...w]);
      const got = ca.auroc(buf, 3);
      assert.ok(Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) < 1e-12, `seed ${seed} draw ${r}: ${got} vs ${want}`);
    }
  }
  // One class only: undefined.
  assert.ok(Number.isNaN(new ClusteredAuroc([1, 2, 3], [1, 1, 0], [0, 0, 1], 2).auroc([1, 0])));
  assert.throws(() => new ClusteredAuroc([1, 2], [0, 1], [0, 2], 2), /cluster\[1\] is 2/);
});

test('clustered recall and FPR at a fixed threshold equal direct counts on the resampled data', () => {
  for (let seed = 0; seed < 20; seed++) {
    const { rng, nClusters, cluster, labels, scores } = randomData(100 + seed, seed % 2 === 1);
    if (!labels.includes(0) || !labels.includes(1)) continue;
    const threshold = rocPointAtFpr(scores, labels, 0.2).threshold; // a threshold set once, then held fixed
    const cr = new ClusteredRates(scores, labels, cluster, nClusters, threshold);
    for (let r = 0; r < 10; r++) {
      const w = new Array(nClusters).fill(0);
      for (let i = 0; i < nClusters; i++) w[rng.int(nClusters)]++;
      const { s, y } = materialise(scores, labels, cluster, w);
      const pos = s.filter((_, i) => y[i] === 1);
      const neg = s.filter((_, i) => y[i] === 0);
      const recall = pos.length ? pos.filter((v) => v > threshold).length / pos.length : NaN;
      const fpr = neg.length ? neg.filter((v) => v > threshold).length / neg.length : NaN;
      const [gr, gf] = [cr.recall(w), cr.fpr(w)];
      assert.ok(Number.isNaN(recall) ? Number.isNaN(gr) : Math.abs(gr - recall) < 1e-12, `recall ${gr} vs ${recall}`);
      assert.ok(Number.isNaN(fpr) ? Number.isNaN(gf) : Math.abs(gf - fpr) < 1e-12, `fpr ${gf} vs ${fpr}`);
    }
  }
});

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

test('cluster bootstrap of an AUROC over documents covers the true value at about 95%; a token bootstrap does not', () => {
  // Planted: 60 documents of 20 tokens; each document has its own concept rate p ~ U(0, 0.6) (concepts cluster in
  // documents, as in the corpus) and label y ~ Bernoulli(p) per token; score = mu y + u_doc + e, with a document
  // effect u ~ N(0, tau^2) and token noise e ~ N(0, 1). For a (positive, negative) pair from different documents
  // P(pos > neg) = Phi(mu / sqrt(2 (1 + tau^2))); within one document the effect cancels: Phi(mu / sqrt(2)). A share
  // f = E[p (1 - p)] / (nDocs E[p] E[1 - p]) = 0.18 / (60 * 0.3 * 0.7) of the pairs is within a document, so the
  // estimator's target is the mixture. (With one rate for every document the document effect would cancel between
  // the classes and token resampling would do no harm; concentrated concepts are what make it matter.)
  const [nDocs, len, mu, tau] = [60, 20, 1.5, 1.5];
  const f = 0.18 / (nDocs * 0.3 * 0.7);
  const truth = (1 - f) * phi(mu / Math.sqrt(2 * (1 + tau * tau))) + f * phi(mu / Math.SQRT2);
  const sims = 200;
  let coverCluster = 0;
  let coverToken = 0;
  for (let k = 0; k < sims; k++) {
    const rng = new Rng(5000 + k);
    const scores: number[] = [];
    const labels: number[] = [];
    const doc: number[] = [];
    for (let d = 0; d < nDocs; d++) {
      const u = tau * rng.normal();
      const p = 0.6 * rng.next();
      for (let t = 0; t < len; t++) {
        const y = rng.next() < p ? 1 : 0;
        scores.push(mu * y + u + rng.normal());
        labels.push(y);
        doc.push(d);
      }
    }
    const byDoc = new ClusteredAuroc(scores, labels, doc, nDocs);
    const w = new Float64Array(nDocs);
    const ci = clusterBootstrap([nDocs], (draw) => {
      w.fill(0);
      for (const d of draw[0]) w[d]++;
      return byDoc.auroc(w);
    }, { iterations: 400, seed: k });
    if (ci.lo < truth && truth < ci.hi) coverCluster++;
    // The same data with every token its own cluster: the token-level bootstrap that ignores the documents.
    const n = scores.length;
    const byToken = new ClusteredAuroc(scores, labels, doc.map((_, i) => i), n);
    const wt = new Float64Array(n);
    const ct = clusterBootstrap([n], (draw) => {
      wt.fill(0);
      for (const i of draw[0]) wt[i]++;
      return byToken.auroc(wt);
    }, { iterations: 400, seed: k });
    assert.ok(Math.abs(ct.estimate - ci.estimate) < 1e-12, 'same data, same estimate');
    if (ct.lo < truth && truth < ct.hi) coverToken++;
  }
  const [pc, pt] = [coverCluster / sims, coverToken / sims];
  console.log(`# coverage of the true AUROC ${truth.toFixed(4)}: cluster bootstrap ${pc}, token bootstrap ${pt} (${sims} planted data sets)`);
  assert.ok(pc >= 0.88 && pc <= 0.99, `cluster bootstrap coverage ${pc}`);
  assert.ok(pt <= 0.8, `token bootstrap coverage ${pt}: expected well under 95% with correlated tokens`);
});
