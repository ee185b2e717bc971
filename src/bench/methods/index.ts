// Concept methods for the ground-truth benchmark: each fits on labelled activations and gives a detector score and a
// steering direction. `standardMethods()` lists the SAE-free ones; pass an Sae to add the SAE-latent methods.
import type { Sae } from '../../dictionaries/sae.js';
import { ProbityError } from '../../errors.js';
import type { Method } from './types.js';
import { diffMean } from './diffmean.js';
import { probe } from './probe.js';
import { pcaMethod } from './pca.js';
import { kmeansMethod } from './kmeans.js';
import { randomDirection } from './random.js';
import { saeBestLatent, saeTopKProbe } from './sae-latent.js';

export type { ConceptData, FittedMethod, Method } from './types.js';
export { diffMean } from './diffmean.js';
export { probe, fitLogistic, type LogisticOptions, type LogisticFit } from './probe.js';
export { pcaMethod } from './pca.js';
export { kmeansMethod, type KMeansMethodOptions } from './kmeans.js';
export { randomDirection } from './random.js';
export { saeBestLatent, saeTopKProbe, latentStats, type LatentStats, type BestLatentFit, type TopKProbeFit, type SaeLatentOptions, type SaeTopKOptions } from './sae-latent.js';
export { cosine } from './common.js';

/** The method list: DiffMean, probe, PCA, k-means, random control, and with an SAE its best-latent and top-k probe. */
export function standardMethods(sae?: Sae): Method[] {
  const list: Method[] = [diffMean(), probe(), pcaMethod(), kmeansMethod(), randomDirection()];
  if (sae) list.push(saeBestLatent(sae), saeTopKProbe(sae));
  return list;
}

/** Method factories by name (SAE methods need an Sae). */
export const METHOD_NAMES = ['diffmean', 'probe', 'pca', 'kmeans', 'random', 'sae', 'sae-topk-probe'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export function getMethod(name: MethodName, sae?: Sae): Method {
  switch (name) {
    case 'diffmean':
      return diffMean();
    case 'probe':
      return probe();
    case 'pca':
      return pcaMethod();
    case 'kmeans':
      return kmeansMethod();
    case 'random':
      return randomDirection();
    case 'sae':
    case 'sae-topk-probe':
      if (!sae) throw new ProbityError('BENCH_INPUT', `method ${name} needs an SAE`);
      return name === 'sae' ? saeBestLatent(sae) : saeTopKProbe(sae);
  }
}

/** SAE-based methods are recognised by name (sae = best single latent, sae-topk-probe, sae@gen, ...). */
export function isSaeMethod(name: string): boolean {
  return name.startsWith('sae');
}

/** The methods of one seed: `perSeed(seed)` when given (checked to carry the same names, in order), else `methods`. */
export function seedMethods(methods: readonly Method[], perSeed: ((seed: number) => readonly Method[]) | undefined, seed: number): readonly Method[] {
  if (!perSeed) return methods;
  const ms = perSeed(seed);
  const a = ms.map((m) => m.name).join(',');
  const b = methods.map((m) => m.name).join(',');
  if (a !== b) throw new ProbityError('BENCH_INPUT', `methods for seed ${seed} are [${a}], expected [${b}]`);
  return ms;
}
