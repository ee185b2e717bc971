// graphHtml on the sample graph: one SVG element per kept node, error nodes drawn as error nodes, links by sign and
// width, the error accounting in the header, every string escaped, nothing external, and an empty graph still renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { graphHtml } from '../../src/circuits/html.js';
import { esc } from '../../src/report/html.js';
import { validateGraphFile } from '../../src/circuits/validate-graph.js';
import { sampleGraph } from './graph-fixture.js';

/** The node groups of the SVG: [class, data-node, inner markup]. */
function nodeGroups(html: string): [string, string, string][] {
  return [...html.matchAll(/<g class="node ([^"]*)" id="n\d+" data-node="([^"]*)">([\s\S]*?)<\/g>/g)].map((m) => [m[1], m[2], m[3]]);
}

test('every kept node is drawn once, with its kind\'s shape and a tooltip', () => {
  const g = sampleGraph();
  const html = graphHtml(g);
  const groups = nodeGroups(html);
  assert.equal(groups.length, g.nodes.length);
  for (const n of g.nodes) {
    const mine = groups.filter(([, id]) => id === esc(n.node_id));
    assert.equal(mine.length, 1, `${n.node_id} drawn once`);
    const [cls, , inner] = mine[0];
    const kind = { 'cross layer transcoder': 'feature', 'mlp reconstruction error': 'error', embedding: 'token', logit: 'logit' }[n.feature_type];
    assert.ok(cls.split(' ').includes(kind), `${n.node_id} is a ${kind} (${cls})`);
    const title = /<title>([\s\S]*?)<\/title>/.exec(inner)![1];
    assert.ok(title.startsWith(n.node_id), `tooltip of ${n.node_id}: ${title}`);
    assert.match(title, /activation /);
    assert.match(title, /influence /);
    if (kind === 'feature') assert.match(inner, /<circle /);
    if (kind === 'error') assert.match(inner, /<rect [^>]*\/><text [^>]*>err<\/text>/, 'error nodes are squares marked err');
    if (kind === 'feature') assert.doesNotMatch(inner, />err</);
  }
  assert.equal(groups.filter(([c]) => c.includes('error')).length, 3);
  const target = groups.find(([c]) => c.includes('target'))!;
  assert.equal(target[1], '3_6342_3');
  assert.match(target[2], /<text [^>]*> France 0\.612<\/text>/, 'the target logit is labelled with its token and probability');
});

test('links: one curve per link, coloured by sign, the strongest widest; header and top-node table', () => {
  const g = sampleGraph();
  const html = graphHtml(g);
  const links = [...html.matchAll(/<path class="link (pos|neg) s\d+ t\d+" d="[^"]+" stroke-width="([\d.]+)"><title>([^<]*)<\/title>/g)];
  assert.equal(links.length, g.links.length);
  assert.equal(links.filter((m) => m[1] === 'neg').length, g.links.filter((l) => l.weight < 0).length);
  const widest = links.reduce((a, b) => (Number(b[2]) > Number(a[2]) ? b : a));
  assert.equal(widest[3], esc('1_230_3 → 3_6342_3: 2.1'));
  assert.equal(Number(widest[2]), 4);
  for (const s of ['replacement score', 'completeness score', 'error influence share', 'transcoder FVE', 'Target logit, direct', 'Most influential nodes']) assert.ok(html.includes(s), s);
  assert.match(html, /<th>replacement score<\/th><td>0\.734<\/td>/);
  assert.match(html, /<td class="t">L1<\/td><td>0\.122<\/td><td>0\.840<\/td>/, 'per-layer error share and FVE');
  assert.match(html, /<td>2\.100<\/td><td>0\.450<\/td><td>0\.050<\/td><td>0\.300<\/td><td>2\.900<\/td>/, 'target logit direct split');
  // Top nodes by influence: the most influential (smallest cumulative score) first, logits not ranked.
  const top = [...html.matchAll(/<tr><td class="t">(\d+)<\/td><td class="t"><a href="#n\d+"><code>([^<]+)<\/code>/g)].map((m) => m[2]);
  assert.deepEqual(top.slice(0, 3), ['1_230_3', 'E_3051_2', '1_5_2']);
  assert.ok(!top.includes('3_6342_3'));
  // Column labels: the prompt's tokens along the bottom.
  for (const t of g.metadata.prompt_tokens) assert.ok(html.includes(`>${esc(t)}</text>`), `column label ${t}`);
  assert.doesNotMatch(html, /<script|src=|href="http|url\(/i, 'no script, nothing external');
});

test('every string from the file is escaped', () => {
  const g = sampleGraph();
  const evil = '<script>alert("x")</script>&';
  g.metadata.prompt = `The capital ${evil}`;
  g.metadata.prompt_tokens[1] = evil;
  g.metadata.slug = evil;
  g.metadata.probity.model = evil;
  g.metadata.probity.transcoders = [evil];
  g.metadata.probity.code_version = evil;
  g.nodes[0].clerp = evil;
  g.nodes[12].clerp = `Output "${evil}" (p=0.612)`;
  validateGraphFile(g, 'evil.json');
  const html = graphHtml(g);
  assert.ok(!html.includes('<script'), 'no raw script tag');
  assert.ok(!html.includes('"x")'), 'no raw quote from the file');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
});

test('a graph with zero links (and one with no nodes at all) still renders', () => {
  const g = sampleGraph();
  g.links = [];
  g.metadata.probity.counts.kept_links = 0;
  validateGraphFile(g, 'nolinks.json');
  const html = graphHtml(g);
  assert.equal(nodeGroups(html).length, g.nodes.length);
  assert.doesNotMatch(html, /<path class="link/);
  const empty = sampleGraph();
  empty.nodes = [];
  empty.links = [];
  empty.metadata.probity.counts.kept_nodes = 0;
  empty.metadata.probity.counts.kept_links = 0;
  validateGraphFile(empty, 'empty.json');
  const e = graphHtml(empty);
  assert.match(e, /<svg class="graph"[\s\S]*<\/svg>/);
  assert.match(e, /no target logit/);
  assert.match(e, /No ranked nodes/);
});
