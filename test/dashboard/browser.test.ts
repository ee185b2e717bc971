// End-to-end: the built front end (dist/web, made by `npm run build`) in Debian's Chromium (headless, playwright-
// core), served by the dashboard handler over loopback with the organism, its shipped SAE (dashboard data made here
// from 6k held-out tokens) and the shipped reference report. Screenshots go to test-artifacts/dashboard/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadModel } from '../../src/models/load.js';
import { loadSaeLens } from '../../src/dictionaries/saelens.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer, type RunningServer } from '../../src/serve/http.js';
import { createDashboardHandler } from '../../src/dashboard/server.js';
import { buildDashboardData } from '../../src/dashboard/data/build.js';
import { WEB_DIR } from '../../src/dashboard/static.js';
import { artifactPath, launchBrowser, type Browser } from './browser.js';

process.env.PROBITY_SPIN = '0';
const SAE = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post');
const SAE_ID = 'topk-k32-blocks.2.hook_resid_post';
const NODATA = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post-seed3');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-dash-e2e-'));
let scheduler: Scheduler;
let srv: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(WEB_DIR, 'index.html')), `the front end is not built (${WEB_DIR}/index.html is missing): run npm run build`);
  const model = await loadModel('organism');
  await buildDashboardData({ model, sae: loadSaeLens(SAE), saeDir: SAE, out: path.join(tmp, 'data'), settings: { tokens: 6000 } });
  scheduler = new Scheduler(model);
  const handler = await createDashboardHandler({ model, modelRef: 'organism', scheduler, saes: [path.join(tmp, 'data'), NODATA], results: [path.resolve('reports/bench-organism')] });
  srv = await startServer({ host: '127.0.0.1', port: 0, handlers: [handler] });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await browser?.close();
  await srv?.close();
  await scheduler?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(hash: string, ready: string): Promise<void> {
  await page.goto(`${srv.url}/${hash}`);
  await page.waitForSelector(ready, { timeout: 20_000 });
}

/** Nothing wider than the 1280 px viewport: no page-level horizontal scroll, every table inside the window. */
async function fitsWidth(what: string): Promise<void> {
  const r = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    tables: [...document.querySelectorAll('table')].map((t) => Math.round(t.getBoundingClientRect().right)),
  }));
  assert.ok(r.page <= 1280, `${what}: the page is ${r.page} px wide`);
  for (const right of r.tables) assert.ok(right <= 1280, `${what}: a table ends at ${right} px`);
}

/** Axis titles of the SVG charts on the page. */
const axisTitles = () => page.$$eval('.chart svg g.role-axis-title text', (ts) => ts.map((t) => t.textContent ?? ''));

test('a latent page shows highlighted contexts, contexts from every quantile and a labelled histogram', async () => {
  const list = await (await fetch(`${srv.url}/api/latents?sort=density&pageSize=1`)).json();
  const id = list.items[0].id;
  await open(`#/latent/${SAE_ID}/${id}`, '.chart svg');
  assert.equal(await page.textContent('h1'), `Latent #${id} · ${SAE_ID}`);
  const lit = await page.$$eval('.ctx .tok.on', (ts) => ts.map((t) => (t as HTMLElement).style.background));
  assert.ok(lit.length >= 5, `${lit.length} highlighted tokens`);
  assert.ok(lit.every((b) => /rgba?\(240, 110, 20/.test(b)), 'active tokens are shaded');
  assert.ok((await page.$$('.quantile')).length >= 3, 'contexts from several activation quantiles');
  const bars = await page.$$('.chart svg g.mark-rect path');
  assert.ok(bars.length >= 10, `histogram and sensitivity bars drawn (${bars.length})`);
  const titles = await axisTitles();
  for (const t of ['activation (non-zero)', 'tokens', 'fraction with concept']) assert.ok(titles.includes(t), `axis title "${t}" in ${JSON.stringify(titles)}`);
  assert.ok((await page.$$('table.concepts tbody tr')).length >= 1, 'concept matches');
  assert.match((await page.getAttribute('a.button', 'href')) ?? '', new RegExp(`^#/steer\\?sae=${SAE_ID.replace(/\./g, '\\.')}&latent=${id}&strength=`));
  await fitsWidth('latent page');
  await page.screenshot({ path: artifactPath('latent.png'), fullPage: true });
});

test('the latent list searches and sorts', async () => {
  await open(`#/latents?sae=${SAE_ID}`, 'table.list tbody tr');
  assert.match((await page.textContent('.count')) ?? '', /3,072 latents/);
  const snippet: string = (await (await fetch(`${srv.url}/api/latents/7`)).json()).summary.snippet;
  const word = snippet.split(/\s+/).find((w) => /^[A-Za-z]{4,}$/.test(w))!;
  await page.fill('input[name=q]', word);
  await page.press('input[name=q]', 'Enter');
  await page.waitForFunction((w) => document.querySelector('.count')?.textContent?.includes(`matching “${w}”`), word);
  const rows = await page.$$eval('table.list tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  assert.ok(rows.length >= 1 && rows.some((r) => r.startsWith('#7')), `latent 7 found by "${word}"`);
  await page.selectOption('select[name=sort]', 'density');
  await page.waitForFunction(() => location.hash.includes('sort=density'));
  await page.waitForTimeout(200);
  const dens = await page.$$eval('table.list tbody tr td:nth-child(2)', (tds) => tds.map((t) => parseFloat(t.textContent ?? '')));
  assert.ok(dens.every((d, i) => i === 0 || dens[i - 1] >= d), `sorted by density: ${dens.slice(0, 5)}`);
  await fitsWidth('latent list');
  await page.screenshot({ path: artifactPath('latents-search.png') });
  await open(`#/latents?sae=topk-k32-blocks.2.hook_resid_post-seed3`, '.nodata');
  assert.match((await page.textContent('.nodata pre')) ?? '', /^probity sae dashboard-data --sae models\/organism\/saes\/topk-k32-blocks\.2\.hook_resid_post-seed3$/);
});

test('a steered generation streams in beside the unsteered one', async () => {
  await open(`#/steer?sae=${SAE_ID}&latent=5&strength=40`, 'button.go');
  await page.fill('input[name=maxTokens]', '60');
  // Record every text the steered pane shows while it streams.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const el = document.querySelector('.gen[data-side=steered]')!;
    new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, subtree: true, characterData: true });
  });
  await page.click('button.go');
  await page.waitForFunction(() => [...document.querySelectorAll('.status')].every((s) => (s.textContent ?? '').includes('tokens')), null, { timeout: 60_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  const lengths = [...new Set(seen.map((s) => s.length))];
  assert.ok(lengths.length >= 5, `the steered text grew in ${lengths.length} steps`);
  const [plain, steered] = await page.$$eval('.gen', (els) => els.map((e) => e.textContent ?? ''));
  assert.ok(plain.startsWith('Once upon a time, Tom went to the park.') && plain.length > 45);
  assert.notEqual(plain, steered, 'steering changed the text');
  await fitsWidth('steering');
  await page.screenshot({ path: artifactPath('steer.png') });
});

test('a report page: the table, method filters, a chart with axis titles and hover values', async () => {
  await open('#/reports', 'table.list a');
  await page.click('table.list a');
  await page.waitForSelector('#report-table tbody tr', { timeout: 20_000 });
  const head = () => page.$$eval('#report-table thead th', (ths) => ths.map((t) => t.textContent));
  assert.deepEqual(await head(), ['concept', 'diffmean', 'probe', 'pca', 'kmeans', 'random', 'sae', 'sae-topk-probe']);
  assert.equal((await page.$$('#report-table tbody tr')).length, 15);
  await page.uncheck('input[name="methods:pca"]');
  assert.deepEqual(await head(), ['concept', 'diffmean', 'probe', 'kmeans', 'random', 'sae', 'sae-topk-probe']);
  await page.waitForSelector('.chart svg g.mark-rect path');
  const titles = await axisTitles();
  assert.ok(titles.includes('concept') && titles.some((t) => t.startsWith('auroc')), `axis titles ${JSON.stringify(titles)}`);
  const bar = (await page.$$('.chart svg g.mark-rect path'))[0];
  await bar.hover();
  await page.waitForSelector('.vg-tip', { state: 'visible' });
  assert.match((await page.textContent('.vg-tip')) ?? '', /value\s*0\.\d+/);
  await page.screenshot({ path: artifactPath('report.png') });
  await page.selectOption('select[name=suite]', 'steer');
  await page.waitForSelector('.curves .chart svg');
  await fitsWidth('report');
  await page.screenshot({ path: artifactPath('report-steer.png'), fullPage: true });
  // The full static report in its frame: the sections the interactive view does not redraw are there.
  const frame = await (await page.waitForSelector('iframe.static-report')).contentFrame();
  assert.ok(frame, 'the static report frame');
  await frame.waitForSelector('#steer h3');
  const h3 = await frame.$$eval('h3', (hs) => hs.map((h) => h.textContent));
  assert.ok(h3.includes('Paired comparisons') && h3.includes('Examples'), `static report sections ${JSON.stringify(h3)}`);
  await page.$eval('iframe.static-report', (f) => f.scrollIntoView());
  await page.screenshot({ path: artifactPath('report-static.png') });
});

test('the prompt view: tokens, top latents at a clicked token, concept labels', async () => {
  await open('#/prompt', 'textarea');
  await page.fill('textarea', 'Once upon a time, Mia the cat was very sad.');
  await page.click('button[type=submit]');
  await page.waitForSelector('.ptok');
  const toks = await page.$$('.ptok');
  await toks[6].click(); // " Mia"
  await page.waitForSelector('table.toplatents tbody tr');
  assert.match((await page.textContent('h2:has-text("Token 6")')) ?? '', /Mia/);
  assert.match((await page.textContent('.prompt .left')) ?? '', /entity:name/);
  await fitsWidth('prompt view');
  await page.screenshot({ path: artifactPath('prompt.png') });
  assert.deepEqual(pageErrors, [], 'no script errors on any page');
});
