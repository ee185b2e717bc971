// Harvesting: manifest contents, stored values against runWithCache at the same (doc, position), padding never
// stored, BOS skipping, float16 storage, and the text / organism-corpus sources.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { harvest, openStore, organismCorpusSource, rowsSource, textSource, type ShardData } from '../../../src/dictionaries/store/index.js';
import { loadModel } from '../../../src/models/load.js';
import type { Model } from '../../../src/models/model.js';
import { writeCorpus } from '../../../src/organism/shards.js';
import { asModelTokenizer } from '../../../src/organism/model-tokenizer.js';
import { organismTokenizer } from '../../../src/organism/tokenizer.js';
import { llamaFixture, randomArray, rejectsCode } from '../../models/tiny-models.js';
import { prng, ragged, tempDir, tinyModel } from './helpers.js';

const dir = tempDir('store-harvest');
const HOOKS = ['blocks.1.hook_resid_post', 'blocks.0.mlp.hook_post', 'blocks.1.attn.hook_z'];

/** Every stored position: key "doc:pos" -> { token, acts per hook }. Also checks there are no duplicates. */
function collect(shards: Iterable<ShardData>): Map<string, { token: number; acts: Record<string, Float32Array> }> {
  const out = new Map<string, { token: number; acts: Record<string, Float32Array> }>();
  for (const s of shards) {
    for (let i = 0; i < s.n; i++) {
      const key = `${s.docs[i]}:${s.positions[i]}`;
      assert.ok(!out.has(key), `position ${key} stored twice`);
      const acts: Record<string, Float32Array> = {};
      for (const [h, a] of Object.entries(s.acts)) acts[h] = a.data.subarray(i * a.dims[1], (i + 1) * a.dims[1]);
      out.set(key, { token: s.tokens[i], acts });
    }
  }
  return out;
}

/** Replays the harvest's batches (batchRows consecutive rows that keep at least one position) through runWithCache
 *  and calls `check` for every real position: the store must hold exactly these values. */
async function replay(m: Model, rows: number[][], o: { batchRows: number; ctx: number; skipBos: boolean }, check: (doc: number, pos: number, token: number, acts: Record<string, Float32Array>) => void) {
  const kept = rows.map((r, doc) => ({ doc, row: r.slice(0, o.ctx) })).filter((x) => x.row.length - (o.skipBos ? 1 : 0) > 0);
  for (let i = 0; i < kept.length; i += o.batchRows) {
    const batch = kept.slice(i, i + o.batchRows);
    const res = await m.runWithCache(batch.map((b) => b.row), { names: HOOKS, logits: 'none' });
    const T = res.mask.dims[1];
    batch.forEach(({ doc, row }, b) => {
      for (let t = o.skipBos ? 1 : 0; t < row.length; t++) {
        const acts: Record<string, Float32Array> = {};
        for (const h of HOOKS) {
          const a = res.cache[h];
          const d = a.size / (a.dims[0] * a.dims[1]);
          const at = b * T + (T - row.length) + t;
          acts[h] = (a.data as Float32Array).subarray(at * d, (at + 1) * d);
        }
        check(doc, t, row[t], acts);
      }
    });
  }
}

describe('harvest', () => {
  const rows = ragged(45, 7, 1, 40); // some rows of 1 token (nothing to store), some past the context of 32
  const stored = (skipBos: boolean) => rows.reduce((a, r) => a + Math.max(0, Math.min(r.length, 32) - (skipBos ? 1 : 0)), 0);

  test('manifest: format, model, hooks with d, dtype, counts, shards with sha256, token source, skipBos', async () => {
    const m = await tinyModel('llama');
    const out = path.join(dir, 'manifest');
    const r = await harvest({ model: m, hooks: HOOKS, tokens: rowsSource(rows, 'ragged'), out, batchRows: 8, shardTokens: 100 });
    assert.equal(r.complete, true);
    assert.equal(r.resumed, false);
    const onDisk = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(r.manifest)));
    const man = r.manifest;
    assert.equal(man.format, 'probity-activation-store');
    assert.equal(man.version, 1);
    assert.equal(man.model.source, m.source);
    assert.equal(man.model.arch, 'llama');
    assert.match(man.model.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(man.hooks, [
      { name: HOOKS[0], d: 16, file: 'h0' },
      { name: HOOKS[1], d: 24, file: 'h1' },
      { name: HOOKS[2], d: 16, file: 'h2' },
    ]);
    assert.equal(man.dtype, 'float32');
    assert.equal(man.byteOrder, 'little');
    assert.equal(man.skipBos, true);
    assert.equal(man.ctx, 32);
    assert.equal(man.batchRows, 8);
    assert.equal(man.shardTokens, 100);
    assert.equal(man.maxTokens, null);
    assert.equal(man.source.kind, 'rows');
    assert.equal(man.source.rows, 45);
    assert.equal(man.tokens, stored(true));
    assert.equal(man.complete, true);
    assert.equal(man.shards.length, Math.ceil(man.tokens / 100));
    man.shards.forEach((s, i) => {
      assert.equal(s.index, i);
      assert.equal(s.tokens, i < man.shards.length - 1 ? 100 : man.tokens - 100 * i);
      const files = [...Object.values(s.acts), s.ids, s.where];
      assert.deepEqual(files.map((f) => f.file), [`h0.f32`, `h1.f32`, `h2.f32`, 'tokens.i32', 'where.i32'].map((x) => `shard-${String(i).padStart(5, '0')}.${x}`));
      for (const f of files) {
        const buf = fs.readFileSync(path.join(out, f.file));
        assert.equal(buf.length, f.bytes);
        assert.equal(createHash('sha256').update(buf).digest('hex'), f.sha256);
      }
      assert.equal(s.acts.h1.bytes, s.tokens * 24 * 4);
    });
    assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.tmp')), []);
  });

  test('float32: every stored value equals runWithCache at the same (doc, position), bit for bit; padding never stored', async () => {
    const m = await tinyModel('llama');
    const out = path.join(dir, 'f32');
    await harvest({ model: m, hooks: HOOKS, tokens: rows, out, batchRows: 8, shardTokens: 100 });
    const store = openStore(out);
    const got = collect(store.tokensWithActivations());
    assert.equal(got.size, stored(true));
    let n = 0;
    await replay(m, rows, { batchRows: 8, ctx: 32, skipBos: true }, (doc, pos, token, acts) => {
      const s = got.get(`${doc}:${pos}`);
      assert.ok(s, `position ${doc}:${pos} is missing`);
      assert.equal(s.token, token);
      for (const h of HOOKS) assert.deepEqual(s.acts[h], acts[h], `${h} at ${doc}:${pos}`);
      n++;
    });
    assert.equal(n, got.size); // nothing else (no padding position) was stored
    for (const key of got.keys()) {
      const [doc, pos] = key.split(':').map(Number);
      assert.ok(pos >= 1 && pos < Math.min(rows[doc].length, 32), `stored ${key} is not a real position`);
    }
    // And a few rows against the row run alone (no padding at all): the left-padding offsets are right.
    for (const doc of [2, 3, 10]) {
      const row = rows[doc].slice(0, 32);
      const alone = await m.runWithCache([row], { names: [HOOKS[0]], logits: 'none' });
      for (let t = 1; t < row.length; t++) {
        const want = (alone.cache[HOOKS[0]].data as Float32Array).subarray(t * 16, (t + 1) * 16);
        const have = got.get(`${doc}:${t}`)!.acts[HOOKS[0]];
        for (let i = 0; i < 16; i++) assert.ok(Math.abs(have[i] - want[i]) <= 1e-5, `doc ${doc} pos ${t}: ${have[i]} vs ${want[i]}`);
      }
    }
  });

  test('float16: half the bytes, values within half precision of runWithCache', async () => {
    const m = await tinyModel('llama');
    const out = path.join(dir, 'f16');
    const r = await harvest({ model: m, hooks: HOOKS, tokens: rows, out, batchRows: 8, shardTokens: 100, dtype: 'float16' });
    assert.equal(r.manifest.dtype, 'float16');
    assert.equal(r.manifest.shards[0].acts.h0.file, 'shard-00000.h0.f16');
    assert.equal(r.manifest.shards[0].acts.h0.bytes, 100 * 16 * 2);
    const got = collect(openStore(out).tokensWithActivations());
    let worst = 0;
    await replay(m, rows, { batchRows: 8, ctx: 32, skipBos: true }, (doc, pos, _token, acts) => {
      const s = got.get(`${doc}:${pos}`)!;
      for (const h of HOOKS) {
        for (let i = 0; i < acts[h].length; i++) {
          const want = acts[h][i];
          const err = Math.abs(s.acts[h][i] - want);
          assert.ok(err <= Math.abs(want) * 2 ** -11 + 2 ** -25, `${h} ${doc}:${pos}[${i}]: ${s.acts[h][i]} vs ${want}`);
          worst = Math.max(worst, err / Math.max(Math.abs(want), 1e-3));
        }
      }
    });
    console.log(`# float16 store: worst relative error ${worst.toExponential(2)} (bound 2^-11 = ${(2 ** -11).toExponential(2)})`);
  });

  test('skipBos: false keeps position 0 of every row; the default (true) leaves it out and says so', async () => {
    const m = await tinyModel('llama');
    const out = path.join(dir, 'with-bos');
    const r = await harvest({ model: m, hooks: [HOOKS[0]], tokens: rows, out, batchRows: 8, shardTokens: 100, skipBos: false });
    assert.equal(r.manifest.skipBos, false);
    assert.equal(r.manifest.tokens, stored(false));
    const got = collect(openStore(out).tokensWithActivations());
    for (let doc = 0; doc < rows.length; doc++) assert.ok(got.has(`${doc}:0`), `row ${doc} position 0`);
    const bos = collect(openStore(path.join(dir, 'f32')).tokensWithActivations({ hooks: [HOOKS[0]] }));
    assert.ok([...bos.keys()].every((k) => !k.endsWith(':0')));
  });

  test('maxTokens stops mid-row; shards hold exactly shardTokens except the last', async () => {
    const m = await tinyModel('llama');
    const r = await harvest({ model: m, hooks: [HOOKS[0]], tokens: rows, out: path.join(dir, 'budget'), batchRows: 4, shardTokens: 64, maxTokens: 150 });
    assert.equal(r.manifest.tokens, 150);
    assert.deepEqual(r.manifest.shards.map((s) => s.tokens), [64, 64, 22]);
    assert.equal(r.peakBufferedTokens, 64);
  });

  test('several hooks: one file per hook, same positions (a transcoder pair)', async () => {
    const store = openStore(path.join(dir, 'f32'));
    const s = store.readShard(0, [HOOKS[0], HOOKS[2]]);
    assert.deepEqual(Object.keys(s.acts), [HOOKS[0], HOOKS[2]]);
    assert.deepEqual([...s.acts[HOOKS[2]].dims], [100, 16]);
  });

  test('text source: rows are the tokenizer\'s encodings (GPT-2 tokenizer.json)', async () => {
    const m = await tinyModel('gpt2');
    const texts = ['hello world', 'the cat sat on the mat', 'a', 'abcdefgh ijkl mnop'];
    const src = textSource(m, texts, { name: 'greetings' });
    assert.equal(src.description.kind, 'texts');
    const r = await harvest({ model: m, hooks: ['blocks.0.hook_resid_pre'], tokens: src, out: path.join(dir, 'texts'), skipBos: false });
    const ids = texts.map((t) => m.tokenizer.encode(t));
    assert.equal(r.manifest.tokens, ids.reduce((a, x) => a + x.length, 0));
    const s = openStore(path.join(dir, 'texts')).readShard(0);
    assert.deepEqual(Array.from(s.tokens), ids.flat());
    assert.deepEqual(r.manifest.source.texts, 4);
  });

  test('organism corpus source: documents of a TinyWorld corpus folder, <bos> skipped', async () => {
    // A tiny Llama with the organism's vocabulary (1,939 ids) and tokenizer.
    const tok = asModelTokenizer(organismTokenizer());
    const V = tok.vocabSize;
    const mdir = path.join(dir, 'organism-llama');
    llamaFixture(mdir, {
      seed: 9,
      edit: ({ config, weights, shapes }) => {
        config.vocab_size = V;
        for (const n of ['model.embed_tokens.weight', 'lm_head.weight']) {
          weights[n] = randomArray(V * 16, prng(3), 0.5);
          shapes[n] = [V, 16];
        }
      },
    });
    const m = await loadModel(mdir, { tokenizer: tok });
    const corpus = path.join(dir, 'corpus');
    writeCorpus(corpus, 4, { tokens: 1500, shardTokens: 600 });
    const src = organismCorpusSource(corpus);
    assert.equal(src.description.kind, 'organism-corpus');
    const r = await harvest({ model: m, hooks: ['blocks.0.hook_resid_post'], tokens: src, out: path.join(dir, 'organism-store'), ctx: 24, shardTokens: 500 });
    const docs = src.description.docs as number;
    assert.equal(r.manifest.docs, docs);
    const got = collect(openStore(path.join(dir, 'organism-store')).tokensWithActivations());
    assert.equal(got.size, r.manifest.tokens);
    let doc = 0;
    const { readDocs } = await import('../../../src/organism/shards.js');
    let expect = 0;
    for (const d of readDocs(corpus)) {
      assert.equal(d.tokens[0], tok.bos);
      assert.ok(!got.has(`${doc}:0`));
      for (let t = 1; t < Math.min(d.length, 24); t++) assert.equal(got.get(`${doc}:${t}`)?.token, d.tokens[t]);
      expect += Math.min(d.length, 24) - 1;
      doc++;
    }
    assert.equal(got.size, expect);
  });

  test('bad options are refused with clear errors', async () => {
    const m = await tinyModel('llama');
    const base = { model: m, tokens: rows, out: path.join(dir, 'bad') };
    await rejectsCode(() => harvest({ ...base, hooks: ['blocks.9.hook_resid_post'] }), 'HOOK_UNKNOWN', ['blocks.9.hook_resid_post']);
    await rejectsCode(() => harvest({ ...base, hooks: ['blocks.0.attn.hook_pattern'] }), 'STORE_HOOK', ['not a per-token activation']);
    await rejectsCode(() => harvest({ ...base, hooks: [] }), 'STORE_HOOK');
    await rejectsCode(() => harvest({ ...base, hooks: [HOOKS[0], HOOKS[0]] }), 'STORE_HOOK', ['twice']);
    await rejectsCode(() => harvest({ ...base, hooks: [HOOKS[0]], ctx: 33 }), 'STORE_OPTIONS', ['context of 32']);
    await rejectsCode(() => harvest({ ...base, hooks: [HOOKS[0]], dtype: 'bfloat16' as 'float16' }), 'STORE_OPTIONS', ['float32, float16']);
    await rejectsCode(() => harvest({ ...base, hooks: [HOOKS[0]], shardTokens: 0 }), 'STORE_OPTIONS', ['shardTokens']);
    await rejectsCode(() => harvest({ ...base, hooks: [HOOKS[0]], tokens: [[1, 2, 999]], out: path.join(dir, 'bad2') }), 'TOKEN_RANGE');
  });
});
