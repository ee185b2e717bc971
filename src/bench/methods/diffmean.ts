// DiffMean: w = mean(positives) - mean(negatives); score = x . w (no bias: AUROC is shift-invariant);
// direction = w / |w|. Deterministic (the seed is unused).
import type { ConceptData, FittedMethod, Method } from './types.js';
import { checkConcept, checkRowsX, classMeans, project, unit } from './common.js';

export function diffMean(): Method {
  return {
    name: 'diffmean',
    async fit(train: ConceptData): Promise<FittedMethod> {
      checkConcept(train, 'diffmean');
      const { pos, neg } = classMeans(train);
      const d = train.d;
      const w = Float64Array.from(pos, (p, j) => p - neg[j]);
      return {
        name: 'diffmean',
        direction: unit(w),
        score: async (x, n) => {
          checkRowsX(x, n, d, 'diffmean score');
          return project(x, n, d, w);
        },
      };
    },
  };
}
