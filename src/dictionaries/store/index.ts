// The activation store: harvest hook activations to sharded files (harvest.ts), read them back as shuffled batches
// (reader.ts), or generate the same batches on the fly (on-the-fly.ts). format.ts documents the files.
export {
  STORE_FORMAT, STORE_VERSION, hookWidth, modelInfo,
  type StoreManifest, type StoreShard, type ShardFile, type HookInfo, type ModelInfo, type ResumePoint, type SourceDescription, type StoreDType,
} from './format.js';
export { toTokenSource, rowsSource, textSource, organismCorpusSource, randomSource, type TokenSource, type TokenInput, type TokenRow, type RowIterable } from './sources.js';
export type { ActivationSource, ActivationBatch, BatchOptions, BatchCursor } from './batches.js';
export { harvest, runHooks, DEFAULT_BATCH_ROWS, DEFAULT_SHARD_TOKENS, type HarvestOptions, type HarvestProgress, type HarvestResult } from './harvest.js';
export { openStore, readManifestFile, ActivationStore, type OpenOptions, type ShardData } from './reader.js';
export { onTheFly, OnTheFlySource, DEFAULT_FLY_BUFFER, type OnTheFlyOptions } from './on-the-fly.js';
export { harvestPeakRss, type RssProbeOptions, type RssProbeResult } from './memory.js';
