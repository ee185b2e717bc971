// probity as a library: `import { loadModel, Sae, trainSae, diffMean, ... } from 'probity'`. Each area also has its
// own entry point (`probity/models`, `probity/dictionaries`, `probity/bench`, `probity/stats`, `probity/organism`);
// this file re-exports all of them. Scripts should set the allocator variables probity's CLI sets for itself
// (README "Speed notes"). Everything here is what the CLI itself uses; there is no second implementation.
export * from './models/api.js';
export * from './dictionaries/index.js';
export * from './bench/api.js';
// The statistics (its Rng is the one under 'probity/stats'; the root's Rng is the dictionaries' seeded generator).
export {
  mean, std, quantileSorted, auroc, recallAtFpr, rocPointAtFpr, bootstrapCI, bootstrapStatistic, pairedBootstrapDiff, quantileBins, clusterBootstrap, clusteredMean,
  ClusteredAuroc, ClusteredRates, type Labels, type RocPoint, type BootstrapOptions, type BootstrapInterval, type PairedDiff, type QuantileBin, type ClusterInterval,
} from './stats/index.js';
export { ProbityError } from './errors.js';
