import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CONCEPTS } from '../../src/organism/concepts.js';
import { documents } from '../../src/organism/corpus.js';
import { readDocs, readManifest, readShard, writeCorpus } from '../../src/organism/shards.js';
import { Tokenizer, organismTokenizer } from '../../src/organism/tokenizer.js';
import { ProbityError } from '../../src/errors.js';

test('streaming writer: bounded shards, manifest, and a reader that returns the generated documents', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-organism-'));
  try {
    const shardTokens = 16384;
    const heap0 = process.memoryUsage().heapUsed;
    const { manifest, peakBufferedTokens } = writeCorpus(dir, 11, { tokens: 300_000, shardTokens });
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    assert.ok(peakBufferedTokens <= shardTokens, `buffered ${peakBufferedTokens} tokens`);
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew by ${(heapGrowth / 1e6).toFixed(1)} MB writing 300k tokens`);
    assert.ok(manifest.shards.length >= 18, `${manifest.shards.length} shards`);
    assert.ok(manifest.totals.tokens >= 300_000 && manifest.totals.tokens < 300_000 + 256);
    assert.deepEqual(readManifest(dir), JSON.parse(JSON.stringify(manifest)));
    assert.deepEqual(manifest.concepts, [...CONCEPTS]);
    assert.equal(manifest.tokenizer.sha256, organismTokenizer().hash());
    const t2 = Tokenizer.fromJSON(JSON.parse(fs.readFileSync(path.join(dir, manifest.tokenizer.file), 'utf8')));
    assert.equal(t2.hash(), manifest.tokenizer.sha256);

    let sumTokens = 0;
    let sumDocs = 0;
    for (let i = 0; i < manifest.shards.length; i++) {
      const s = manifest.shards[i];
      assert.ok(s.numTokens <= shardTokens);
      for (const [k, f] of [['tokens', s.tokens], ['labels', s.labels], ['docs', s.docs]] as const) {
        const h = createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
        assert.equal(h, s.sha256[k], `${f} hash`);
      }
      const shard = readShard(dir, i, manifest);
      assert.equal(shard.docs.length, s.numDocs);
      assert.equal(shard.docs[0].index, s.firstDoc);
      const last = shard.docs[shard.docs.length - 1];
      assert.equal(last.start + last.length, s.numTokens, 'documents are packed and none straddles a shard');
      sumTokens += s.numTokens;
      sumDocs += s.numDocs;
    }
    assert.equal(sumTokens, manifest.totals.tokens);
    assert.equal(sumDocs, manifest.totals.docs);
    const genreSum = Object.values(manifest.totals.genreDocs).reduce((a, b) => a + b, 0);
    assert.equal(genreSum, manifest.totals.docs);

    // the stored documents are exactly the generated ones
    const gen = documents(11);
    let n = 0;
    for (const d of readDocs(dir)) {
      const g = gen.next().value!;
      assert.equal(d.index, g.index);
      assert.deepEqual(d.tokens, g.tokens);
      assert.deepEqual(d.labels, g.labels);
      assert.deepEqual(d.attrs, g.attrs);
      n++;
    }
    assert.equal(n, manifest.totals.docs);

    assert.throws(() => writeCorpus(dir, 11, { docs: 10 }), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_OUTDIR');
    const again = writeCorpus(dir, 11, { docs: 10, overwrite: true });
    assert.equal(again.manifest.shards.length, 1);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['manifest.json', 'shard-00000.docs.jsonl', 'shard-00000.labels.u32', 'shard-00000.tokens.u16', 'tokenizer.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writer argument errors', () => {
  const dir = path.join(os.tmpdir(), 'probity-organism-never-written');
  const code = (c: string) => (e: unknown) => e instanceof ProbityError && e.code === c;
  assert.throws(() => writeCorpus(dir, 1, {}), code('E_ORGANISM_SIZE'));
  assert.throws(() => writeCorpus(dir, 1, { docs: 0 }), code('E_ORGANISM_SIZE'));
  assert.throws(() => writeCorpus(dir, 1, { docs: 5, shardTokens: 100 }), code('E_ORGANISM_SHARD'));
  assert.throws(() => readManifest(dir), code('E_ORGANISM_MANIFEST'));
  assert.ok(!fs.existsSync(dir));
});
