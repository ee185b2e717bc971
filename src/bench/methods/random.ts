// Control: a random unit direction drawn from a seeded isotropic Gaussian; score = x . r. It ignores the labels, so
// over seeds its AUROC is centred on 0.5 (for one seed in low d it can be informative by chance: the cosine of a random
// direction with any fixed one has standard deviation ~ 1/sqrt(d)).
import { Rng } from '../../stats/index.js';
import type { ConceptData, FittedMethod, Method } from './types.js';
import { checkConcept, checkRowsX, project, unit } from './common.js';

export function randomDirection(): Method {
  return {
    name: 'random',
    async fit(train: ConceptData, seed: number): Promise<FittedMethod> {
      checkConcept(train, 'random');
      const d = train.d;
      const rng = new Rng(seed);
      const r = unit(Float64Array.from({ length: d }, () => rng.normal()));
      return {
        name: 'random',
        direction: r,
        score: async (x, n) => {
          checkRowsX(x, n, d, 'random score');
          return project(x, n, d, r);
        },
      };
    },
  };
}
