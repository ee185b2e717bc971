// k-means centroid method: cluster all train activations into k clusters (k-means++ and Lloyd, fitKMeans), pick the
// cluster with the highest positive rate (among clusters holding at least minClusterFraction of the tokens, so a tiny
// pure cluster does not win by luck; ties: larger cluster), and use c = its centroid minus the global train mean.
// Score (default 'cosine'): cosine similarity of (x - mean) with c, a direction-only detector that ignores the
// token's norm; 'negDistance': -|x - centroid|^2 (a template-matching detector). Direction = c / |c|.
import { fitKMeans } from '../../dictionaries/metrics/baselines.js';
import { ProbityError } from '../../errors.js';
import type { ConceptData, FittedMethod, Method } from './types.js';
import { ArrayMemo, checkConcept, checkRowsX, classMeans, unit } from './common.js';

/** The clustering ignores the labels: one clustering per (train array, seed, k) serves every concept. */
const clusterings = new ArrayMemo<ReturnType<typeof fitKMeans>>();

export interface KMeansMethodOptions {
  /** Number of clusters (default 8). */
  k?: number;
  /** Score rule (default 'cosine'). */
  score?: 'cosine' | 'negDistance';
  /** Smallest eligible cluster as a fraction of the train tokens (default 0.01). */
  minClusterFraction?: number;
  maxIterations?: number;
}

export function kmeansMethod(opts: KMeansMethodOptions = {}): Method {
  const K = opts.k ?? 8;
  const rule = opts.score ?? 'cosine';
  // The default is plain 'kmeans' (the name results tables use); another k is part of the name.
  const name = opts.k === undefined ? 'kmeans' : `kmeans-${K}`;
  return {
    name,
    async fit(train: ConceptData, seed: number): Promise<FittedMethod> {
      checkConcept(train, 'kmeans');
      const { x, n, d, labels } = train;
      if (n < K) throw new ProbityError('BENCH_INPUT', `kmeans: ${n} tokens for ${K} clusters`);
      const iters = opts.maxIterations ?? 50;
      const fit = await clusterings.get(x, `${n}|${d}|${K}|${seed}|${iters}`, async () => fitKMeans(x, n, d, { nClusters: K, seed, maxIterations: iters }));
      const size = new Float64Array(K);
      const posCount = new Float64Array(K);
      for (let t = 0; t < n; t++) {
        size[fit.assignments[t]]++;
        if (labels[t]) posCount[fit.assignments[t]]++;
      }
      const minSize = Math.max(1, Math.floor((opts.minClusterFraction ?? 0.01) * n));
      let best = -1;
      let bestRate = -1;
      for (let c = 0; c < K; c++) {
        if (size[c] < minSize) continue;
        const rate = posCount[c] / size[c];
        if (rate > bestRate || (rate === bestRate && size[c] > size[best])) {
          best = c;
          bestRate = rate;
        }
      }
      if (best < 0) best = 0;
      const { all: mu } = classMeans(train);
      const centroid = fit.centroids.slice(best * d, (best + 1) * d);
      const c = Float64Array.from(centroid, (v, j) => v - mu[j]);
      const dir = unit(c);
      return {
        name,
        direction: dir,
        score: async (xs, m) => {
          checkRowsX(xs, m, d, `${name} score`);
          const out = new Float32Array(m);
          for (let t = 0; t < m; t++) {
            let s = 0;
            if (rule === 'cosine') {
              let nn = 0;
              for (let j = 0, o = t * d; j < d; j++, o++) {
                const v = xs[o] - mu[j];
                s += v * dir[j];
                nn += v * v;
              }
              out[t] = nn > 0 ? s / Math.sqrt(nn) : 0;
            } else {
              for (let j = 0, o = t * d; j < d; j++, o++) s += (xs[o] - centroid[j]) ** 2;
              out[t] = -s;
            }
          }
          return out;
        },
      };
    },
  };
}
