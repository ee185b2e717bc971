// validateGraphFile on the hand-built sample graph: it passes; planted faults (schema and semantic) each throw a
// ProbityError naming the file and the right JSON path; every field of the format is required and no other is
// allowed; random mutations either validate or throw a ProbityError, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProbityError } from '../../src/errors.js';
import { jsonPath, parseGraphText, readGraphFile, validateGraphFile } from '../../src/circuits/validate-graph.js';
import { graphHtml } from '../../src/circuits/html.js';
import { uniform } from '../../src/util/random.js';
import { sampleGraph } from './graph-fixture.js';

const FILE = 'reports/graphs/sample.json';

function rejects(g: unknown, pattern: RegExp, what: string): void {
  assert.throws(() => validateGraphFile(g, FILE), (e: unknown) => {
    assert.ok(e instanceof ProbityError, `${what}: ${String(e)}`);
    assert.equal(e.code, 'GRAPH_INVALID');
    assert.ok(e.message.startsWith(`${FILE}: `), `${what}: the message names the file: ${e.message}`);
    assert.match(e.message, pattern, what);
    return true;
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the sample graph is valid, also after a JSON round trip and read from disk', () => {
  const g = sampleGraph();
  assert.equal(validateGraphFile(g, FILE), g);
  const text = JSON.stringify(g);
  assert.deepEqual(parseGraphText(text, FILE), g);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-graph-'));
  try {
    fs.writeFileSync(path.join(dir, 'g.json'), text);
    assert.deepEqual(readGraphFile(path.join(dir, 'g.json')), g);
    assert.throws(() => readGraphFile(path.join(dir, 'missing.json')), (e: any) => e instanceof ProbityError && e.code === 'GRAPH_UNREADABLE' && e.message.includes('missing.json'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(jsonPath('/nodes/3/layer'), '$.nodes[3].layer');
  assert.equal(jsonPath('/metadata/a~1b', 'c d'), '$.metadata["a/b"]["c d"]');
});

test('planted schema faults name the JSON path and what was expected', () => {
  const cases: [string, (g: any) => void, RegExp][] = [
    ['a missing score', (g) => delete g.metadata.probity.scores.replacement_score, /\$\.metadata\.probity\.scores\.replacement_score is missing/],
    ['an unknown feature_type', (g) => (g.nodes[3].feature_type = 'transcoder'), /\$\.nodes\[3\]\.feature_type is "transcoder"; expected one of "cross layer transcoder", "mlp reconstruction error", "embedding", "logit"/],
    ['a token node outside layer E', (g) => (g.nodes[8].layer = '0'), /\$\.nodes\[8\]\.layer is "0"; expected "E" \(a node of feature_type "embedding"\)/],
    ['an error node with a feature', (g) => (g.nodes[5].feature = 3), /\$\.nodes\[5\]\.feature is 3; expected -1/],
    ['a feature node with a non-numeric layer', (g) => (g.nodes[0].layer = 'L0'), /\$\.nodes\[0\]\.layer is "L0"; expected a string matching/],
    ['a string weight', (g) => (g.links[2].weight = 'big'), /\$\.links\[2\]\.weight is "big"; expected number/],
    ['NaN in memory (JSON would write null)', (g) => (g.nodes[0].activation = NaN), /\$\.nodes\[0\]\.activation is NaN; expected number or null/],
    ['a fractional position', (g) => (g.nodes[1].ctx_idx = 1.5), /\$\.nodes\[1\]\.ctx_idx is 1\.5; expected integer/],
    ['a negative count', (g) => (g.metadata.probity.counts.tokens = -1), /\$\.metadata\.probity\.counts\.tokens is -1; expected a number >= 0/],
    ['another schema version', (g) => (g.metadata.probity.schema = 'probity-attribution-graph/2'), /\$\.metadata\.probity\.schema is "probity-attribution-graph\/2"; expected "probity-attribution-graph\/1"/],
    ['an extra field', (g) => (g.metadata.extra = 1), /\$\.metadata\.extra is not a field of this format/],
    ['nodes not an array', (g) => (g.nodes = {}), /\$\.nodes is an object; expected array/],
    ['a null prompt token', (g) => (g.metadata.prompt_tokens[2] = null), /\$\.metadata\.prompt_tokens\[2\] is null; expected string/],
  ];
  for (const [what, plant, pattern] of cases) {
    const g = sampleGraph();
    plant(g);
    rejects(g, pattern, what);
  }
  rejects([], /^[^:]+: \$ is an array of 0; expected object/, 'not an object');
  assert.throws(() => parseGraphText('{"nodes": [', FILE), (e: any) => e instanceof ProbityError && /^reports\/graphs\/sample\.json: is not valid JSON/.test(e.message));
});

test('planted semantic faults: duplicate ids, dangling links, positions past the prompt, ids that disagree, counts', () => {
  const cases: [string, (g: any) => void, RegExp][] = [
    ['a duplicate node id', (g) => (g.nodes[7] = { ...g.nodes[7], layer: '0', ctx_idx: 2, node_id: 'err_0_2' }), /\$\.nodes\[7\]\.node_id is "err_0_2", the id of \$\.nodes\[5\] too; expected node ids to be unique/],
    ['a link from no node', (g) => (g.links[4].source = '1_999_3'), /\$\.links\[4\]\.source is "1_999_3"; expected the node_id of a node in \$\.nodes/],
    ['a link to no node', (g) => (g.links[11].target = '3_1_3'), /\$\.links\[11\]\.target is "3_1_3"; expected the node_id of a node/],
    ['a position past the prompt', (g) => Object.assign(g.nodes[3], { ctx_idx: 4, node_id: '1_88_4' }), /\$\.nodes\[3\]\.ctx_idx is 4; expected 0 \.\. 3 \(\$\.metadata\.prompt_tokens has 4 tokens\)/],
    ['an id that names another layer', (g) => (g.nodes[2].layer = '0'), /\$\.nodes\[2\]\.node_id is "1_5_2"; expected "0_5_2"/],
    ['an error id at another position', (g) => (g.nodes[6].node_id = 'err_1_1'), /\$\.nodes\[6\]\.node_id is "err_1_1"; expected "err_1_3"/],
    ['a token id at another position', (g) => (g.nodes[9].node_id = 'E_412_2'), /\$\.nodes\[9\]\.node_id is "E_412_2"; expected "E_<token id>_1"/],
    ['a token whose feature is not its position', (g) => (g.nodes[9].feature = 412), /\$\.nodes\[9\]\.feature is 412; expected 1/],
    ['a pair linked twice', (g) => g.links.push({ ...g.links[3], weight: 0.1 }), /\$\.links\[14\] links "0_17_1" to "1_5_2", as \$\.links\[3\] does/],
    ['kept_links off by one', (g) => g.metadata.probity.counts.kept_links++, /\$\.metadata\.probity\.counts\.kept_links is 15; expected 14, the length of \$\.links/],
    ['kept_nodes off by one', (g) => g.metadata.probity.counts.kept_nodes--, /\$\.metadata\.probity\.counts\.kept_nodes is 13; expected 14/],
  ];
  for (const [what, plant, pattern] of cases) {
    const g = sampleGraph();
    plant(g);
    rejects(g, pattern, what);
  }
});

/** Every [JSON pointer, parent, key] of the object fields in `v` (array elements' fields too). */
function objectFields(v: unknown, at = ''): [string, Record<string, unknown>, string][] {
  if (v === null || typeof v !== 'object') return [];
  const out: [string, Record<string, unknown>, string][] = [];
  for (const [k, x] of Object.entries(v)) {
    if (!Array.isArray(v)) out.push([`${at}/${k}`, v as Record<string, unknown>, k]);
    out.push(...objectFields(x, `${at}/${k}`));
  }
  return out;
}

test('every field of the format is required, and no other field is allowed, at every level', () => {
  const fields = objectFields(sampleGraph());
  assert.ok(fields.length > 200, `${fields.length} fields`);
  for (let i = 0; i < fields.length; i++) {
    const g = sampleGraph();
    const [pointer, parent, key] = objectFields(g)[i];
    delete parent[key];
    rejects(g, new RegExp(`${esc(jsonPath(pointer))} is missing`), `without ${pointer}`);
    const h = sampleGraph();
    const [, hp] = objectFields(h)[i];
    if (hp.node_id !== undefined || pointer.split('/').length <= 3) {
      hp.surplus = true;
      rejects(h, new RegExp(`${esc(jsonPath(pointer.replace(/\/[^/]+$/, '/surplus')))} is not a field of this format`), `surplus beside ${pointer}`);
    }
  }
});

/** A random mutation of a random place in the tree: delete, retype, duplicate or reorder. */
function mutate(g: any, rnd: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const places: [any, string | number][] = [];
  const walk = (v: any) => {
    if (v === null || typeof v !== 'object') return;
    for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      places.push([v, k]);
      walk(v[k]);
    }
  };
  walk(g);
  const [parent, key] = pick(places);
  const values = [null, '', '<b>x</b>', 'E', 'err_0_2', g.nodes?.[0]?.node_id, -1, 0, 1, 2.5, 4, 1e12, -0, NaN, Infinity, true, [], {}, [1, 'a'], { node_id: 'x' }];
  switch (pick(['delete', 'set', 'set', 'duplicate', 'swap'] as const)) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'set':
      parent[key] = structuredClone(pick(values));
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
      else parent[`${String(key)}_copy`] = structuredClone(parent[key]);
      break;
    case 'swap': {
      const [p2, k2] = pick(places);
      [parent[key], p2[k2]] = [p2[k2], parent[key]];
      break;
    }
  }
}

test('fuzz: 3000 random mutations each validate or throw a ProbityError naming the file; valid ones render', () => {
  const rnd = uniform(0x9e3779b9);
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const g = sampleGraph();
    for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) mutate(g, rnd);
    let ok = false;
    try {
      validateGraphFile(g, FILE);
      ok = true;
    } catch (e) {
      assert.ok(e instanceof ProbityError, `mutation ${i}: ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(e.message.startsWith(`${FILE}: $`), `mutation ${i}: ${e.message}`);
    }
    if (ok) {
      valid++;
      assert.match(graphHtml(g), /<svg[\s\S]*<\/svg>/, `mutation ${i} validated, so it renders`);
    }
  }
  assert.ok(valid > 50 && valid < 2900, `${valid} of 3000 mutations stayed valid`);
});
