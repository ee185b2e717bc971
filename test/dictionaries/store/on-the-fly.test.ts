// The on-the-fly source: same batches() interface, no disk. Its rows equal a harvest of the same stream (same model
// batches, so bit for bit), every position comes once per epoch, and a cursor resumes exactly.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { harvest, onTheFly, openStore, rowsSource, type ActivationBatch, type ActivationSource, type BatchOptions } from '../../../src/dictionaries/store/index.js';
import type { Model } from '../../../src/models/model.js';
import { rejectsCode } from '../../models/tiny-models.js';
import { ragged, tempDir, tinyModel } from './helpers.js';

const dir = tempDir('store-fly');
const HOOKS = ['blocks.1.hook_resid_pre', 'blocks.1.hook_mlp_out'];
const rows = ragged(50, 31, 1, 36);

async function all(src: ActivationSource, o: BatchOptions): Promise<ActivationBatch[]> {
  const out: ActivationBatch[] = [];
  for await (const b of src.batches(o)) out.push(b);
  return out;
}
const indices = (bs: ActivationBatch[]) => bs.flatMap((b) => Array.from(b.index));

describe('on the fly', () => {
  let model: Model;
  let stored: Float32Array[][]; // [hook][position]
  let N: number;

  before(async () => {
    model = await tinyModel('llama');
    const out = path.join(dir, 'ref');
    await harvest({ model, hooks: HOOKS, tokens: rowsSource(rows), out, batchRows: 6 });
    const store = openStore(out);
    N = store.tokens;
    stored = HOOKS.map(() => []);
    for (const s of store.tokensWithActivations()) {
      HOOKS.forEach((h, k) => {
        for (let i = 0; i < s.n; i++) stored[k].push(s.acts[h].data.slice(i * 16, (i + 1) * 16));
      });
    }
  });

  test('every position once per epoch, paired hooks, values equal to the harvested store', async () => {
    const src = onTheFly({ model, hooks: HOOKS, tokens: rowsSource(rows), batchRows: 6 });
    assert.equal(src.d(HOOKS[1]), 16);
    const bs = await all(src, { hook: HOOKS, batchSize: 50, seed: 2, epochs: 2, shuffleBuffer: 120 });
    for (const e of [0, 1]) {
      const idx = indices(bs.filter((b) => b.epoch === e));
      assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
    }
    assert.notDeepEqual(indices(bs).slice(0, 50), Array.from({ length: 50 }, (_, i) => i)); // shuffled
    for (const b of bs) {
      for (let r = 0; r < b.rows; r++) {
        assert.deepEqual(b.x.data.subarray(r * 16, (r + 1) * 16), stored[0][b.index[r]]);
        assert.deepEqual(b.y!.data.subarray(r * 16, (r + 1) * 16), stored[1][b.index[r]]);
      }
    }
  });

  test('deterministic by seed; a cursor resumes exactly (skipped windows are not recomputed)', async () => {
    const src = onTheFly({ model, hooks: HOOKS, tokens: rowsSource(rows), batchRows: 6 });
    const o: BatchOptions = { hook: HOOKS[1], batchSize: 32, seed: 5, epochs: 2, shuffleBuffer: 100 };
    const a = await all(src, o);
    assert.deepEqual(indices(await all(src, o)), indices(a));
    assert.notDeepEqual(indices(await all(src, { ...o, seed: 6 })), indices(a));
    let runs = 0;
    const orig = model.runWithCache;
    model.runWithCache = function (this: Model, ...args: Parameters<Model['runWithCache']>) {
      runs++;
      return orig.apply(this, args);
    };
    try {
      for (const k of [3, a.length - 2]) {
        runs = 0;
        const fresh = onTheFly({ model, hooks: HOOKS, tokens: rowsSource(rows), batchRows: 6 });
        const rest = await all(fresh, { ...o, cursor: JSON.parse(JSON.stringify(a[k].cursor)) });
        assert.deepEqual(indices(rest), indices(a.slice(k + 1)));
        assert.deepEqual(rest.map((b) => Array.from(b.x.data)), a.slice(k + 1).map((b) => Array.from(b.x.data)));
        // Near the end of the second epoch only the last window is run again.
        console.log(`# resumed after batch ${k} of ${a.length}: ${runs} model runs`);
        if (k === a.length - 2) assert.ok(runs <= 3, `${runs} model runs`);
      }
    } finally {
      model.runWithCache = orig;
    }
  });

  test('maxTokens ends each pass; a one-shot generator cannot make a second epoch', async () => {
    const src = onTheFly({ model, hooks: [HOOKS[0]], tokens: rowsSource(rows), batchRows: 6, maxTokens: 100 });
    const bs = await all(src, { hook: HOOKS[0], batchSize: 30, epochs: 2 });
    assert.deepEqual([...indices(bs.filter((b) => b.epoch === 0))].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(bs.map((b) => b.rows), [30, 30, 30, 10, 30, 30, 30, 10]);
    function* gen() {
      yield* rows;
    }
    const once = onTheFly({ model, hooks: [HOOKS[0]], tokens: gen(), batchRows: 6 });
    await rejectsCode(() => all(once, { hook: HOOKS[0], batchSize: 30, epochs: 2 }), 'STORE_SOURCE', ['only once']);
    await rejectsCode(() => all(onTheFly({ model, hooks: [HOOKS[0]], tokens: [[5]] }), { hook: HOOKS[0], batchSize: 4 }), 'STORE_EMPTY');
  });
});
