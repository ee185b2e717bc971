// Reading a store: shuffled batches cover every position once per epoch, are deterministic by seed, mix shards,
// resume from a cursor, pair two hooks row for row; broken stores give clear errors.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { harvest, openStore, type ActivationBatch, type ActivationStore, type BatchOptions } from '../../../src/dictionaries/store/index.js';
import { rejectsCode } from '../../models/tiny-models.js';
import { ragged, tempDir, tinyModel } from './helpers.js';

const dir = tempDir('store-reader');
const HOOKS = ['blocks.0.hook_resid_mid', 'blocks.1.mlp.hook_pre'];
const OUT = path.join(dir, 'store');

async function all(store: ActivationStore, o: BatchOptions): Promise<ActivationBatch[]> {
  const out: ActivationBatch[] = [];
  for await (const b of store.batches(o)) out.push(b);
  return out;
}

/** Row `i` of the store (in stored order) for each hook. */
function storedRows(store: ActivationStore): Record<string, Float32Array[]> {
  const out: Record<string, Float32Array[]> = Object.fromEntries(HOOKS.map((h) => [h, []]));
  for (const s of store.tokensWithActivations()) {
    for (const h of HOOKS) {
      const a = s.acts[h];
      for (let i = 0; i < s.n; i++) out[h].push(a.data.slice(i * a.dims[1], (i + 1) * a.dims[1]));
    }
  }
  return out;
}

const indices = (bs: ActivationBatch[]) => bs.flatMap((b) => Array.from(b.index));

describe('reader', () => {
  let store: ActivationStore;
  let N: number;

  before(async () => {
    await harvest({ model: await tinyModel('llama'), hooks: HOOKS, tokens: ragged(60, 21, 2, 32), out: OUT, batchRows: 8, shardTokens: 50, dtype: 'float16' });
    store = openStore(OUT);
    N = store.tokens;
    assert.ok(N > 500 && store.numShards > 10, `${N} tokens in ${store.numShards} shards`);
  });

  test('each epoch covers every position exactly once; rows are the stored rows, both hooks paired', async () => {
    const ref = storedRows(store);
    const bs = await all(store, { hook: HOOKS, batchSize: 64, seed: 1, epochs: 2, shuffleBuffer: 120 });
    const per = Math.ceil(N / 64);
    assert.equal(bs.length, 2 * per);
    for (const e of [0, 1]) {
      const ep = bs.filter((b) => b.epoch === e);
      assert.equal(ep.length, per);
      assert.ok(ep.slice(0, -1).every((b) => b.rows === 64));
      assert.equal(ep[per - 1].rows, N - 64 * (per - 1));
      const idx = indices(ep);
      assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), `epoch ${e}`);
    }
    for (const b of bs) {
      assert.deepEqual([...b.x.dims], [b.rows, 16]);
      assert.deepEqual([...b.y!.dims], [b.rows, 24]);
      for (let r = 0; r < b.rows; r++) {
        assert.deepEqual(b.x.data.subarray(r * 16, (r + 1) * 16), ref[HOOKS[0]][b.index[r]]);
        assert.deepEqual(b.y!.data.subarray(r * 24, (r + 1) * 24), ref[HOOKS[1]][b.index[r]]);
      }
    }
    // The two epochs are in different orders.
    assert.notDeepEqual(indices(bs.filter((b) => b.epoch === 0)), indices(bs.filter((b) => b.epoch === 1)));
  });

  test('shuffled across shards within a bounded buffer; deterministic by seed', async () => {
    const o = { hook: HOOKS[0], batchSize: 32, seed: 7, shuffleBuffer: 150 };
    const a = await all(store, o);
    const b = await all(store, o);
    assert.deepEqual(indices(a), indices(b));
    assert.deepEqual(a.map((x) => Array.from(x.x.data)), b.map((x) => Array.from(x.x.data)));
    const c = await all(store, { ...o, seed: 8 });
    assert.notDeepEqual(indices(a), indices(c));
    // The first batch mixes several shards (shuffleBuffer 150 = 3 shards of 50), and not the first ones in order.
    const shardsOf = (bt: ActivationBatch) => new Set(Array.from(bt.index, (i) => Math.floor(i / 50)));
    assert.ok(shardsOf(a[0]).size >= 2, `first batch from shards ${[...shardsOf(a[0])]}`);
    // Rows of one window are at most shuffleBuffer positions apart in the epoch: every run of 150 consecutive
    // emitted rows comes from few shards (bounded buffer), never from all of them.
    const first = indices(a).slice(0, 150);
    assert.ok(new Set(first.map((i) => Math.floor(i / 50))).size <= 6);
    // Without shuffling: stored order.
    assert.deepEqual(indices(await all(store, { ...o, shuffle: false })), Array.from({ length: N }, (_, i) => i));
    // A single row per batch and dropLast.
    const full = await all(store, { ...o, dropLast: true });
    assert.ok(full.every((x) => x.rows === 32));
    assert.equal(full.length, Math.floor(N / 32));
  });

  test('a cursor resumes exactly after the batch that returned it (mid-window, at an epoch boundary)', async () => {
    const o: BatchOptions = { hook: HOOKS, batchSize: 40, seed: 3, epochs: 3, shuffleBuffer: 100 };
    const full = await all(store, o);
    const perEpoch = full.filter((b) => b.epoch === 0).length;
    for (const k of [0, 4, perEpoch - 1, perEpoch, 2 * perEpoch + 1]) {
      const rest = await all(store, { ...o, cursor: full[k].cursor });
      assert.equal(rest.length, full.length - k - 1, `after batch ${k}`);
      assert.deepEqual(indices(rest), indices(full.slice(k + 1)), `after batch ${k}`);
      assert.deepEqual(Array.from(rest[0]?.y?.data ?? []), Array.from(full[k + 1]?.y?.data ?? []));
    }
    // The cursor is plain JSON (a trainer checkpoint can hold it).
    const c = JSON.parse(JSON.stringify(full[5].cursor));
    assert.deepEqual(indices(await all(store, { ...o, cursor: c })), indices(full.slice(6)));
    await rejectsCode(() => all(store, { ...o, seed: 4, cursor: c }), 'STORE_CURSOR', ['seed 3']);
    await rejectsCode(() => all(store, { ...o, hook: 'blocks.0.hook_resid_post' }), 'STORE_HOOK', ['blocks.0.hook_resid_mid']);
    await rejectsCode(() => all(store, { ...o, batchSize: 0 }), 'STORE_OPTIONS', ['batchSize']);
  });

  test('float16 stores read back as float32 [rows, d]', async () => {
    const s = store.readShard(0, [HOOKS[0]]);
    assert.ok(s.acts[HOOKS[0]].data instanceof Float32Array);
    assert.equal(store.manifest.dtype, 'float16');
    assert.equal(store.d(HOOKS[1]), 24);
  });

  describe('broken stores', () => {
    const copy = (name: string) => {
      const to = path.join(dir, name);
      fs.cpSync(OUT, to, { recursive: true });
      return to;
    };

    test('truncated shard file: openStore names it and the sizes', () => {
      const d = copy('truncated');
      const f = path.join(d, 'shard-00003.h1.f16');
      fs.truncateSync(f, fs.statSync(f).size - 10);
      assert.throws(() => openStore(d), (e: Error & { code?: string }) => e.code === 'STORE_SHARD' && e.message.includes('shard-00003.h1.f16') && e.message.includes('truncated'));
    });

    test('manifest pointing at a missing file', () => {
      const d = copy('missing');
      const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
      m.shards[2].ids.file = 'shard-00099.tokens.i32';
      fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
      assert.throws(() => openStore(d), (e: Error & { code?: string }) => e.code === 'STORE_MISSING' && e.message.includes('shard-00099.tokens.i32'));
      fs.rmSync(path.join(d, 'shard-00004.where.i32'));
      m.shards[2].ids.file = 'shard-00002.tokens.i32';
      fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
      assert.throws(() => openStore(d), (e: Error & { code?: string }) => e.code === 'STORE_MISSING' && e.message.includes('shard-00004.where.i32'));
      assert.throws(() => openStore(path.join(dir, 'nowhere')), (e: Error & { code?: string }) => e.code === 'STORE_MISSING' && e.message.includes('manifest.json'));
    });

    test('checksum mismatch (same size, one byte changed) is caught when the shard is read', async () => {
      const d = copy('corrupt');
      const f = path.join(d, 'shard-00005.h0.f16');
      const buf = fs.readFileSync(f);
      buf[17] ^= 0x40;
      fs.writeFileSync(f, buf);
      const s = openStore(d); // sizes are fine
      await rejectsCode(() => all(s, { hook: HOOKS[0], batchSize: 64 }), 'STORE_CHECKSUM', ['shard-00005.h0.f16', 'sha256']);
      assert.throws(() => s.readShard(5), (e: Error & { code?: string }) => e.code === 'STORE_CHECKSUM');
      // verify: false skips the hashing (sizes are still checked).
      assert.equal(openStore(d, { verify: false }).readShard(5).n, 50);
    });

    test('bad manifests: not JSON, another format or version, sizes that do not add up', () => {
      const d = copy('badmanifest');
      const file = path.join(d, 'manifest.json');
      const good = fs.readFileSync(file, 'utf8');
      const cases: [string, string][] = [
        ['{"format": "probity-activation-store", ', 'cannot read'],
        [JSON.stringify({ ...JSON.parse(good), format: 'probity-organism-corpus' }), 'format'],
        [JSON.stringify({ ...JSON.parse(good), version: 7 }), 'version 7'],
        [JSON.stringify({ ...JSON.parse(good), dtype: 'int8' }), 'dtype'],
        [JSON.stringify({ ...JSON.parse(good), tokens: 5 }), 'shards hold'],
      ];
      const m = JSON.parse(good);
      m.shards[1].acts.h0.bytes = 12;
      cases.push([JSON.stringify(m), 'need']);
      const m2 = JSON.parse(good);
      m2.shards[1].acts.h0.file = '../escape.f16';
      cases.push([JSON.stringify(m2), 'outside']);
      for (const [text, mention] of cases) {
        fs.writeFileSync(file, text);
        assert.throws(() => openStore(d), (e: Error & { code?: string }) => e.code === 'STORE_MANIFEST' && e.message.includes(mention), mention);
      }
    });
  });
});
