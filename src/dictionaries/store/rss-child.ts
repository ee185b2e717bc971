// Child process of memory.ts: `node rss-child.js '<RssProbeOptions JSON>'` harvests random rows and prints one JSON
// line (RssProbeResult).
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../models/load.js';
import { harvest } from './harvest.js';
import { randomSource } from './sources.js';
import type { RssProbeOptions, RssProbeResult } from './memory.js';

const o = JSON.parse(process.argv[2]) as RssProbeOptions & { out: string };
const model = await loadModel(o.model);
const rowLength = o.rowLength ?? model.spec.nCtx;
const count = Math.ceil(o.tokens / (rowLength - 1)) + 1;
const bos = model.tokenizer.bos ?? undefined;
const tokens = randomSource({ count, length: rowLength, vocab: model.spec.vocab, seed: o.seed ?? 1, bos });
const baselineRssBytes = process.memoryUsage.rss();
const t0 = performance.now();
const r = await harvest({ model, hooks: o.hooks, tokens, out: o.out, maxTokens: o.tokens, batchRows: o.batchRows, shardTokens: o.shardTokens, dtype: o.dtype, overwrite: true, onProgress: () => { if (o.forceGc) (globalThis as { gc?: () => void }).gc?.(); } });
const seconds = (performance.now() - t0) / 1000;
let storeBytes = 0;
for (const f of fs.readdirSync(o.out)) storeBytes += fs.statSync(path.join(o.out, f)).size;
const result: RssProbeResult = {
  tokens: r.manifest.tokens,
  shards: r.manifest.shards.length,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  baselineRssBytes,
  storeBytes,
  seconds,
};
console.log(JSON.stringify(result));
