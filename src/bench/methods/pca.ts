// PCA: the first principal component of the *positive* train activations (AxBench's PCA baseline), sign chosen so
// that positives project higher than negatives on the train split; score = x . v (uncentred: a constant shift does
// not change ranking metrics); direction = v. Note that it finds the concept only when the concept varies in strength
// (the positives' largest variance is along it); a constant offset is invisible to it. Deterministic.
import { fitPca } from '../../dictionaries/metrics/baselines.js';
import type { ConceptData, FittedMethod, Method } from './types.js';
import { checkConcept, checkRowsX, meanGap, project, unit } from './common.js';

export function pcaMethod(): Method {
  return {
    name: 'pca',
    async fit(train: ConceptData): Promise<FittedMethod> {
      const nPos = checkConcept(train, 'pca');
      const { x, n, d, labels } = train;
      const xp = new Float32Array(nPos * d);
      for (let t = 0, r = 0; t < n; t++) if (labels[t]) xp.set(x.subarray(t * d, (t + 1) * d), d * r++);
      const pca = fitPca(xp, nPos, d, { k: 1 });
      let v = unit(pca.components.subarray(0, d));
      if (meanGap(project(x, n, d, v), labels) < 0) v = v.map((a) => -a);
      const dir = v;
      return {
        name: 'pca',
        direction: dir,
        score: async (xs, m) => {
          checkRowsX(xs, m, d, 'pca score');
          return project(xs, m, d, dir);
        },
      };
    },
  };
}
