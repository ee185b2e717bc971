// The dashboard's attribution graph routes over real HTTP on loopback: graph files in a temporary folder (the sample
// graph, a file that breaks the format, one that is not JSON, a name given twice), listed, served as validated JSON
// and as the standalone page; each bad request or bad file gets a JSON error naming it, and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGraphDashboard, type GraphDashboard } from './graph-server.js';
import { graphHtml } from '../../src/circuits/html.js';
import { sampleGraph } from '../circuits/graph-fixture.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-dash-graphs-'));
const dir = path.join(tmp, 'graphs');
const other = path.join(tmp, 'other', 'sample.json');
let dash: GraphDashboard;

/** A reply: its JSON body when it says it is JSON (errors always are), else the text. */
async function call(p: string, init?: RequestInit): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const r = await fetch(dash.url + p, init);
  const text = await r.text();
  const json = (r.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: r.status, body: json ? JSON.parse(text) : text, text, headers: r.headers };
}

function expectError(r: { status: number; body: any }, status: number, pattern: RegExp, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.body.error.message, pattern);
  assert.equal(r.body.error.code, code);
}

before(async () => {
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.dirname(other), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sample.json'), JSON.stringify(sampleGraph()));
  const broken = sampleGraph() as any;
  delete broken.metadata.probity.scores.completeness_score;
  fs.writeFileSync(path.join(dir, 'broken.json'), JSON.stringify(broken));
  fs.writeFileSync(path.join(dir, 'notjson.json'), '{"metadata": ');
  fs.writeFileSync(path.join(dir, 'README.md'), 'not a graph');
  fs.mkdirSync(path.join(dir, 'folder.json')); // not a file: not listed
  const second = sampleGraph();
  second.metadata.prompt = 'Another prompt';
  fs.writeFileSync(other, JSON.stringify(second));
  dash = await startGraphDashboard([dir, other, path.join(tmp, 'no-such-dir')]);
});

after(async () => {
  await dash?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET /api/graphs lists every graph file with its prompt, counts and scores, and why a bad one is unavailable', async () => {
  const r = await call('/api/graphs');
  assert.equal(r.status, 200);
  const list = r.body.graphs;
  assert.deepEqual(list.map((g: any) => [g.name, g.available]), [['broken', false], ['notjson', false], ['sample', true], ['sample-2', true]]);
  const s = list[2];
  const g = sampleGraph();
  assert.deepEqual([s.prompt, s.slug, s.model, s.file], [g.metadata.prompt, g.metadata.slug, 'organism', path.join(dir, 'sample.json')]);
  assert.deepEqual(s.counts, g.metadata.probity.counts);
  assert.deepEqual(s.scores, g.metadata.probity.scores);
  assert.equal(list[3].prompt, 'Another prompt');
  assert.match(list[0].error, /broken\.json: \$\.metadata\.probity\.scores\.completeness_score is missing/);
  assert.match(list[1].error, /notjson\.json: is not valid JSON/);
});

test('GET /api/graphs/:name is the validated file; bad files are 422 naming file and path; unknown names 404', async () => {
  const r = await call('/api/graphs/sample');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(r.body, sampleGraph());
  assert.equal(r.text, fs.readFileSync(path.join(dir, 'sample.json'), 'utf8'), 'the file as written');
  expectError(await call('/api/graphs/broken'), 422, /^graph broken is not a valid attribution graph file: .*broken\.json: \$\.metadata\.probity\.scores\.completeness_score is missing/, 'graph_invalid');
  expectError(await call('/api/graphs/notjson/html'), 422, /notjson\.json: is not valid JSON/, 'graph_invalid');
  expectError(await call('/api/graphs/nope'), 404, /unknown graph "nope"; this server has broken, notjson, sample, sample-2/, 'unknown_graph');
  expectError(await call('/api/graphs/nope/html'), 404, /unknown graph "nope"/, 'unknown_graph');
  expectError(await call('/api/graphs/%E0%A4%A'), 400, /not a valid URL path segment/, 'invalid_value');
  expectError(await call('/api/graphs', { method: 'POST', body: '{}' }), 405, /\/api\/graphs takes GET, not POST/, 'method_not_allowed');
  expectError(await call('/api/graphs/sample/html', { method: 'DELETE' }), 405, /\/api\/graphs\/:name\/html takes GET/, 'method_not_allowed');
  assert.equal((await call('/api/graphs/sample-2')).body.metadata.prompt, 'Another prompt');
  assert.deepEqual(dash.internal, [], 'no internal errors');
});

test('GET /api/graphs/:name/html is graphHtml of the file, under a policy that allows no script or external resource', async () => {
  const r = await call('/api/graphs/sample/html');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(r.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
  assert.equal(r.text, graphHtml(sampleGraph()));
});

test('a graph written, fixed or deleted while the server runs is seen on the next request', async () => {
  fs.writeFileSync(path.join(dir, 'later.json'), JSON.stringify(sampleGraph()));
  assert.ok((await call('/api/graphs')).body.graphs.some((g: any) => g.name === 'later' && g.available));
  fs.writeFileSync(path.join(dir, 'broken.json'), JSON.stringify(sampleGraph()));
  assert.equal((await call('/api/graphs/broken')).status, 200, 'the fixed file is served');
  fs.rmSync(path.join(dir, 'later.json'));
  expectError(await call('/api/graphs/later'), 404, /unknown graph "later"/, 'unknown_graph');
  fs.rmSync(other);
  const gone = (await call('/api/graphs')).body.graphs.find((g: any) => g.name === 'sample-2');
  assert.equal(gone.available, false);
  assert.match(gone.error, /does not exist/);
  expectError(await call('/api/graphs/sample-2'), 404, /graph sample-2: .*sample\.json does not exist/, 'graph_missing');
  assert.equal((await call('/api/graphs/sample')).status, 200, 'the server keeps serving');
  assert.deepEqual(dash.internal, []);
});
