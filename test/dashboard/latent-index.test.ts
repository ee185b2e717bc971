// The latent list on a synthetic 16,384-latent index: search, sort and paging against a direct filter-and-sort of
// the same columns; the time per query is reported (a diagnostic, not a pass/fail bar).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatentIndex, SORT_KEYS, type SortKey } from '../../src/dashboard/latent-index.js';
import { syntheticIndex } from './synthetic-index.js';

test('search, sort and paging equal a direct filter and sort; 16,384 latents', (t) => {
  const ix = syntheticIndex(16_384);
  const list = new LatentIndex(ix);
  for (const sort of SORT_KEYS) {
    for (const order of ['asc', 'desc'] as const) {
      for (const q of ['', 'Garden', "'tom'", '#77']) {
        const want = [...ix.density.keys()]
          .filter((i) => {
            if (!q) return true;
            if (q === '#77') return i === 77;
            if (q === "'tom'") return ix.topTokens[i].some((w) => w.trim().toLowerCase() === 'tom');
            return (ix.topTokens[i].join(' ') + ' ' + ix.snippet[i]).toLowerCase().includes('garden');
          })
          .sort((a, b) => {
            const col = sort === 'id' ? null : (ix[sort as Exclude<SortKey, 'id'>] as (number | null)[]);
            if (!col) return order === 'asc' ? a - b : b - a;
            const va = col[a];
            const vb = col[b];
            if (va === null || vb === null) return va === vb ? a - b : va === null ? 1 : -1;
            return (order === 'asc' ? va - vb : vb - va) || a - b;
          });
        const pages = Math.max(1, Math.ceil(want.length / 100));
        for (const page of [1, 2, pages]) {
          const got = list.query({ q, sort, order, page, pageSize: 100 });
          assert.equal(got.total, want.length);
          assert.deepEqual(got.items.map((x) => x.id), want.slice((page - 1) * 100, page * 100), `${sort} ${order} q=${q} page ${page}`);
        }
      }
    }
  }
  // Timing: every sort order computed once already; a text search scans all 16,384 entries.
  const time = (f: () => void, n = 20) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  const search = time(() => list.query({ q: 'garden', sort: 'bestAuroc', page: 3, pageSize: 50 }));
  const plain = time(() => list.query({ sort: 'density', page: 100, pageSize: 50 }));
  const fresh = time(() => new LatentIndex(ix).query({ q: 'rain', sort: 'maxAct' }), 3);
  t.diagnostic(`16,384 latents: text search + sort + page ${search.toFixed(2)} ms, sorted page ${plain.toFixed(3)} ms, first query on a new index (lower-casing, one sort) ${fresh.toFixed(1)} ms`);
});

test('an index whose columns do not match d_sae is refused', () => {
  const ix = syntheticIndex(10);
  ix.maxAct.pop();
  assert.throws(() => new LatentIndex(ix), /column maxAct has 9 entries, expected d_sae = 10/);
});
