// Bounded memory: harvesting 10x the tokens must not raise the peak RSS (within 20%; the children collect garbage
// after every batch, see RssProbeOptions.forceGc). Each harvest runs in a child
// process (memory.ts) on a tiny Llama with d_model 256 and two early hooks (cheap to compute: only the graph up to
// them runs), so that the activations of the large run (160 MiB on disk) would dwarf the process if they were held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { harvestPeakRss, type RssProbeOptions } from '../../../src/dictionaries/store/index.js';
import { llamaFixture } from '../../models/tiny-models.js';
import { tempDir } from './helpers.js';

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

test('peak RSS stays flat from N to 10N harvested tokens', { timeout: 90000 }, async () => {
  const model = path.join(tempDir('store-memory'), 'llama-256');
  llamaFixture(model, { seed: 12, hidden: 256, edit: ({ config }) => void (config.max_position_embeddings = 128) });
  const base: Omit<RssProbeOptions, 'tokens'> = { model, hooks: ['hook_embed', 'blocks.0.ln1.hook_normalized'], shardTokens: 4096, batchRows: 32 };
  const small = await harvestPeakRss({ ...base, tokens: 8192 });
  const large = await harvestPeakRss({ ...base, tokens: 81920 });
  // For the record, the same without forcing collections (V8's lazy freeing of dead batch outputs adds a bounded
  // amount, reached after some 20 batches; not asserted).
  const lazy = [await harvestPeakRss({ ...base, tokens: 8192, forceGc: false }), await harvestPeakRss({ ...base, tokens: 81920, forceGc: false })];
  console.log(`# without forced GC: peak RSS ${mb(lazy[0].maxRssBytes)} (N) -> ${mb(lazy[1].maxRssBytes)} (10N), ratio ${(lazy[1].maxRssBytes / lazy[0].maxRssBytes).toFixed(3)}`);
  for (const [n, r] of [['N', small], ['10N', large]] as const) {
    console.log(`# ${n}: ${r.tokens} tokens, ${r.shards} shards, store ${mb(r.storeBytes)}, peak RSS ${mb(r.maxRssBytes)} (after loading ${mb(r.baselineRssBytes)}), ${r.seconds.toFixed(1)} s`);
  }
  console.log(`# peak RSS ratio 10N / N = ${(large.maxRssBytes / small.maxRssBytes).toFixed(3)}`);
  assert.equal(small.tokens, 8192);
  assert.equal(large.tokens, 81920);
  // The test can see a leak: the large run's activations are a large fraction of the whole process.
  assert.ok(large.storeBytes > 0.5 * small.maxRssBytes, `store ${mb(large.storeBytes)} vs RSS ${mb(small.maxRssBytes)}`);
  assert.ok(large.maxRssBytes <= 1.2 * small.maxRssBytes, `peak RSS grew from ${mb(small.maxRssBytes)} to ${mb(large.maxRssBytes)}`);
});
