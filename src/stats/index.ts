export { Rng } from './rng.js';
export { mean, std, quantileSorted, type Labels } from './describe.js';
export { auroc, recallAtFpr, rocPointAtFpr, type RocPoint } from './auroc.js';
export { bootstrapCI, bootstrapStatistic, pairedBootstrapDiff, type BootstrapOptions, type BootstrapInterval, type PairedDiff } from './bootstrap.js';
export { quantileBins, type QuantileBin } from './bins.js';
export { clusterBootstrap, clusteredMean, type ClusterInterval } from './cluster.js';
export { ClusteredAuroc, ClusteredRates } from './clustered-metrics.js';
