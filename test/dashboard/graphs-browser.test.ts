// End-to-end: the graphs page of the built front end (dist/web) in Debian's Chromium (headless, playwright-core),
// served by the dashboard handler with graph files in a temporary folder: the list shows the sample graph and a
// broken file's error; a graph's page frames its SVG, error nodes drawn as error nodes, and hovering a node brings
// its links forward. Screenshots go to test-artifacts/dashboard/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { WEB_DIR } from '../../src/dashboard/static.js';
import { sampleGraph } from '../circuits/graph-fixture.js';
import { artifactPath, launchBrowser, type Browser } from './browser.js';
import { startGraphDashboard, type GraphDashboard } from './graph-server.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-dash-graphs-e2e-'));
let dash: GraphDashboard;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(WEB_DIR, 'index.html')), `the front end is not built (${WEB_DIR}/index.html is missing): run npm run build`);
  fs.writeFileSync(path.join(tmp, 'capital-of.json'), JSON.stringify(sampleGraph()));
  const broken = sampleGraph();
  broken.links[0].target = 'no-such-node';
  fs.writeFileSync(path.join(tmp, 'broken.json'), JSON.stringify(broken));
  [dash, browser] = await Promise.all([startGraphDashboard([tmp]), launchBrowser()]);
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await Promise.all([browser?.close(), dash?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the graphs page lists the sample graph and a broken file with its error', async () => {
  await page.goto(`${dash.url}/#/graphs`);
  await page.waitForSelector('table.graph-list tbody tr', { timeout: 20_000 });
  assert.equal(await page.textContent('header nav a.active'), 'Graphs');
  const rows = await page.$$eval('table.graph-list tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.equal(rows.length, 2);
  assert.match(rows[0].join(' '), /broken .*\$\.links\[0\]\.target is "no-such-node"; expected the node_id of a node/);
  const g = sampleGraph();
  const c = g.metadata.probity.counts;
  assert.deepEqual(rows[1], ['capital-of', g.metadata.prompt, String(c.active_features), String(c.kept_nodes), String(c.kept_links), '0.734', '0.861', '0.193', 'organism']);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 1280, `the page is ${width} px wide`);
  await page.screenshot({ path: artifactPath('graphs.png') });
});

test('a graph page shows its SVG: every node, error nodes as grey squares marked err, links highlighted on hover', async () => {
  await page.click('table.graph-list a');
  await page.waitForFunction(() => location.hash === '#/graph/capital-of');
  const frame: Frame | null = await (await page.waitForSelector('iframe.graph-view', { timeout: 20_000 })).contentFrame();
  assert.ok(frame, 'the graph frame');
  await frame.waitForSelector('svg.graph');
  const g = sampleGraph();
  assert.equal((await frame.$$('svg.graph .node')).length, g.nodes.length);
  const errors = await frame.$$eval('svg.graph .node.error', (els) => els.map((e) => ({
    id: e.getAttribute('data-node'), shape: e.querySelector('rect') ? getComputedStyle(e.querySelector('rect')!).fill : null, label: e.querySelector('text')?.textContent,
  })));
  assert.deepEqual(errors.map((e) => e.id).sort(), g.nodes.filter((n) => n.feature_type === 'mlp reconstruction error').map((n) => n.node_id).sort());
  for (const e of errors) assert.deepEqual([e.shape, e.label], ['rgb(187, 187, 187)', 'err'], `error node ${e.id}`);
  assert.equal((await frame.$$('svg.graph .node.feature circle')).length, g.nodes.filter((n) => n.feature_type === 'cross layer transcoder').length);
  assert.equal((await frame.$$('svg.graph path.link')).length, g.links.length);
  assert.match((await frame.textContent('h1')) ?? '', /capital-of/);
  assert.match((await frame.textContent('.prompt code')) ?? '', /^The capital of$/);
  // Hover the strongest feature: its three links come forward, every other link fades.
  const idx = g.nodes.findIndex((n) => n.node_id === '1_230_3');
  await frame.hover(`#n${idx}`);
  const opacity = await frame.$$eval('svg.graph path.link', (ls) => ls.map((l) => [l.getAttribute('class'), getComputedStyle(l).strokeOpacity]));
  const mine = opacity.filter(([c]) => new RegExp(`\\b[st]${idx}\\b`).test(c ?? ''));
  assert.equal(mine.length, 3);
  assert.ok(mine.every(([, o]) => o === '0.95'), `its links: ${JSON.stringify(mine)}`);
  assert.ok(opacity.filter((x) => !mine.includes(x)).every(([, o]) => o === '0.05'), 'the others fade');
  await page.screenshot({ path: artifactPath('graph.png') });
});

test('a broken graph\'s page shows the server\'s error naming the file and the path', async () => {
  await page.goto(`${dash.url}/#/graph/broken`);
  await page.waitForSelector('.error', { timeout: 20_000 });
  assert.match((await page.textContent('.error')) ?? '', /graph broken is not a valid attribution graph file: .*broken\.json: \$\.links\[0\]\.target/);
  assert.deepEqual(pageErrors, [], 'no script errors');
});
