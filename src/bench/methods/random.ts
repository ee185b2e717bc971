// Control: a random unit direction drawn from a seeded isotropic Gaussian; score = x . r. It ignores the labels, so
// over draws its AUROC is centred on 0.5 (one draw in low d can be informative by chance: the cosine of a random
// direction with any fixed one has standard deviation ~ 1/sqrt(d)). A fresh direction is drawn for every
// (seed, unit, draw): the stream is seeded by a hash of all three, so no two concepts / targets share a direction and
// a task that fits `draws` of them per unit sees the control's spread, not one lucky or unlucky vector.
import { Rng } from '../../stats/index.js';
import { fmix32 } from '../../util/random.js';
import type { ConceptData, FitContext, FittedMethod, Method } from './types.js';
import { checkConcept, checkRowsX, project, unit } from './common.js';

/** Default number of random directions per (seed, unit). */
export const RANDOM_DRAWS = 8;

/** 32-bit hash of (seed, unit, draw) for the direction's stream (FNV-1a over the unit's UTF-16 units, then fmix32). */
export function randomStreamSeed(seed: number, ctx: FitContext | undefined): number {
  let h = 0x811c9dc5 ^ fmix32(seed >>> 0);
  const s = ctx?.unit ?? '';
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = fmix32((h ^ Math.imul((ctx?.draw ?? 0) + 1, 0x9e3779b1)) >>> 0);
  return h >>> 0;
}

/** The unit direction of one draw (d components, float64). */
export function randomUnitDirection(d: number, seed: number, ctx?: FitContext): Float32Array {
  const rng = new Rng(randomStreamSeed(seed, ctx));
  return unit(Float64Array.from({ length: d }, () => rng.normal()));
}

export function randomDirection(opts: { draws?: number } = {}): Method {
  return {
    name: 'random',
    draws: opts.draws ?? RANDOM_DRAWS,
    async fit(train: ConceptData, seed: number, ctx?: FitContext): Promise<FittedMethod> {
      checkConcept(train, 'random');
      const d = train.d;
      const r = randomUnitDirection(d, seed, ctx);
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
