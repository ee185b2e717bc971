// The activation store: harvest hook activations to sharded files, read them back as shuffled batches, or generate
// them on the fly. See format.ts for the files.
export * from './format.js';
export * from './sources.js';
export * from './batches.js';
export { harvest, runHooks, writeManifest, DEFAULT_BATCH_ROWS, DEFAULT_SHARD_TOKENS, type HarvestOptions, type HarvestProgress, type HarvestResult } from './harvest.js';
export { openStore, readManifestFile, ActivationStore, type OpenOptions, type ShardData } from './reader.js';
export { onTheFly, OnTheFlySource, DEFAULT_FLY_BUFFER, type OnTheFlyOptions } from './on-the-fly.js';
export { harvestPeakRss, type RssProbeOptions, type RssProbeResult } from './memory.js';
