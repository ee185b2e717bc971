// Resuming: a harvest interrupted (maxShards, an abort signal, leftovers of a crash) and run again ends with the same
// files, byte for byte, as an uninterrupted one; a mismatched resume is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { harvest, openStore, readManifestFile, rowsSource, type HarvestOptions } from '../../../src/dictionaries/store/index.js';
import { rejectsCode } from '../../models/tiny-models.js';
import { folderHashes, ragged, tempDir, tinyModel } from './helpers.js';
import type { KillChildArgs } from './kill-child.js';

const dir = tempDir('store-resume');
const rows = ragged(70, 11, 2, 40);
const HOOKS = ['blocks.0.hook_resid_post', 'blocks.1.mlp.hook_post'];

async function opts(out: string, extra: Partial<HarvestOptions> = {}): Promise<HarvestOptions> {
  // shardTokens 97: shards end in the middle of model batches and rows.
  return { model: await tinyModel('llama'), hooks: HOOKS, tokens: rowsSource(rows), out: path.join(dir, out), batchRows: 8, shardTokens: 97, maxTokens: 900, dtype: 'float16', ...extra };
}

describe('resume', () => {
  let reference: Record<string, string>;

  test('uninterrupted reference run', async () => {
    const r = await harvest(await opts('ref'));
    assert.equal(r.complete, true);
    assert.equal(r.manifest.tokens, 900);
    assert.equal(r.manifest.shards.length, 10);
    reference = folderHashes(path.join(dir, 'ref'));
    assert.equal(Object.keys(reference).length, 1 + 10 * 4);
  });

  test('maxShards: stop after 3 shards, then 2 more, then the rest: identical files', async () => {
    const a = await harvest(await opts('maxshards', { maxShards: 3 }));
    assert.equal(a.complete, false);
    assert.equal(a.shardsWritten, 3);
    assert.equal(readManifestFile(path.join(dir, 'maxshards')).complete, false);
    // An incomplete store can already be read.
    assert.equal(openStore(path.join(dir, 'maxshards')).tokens, 3 * 97);
    const b = await harvest(await opts('maxshards', { maxShards: 2 }));
    assert.equal(b.resumed, true);
    assert.equal(b.shardsWritten, 2);
    const c = await harvest(await opts('maxshards'));
    assert.equal(c.complete, true);
    assert.equal(c.shardsWritten, 5);
    assert.deepEqual(folderHashes(path.join(dir, 'maxshards')), reference);
    // Running the finished harvest again changes nothing.
    const d = await harvest(await opts('maxshards'));
    assert.equal(d.shardsWritten, 0);
    assert.deepEqual(folderHashes(path.join(dir, 'maxshards')), reference);
  });

  test('abort signal mid-way, then crash leftovers (temp files, an unlisted shard): resume gives identical files', async () => {
    const ac = new AbortController();
    const o = await opts('abort', { signal: ac.signal, onProgress: (p) => p.tokens > 400 && ac.abort() });
    await rejectsCode(() => harvest(o), 'ABORTED', ['resume']);
    const out = path.join(dir, 'abort');
    const m = readManifestFile(out);
    assert.equal(m.complete, false);
    assert.ok(m.shards.length >= 3 && m.shards.length < 10, `${m.shards.length} shards`);
    // What a kill could leave behind: a half-written temp file, a renamed shard the manifest never listed, a
    // half-written manifest.
    const next = `shard-${String(m.shards.length).padStart(5, '0')}`;
    fs.writeFileSync(path.join(out, `${next}.h0.f16.tmp`), 'partial');
    fs.writeFileSync(path.join(out, `${next}.tokens.i32`), 'garbage');
    fs.writeFileSync(path.join(out, 'manifest.json.tmp'), '{"format":');
    const r = await harvest(await opts('abort'));
    assert.equal(r.resumed, true);
    assert.equal(r.complete, true);
    assert.deepEqual(folderHashes(out), reference);
  });

  test('SIGKILL of a harvesting process after 4 shards, then rerun: identical files', async () => {
    const o = await opts('killed');
    const rowsFile = path.join(dir, 'rows.json');
    fs.writeFileSync(rowsFile, JSON.stringify(rows));
    const args: KillChildArgs = {
      model: o.model.source,
      rowsFile,
      killAfter: 4,
      harvest: { hooks: HOOKS, out: o.out, batchRows: 8, shardTokens: 97, maxTokens: 900, dtype: 'float16' },
    };
    const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kill-child.js');
    const r = spawnSync(process.execPath, [child, JSON.stringify(args)], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.signal, 'SIGKILL', `child: status ${r.status} ${r.stderr}`);
    const m = readManifestFile(o.out);
    assert.equal(m.complete, false);
    assert.equal(m.shards.length, 4);
    const res = await harvest(o);
    assert.equal(res.resumed, true);
    assert.equal(res.shardsWritten, 6);
    assert.deepEqual(folderHashes(o.out), reference);
  });

  test('float32, no token budget (source runs out), resumed after every shard: identical files', async () => {
    const ref = await harvest(await opts('ref32', { dtype: 'float32', maxTokens: undefined, shardTokens: 150 }));
    assert.equal(ref.complete, true);
    let calls = 0;
    for (;;) {
      const r = await harvest(await opts('step32', { dtype: 'float32', maxTokens: undefined, shardTokens: 150, maxShards: 1 }));
      calls++;
      if (r.complete) break;
    }
    assert.equal(calls, ref.manifest.shards.length);
    assert.deepEqual(folderHashes(path.join(dir, 'step32')), folderHashes(path.join(dir, 'ref32')));
  });

  test('a mismatched resume is refused: other hooks, model, dtype, shard size, token source', async () => {
    const half = await harvest(await opts('mismatch', { maxShards: 2 }));
    assert.equal(half.complete, false);
    await rejectsCode(async () => harvest(await opts('mismatch', { hooks: ['blocks.0.hook_resid_post'] })), 'STORE_MISMATCH', ['hooks', 'overwrite']);
    await rejectsCode(async () => harvest(await opts('mismatch', { model: await tinyModel('gpt2'), hooks: HOOKS })), 'STORE_MISMATCH', ['model']);
    await rejectsCode(async () => harvest(await opts('mismatch', { dtype: 'float32' })), 'STORE_MISMATCH', ['dtype']);
    await rejectsCode(async () => harvest(await opts('mismatch', { shardTokens: 96 })), 'STORE_MISMATCH', ['shardTokens']);
    await rejectsCode(async () => harvest(await opts('mismatch', { tokens: rowsSource(rows.slice(1)) })), 'STORE_MISMATCH', ['token source']);
    // overwrite starts over.
    const r = await harvest(await opts('mismatch', { dtype: 'float32', overwrite: true }));
    assert.equal(r.resumed, false);
    assert.equal(r.manifest.dtype, 'float32');
  });

  test('a listed shard that went missing, or shard files without a manifest, stop a resume', async () => {
    await harvest(await opts('lost', { maxShards: 2 }));
    const out = path.join(dir, 'lost');
    fs.rmSync(path.join(out, 'shard-00001.where.i32'));
    await rejectsCode(async () => harvest(await opts('lost')), 'STORE_MISSING', ['shard-00001.where.i32']);
    fs.rmSync(path.join(out, 'manifest.json'));
    await rejectsCode(async () => harvest(await opts('lost')), 'STORE_OUTDIR', ['manifest.json']);
  });
});
