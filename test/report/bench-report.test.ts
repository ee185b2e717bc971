// The benchmark HTML report on synthetic results: no model runs, so the numbers are made up by a seeded generator
// (shaped like what `probity bench` writes: per-seed values aggregated into rows, sensitivity bins, a steering sweep).
// What is checked: the page is standalone (no external references, no scripts), results text is escaped, missing
// values print as "–", every concept/target and method reaches its table, and the AUROC table shows the rows' numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderBenchReport } from '../../src/report/bench-report.js';
import { RESULTS_VERSION, type BenchResults, type ResultRow, type SteerPoint, type SteerSection, type DetectSection } from '../../src/bench/results.js';
import { DEFAULT_DETECT_CONCEPTS, DETECT_METRICS, type DetectSeedValue, type SensitivityTable } from '../../src/bench/tasks/detect.js';
import { Mulberry32 } from '../../src/util/random.js';

const DETECT_METHODS = ['diffmean', 'probe', 'sae-best-latent', 'random', 'pca', 'kmeans', 'sae-topk-probe', 'logistic-raw'];
const STEER_METHODS = ['diffmean', 'sae', 'random', 'prompt', 'rejection', 'unsteered', 'probe', 'pca', 'kmeans', 'diffmean@gen'];
const UNSWEPT = new Set(['unsteered', 'prompt', 'rejection']);
const XSS = '<script>alert(1)</script>';

interface Size {
  concepts: number;
  methods: number;
  seeds: number;
  targets: number;
  steerMethods: number;
  strengths: number;
  detect: boolean;
  steer: boolean;
}

const SMALL: Size = { concepts: 3, methods: 4, seeds: 2, targets: 2, steerMethods: 6, strengths: 4, detect: true, steer: true };
const REALISTIC: Size = { concepts: 15, methods: 8, seeds: 3, targets: 3, steerMethods: 10, strengths: 4, detect: true, steer: true };

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const meanOf = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

/** mean with min/max as the interval (a stand-in for the bootstrap, which is not under test here). */
function aggregate(base: Omit<ResultRow, 'mean' | 'ci_low' | 'ci_high' | 'n_seeds'>, vals: number[]): ResultRow {
  return { ...base, mean: meanOf(vals), ci_low: Math.min(...vals), ci_high: Math.max(...vals), n_seeds: vals.length };
}

function synthDetect(rng: Mulberry32, z: Size, seeds: number[]): { rows: ResultRow[]; section: DetectSection } {
  const concepts = DEFAULT_DETECT_CONCEPTS.slice(0, z.concepts);
  const methods = DETECT_METHODS.slice(0, z.methods);
  const quality = methods.map(() => rng.next());
  const perSeed: DetectSeedValue[] = [];
  const sensitivity: SensitivityTable[] = [];
  for (const seed of seeds) {
    for (const concept of concepts) {
      methods.forEach((method, k) => {
        const q = clamp01(0.5 + 0.45 * quality[k] + 0.05 * (rng.next() - 0.5));
        perSeed.push({
          concept, method, seed, auroc: q, auroc_seq: clamp01(q + 0.02), recall_at_1fpr: clamp01(q - 0.5), fpr_at_1fpr_threshold: 0.012,
          val_auroc: clamp01(q + 0.01), threshold: 1, nTestTokens: 1000, nTestPositives: 50, nTestDocs: 40, nTestPositiveDocs: 12, nValTokens: 500, nValNegatives: 470,
        });
        // SAE latents tie at 0 on most tokens: fewer, wider bins, and a different count in the first seed.
        const nBins = method.startsWith('sae') && seed === seeds[0] ? 4 : 10;
        const bins = Array.from({ length: nBins }, (_, i) => {
          const n = Math.round(1000 / nBins);
          const fractionPositive = clamp01(((i + 1) / nBins) ** 4 * q);
          return { lo: i, hi: i + 1, n, nPositive: Math.round(n * fractionPositive), fractionPositive };
        });
        sensitivity.push({ concept, method, seed, bins });
      });
    }
  }
  const rows: ResultRow[] = [];
  for (const concept of concepts) {
    for (const method of methods) {
      for (const metric of DETECT_METRICS) {
        const vals = perSeed.filter((v) => v.concept === concept && v.method === method).map((v) => v[metric]);
        rows.push(aggregate({ suite: 'detect', task: 'concept-detection', concept, method, metric }, vals));
      }
    }
  }
  const auroc = (m: string) => meanOf(perSeed.filter((v) => v.method === m).map((v) => v.auroc));
  const baseline = methods.filter((m) => !m.startsWith('sae') && m !== 'random').reduce((a, m) => (auroc(m) > auroc(a) ? m : a));
  const comparisons = methods
    .filter((m) => m !== baseline)
    .map((method) => {
      const diff = auroc(method) - auroc(baseline);
      return { method, baseline, metric: 'auroc' as const, concept: null, diff, ci_low: diff - 0.03, ci_high: diff + 0.03, p: rng.next(), n_concepts: concepts.length, n_seeds: seeds.length, interval: 'synthetic' };
    });
  const skipped = [{ concept: 'quirk', reason: '3 positive test tokens with seed 0 (< 20)' }];
  const section: DetectSection = {
    perSeed, sensitivity, comparisons, bestBaseline: baseline, skipped,
    overConcepts: [], controlSpread: [],
    baselineCandidates: methods.filter((m) => !m.startsWith('sae') && m !== 'random').map((method) => ({ method, val_auroc: auroc(method), test_auroc: auroc(method) })),
    splits: seeds.map((seed) => ({ seed, train: [0, 1], val: [4], test: [2, 3] })),
    notes: ['skipped quirk: 3 positive test tokens with seed 0 (< 20)'],
  };
  return { rows, section };
}

function synthSteer(rng: Mulberry32, z: Size, seeds: number[]): { rows: ResultRow[]; section: SteerSection } {
  const targets = ['tone:happy', 'tone:sad', 'topic:garden'].slice(0, z.targets);
  const methods = STEER_METHODS.slice(0, z.steerMethods);
  const strengths = [0.1, 0.2, 0.4, 0.8].slice(0, z.strengths);
  // Method k breaks at strength 0.2 * 4^k (the later ones never within the grid): a grid per method, as steer.ts grows it.
  const breakAt = (k: number) => 0.2 * 4 ** k;
  const point = (target: string, method: string, strength: number, split: 'val' | 'test', seed: number, k: number, draw?: number): SteerPoint => {
    const success = clamp01(0.1 + 0.3 * strength + 0.1 * rng.next());
    const valid = UNSWEPT.has(method) ? 0.9 : strength >= breakAt(k) ? 0.1 * rng.next() : clamp01(0.9 - 0.05 * rng.next());
    return {
      target, method, strength, split, seed, ...(draw === undefined ? {} : { draw }), success, valid, success_valid: success * valid,
      nll: 2 + 0.3 * strength, kl: UNSWEPT.has(method) ? NaN : 0.0001 * strength, samples_per_output: method === 'rejection' ? 4 : 1, n_outputs: 48, n_prompts: 24,
    };
  };
  const points: SteerPoint[] = [];
  const chosen: SteerSection['chosen'] = [];
  const grid: SteerSection['grid'] = [];
  for (const target of targets) {
    methods.forEach((method, k) => {
      if (UNSWEPT.has(method)) {
        for (const seed of seeds) for (const split of ['val', 'test'] as const) points.push(point(target, method, 0, split, seed, k));
        return;
      }
      const g = strengths.filter((st) => st <= breakAt(k));
      const collapse = g.includes(breakAt(k)) ? breakAt(k) : null;
      grid.push({ target, method, strengths: g, collapse, valid_at_collapse: collapse === null ? null : 0.05, reached_cap: collapse === null, floor: 0.2 });
      const vals: SteerPoint[] = [];
      for (const seed of seeds) {
        for (const draw of method === 'random' ? [0, 1] : [undefined]) {
          const val = g.map((st) => point(target, method, st, 'val', seed, k, draw));
          vals.push(...val);
          points.push(...val, ...g.map((st) => point(target, method, st, 'test', seed, k, draw)));
        }
      }
      const pooled = g.map((st) => vals.filter((p) => p.strength === st).reduce((a, p) => a + p.success_valid, 0));
      const pick = pooled.indexOf(Math.max(...pooled));
      chosen.push({ target, method, strength: g[pick], val_success_valid: pooled[pick] / seeds.length, n_val_outputs: 96, n_val_prompts: 16, agreement: rng.next() });
    });
  }
  const rows: ResultRow[] = [];
  const metrics = ['success', 'valid', 'success_valid', 'nll', 'kl', 'strength', 'samples_per_output'] as const;
  for (const target of targets) {
    for (const method of methods) {
      const test = points.filter((p) => {
        if (p.split !== 'test' || p.target !== target || p.method !== method) return false;
        const c = chosen.find((x) => x.target === target && x.method === method);
        return !c || c.strength === p.strength;
      });
      for (const metric of metrics) {
        if (metric === 'kl' && UNSWEPT.has(method)) continue;
        const r = aggregate({ suite: 'steer', task: 'steering', concept: target, method, metric }, test.map((p) => p[metric]));
        r.interval = metric === 'kl' ? 'cluster bootstrap over neutral documents' : 'cluster bootstrap over test prompts within seeds';
        if (method === 'random') r.draws = { n: test.length, sd: 0.05, min: r.ci_low, max: r.ci_high, over: 'directions' };
        rows.push(r);
      }
    }
  }
  const comparisons = targets.flatMap((target) =>
    methods.filter((m) => m !== 'prompt').map((method) => ({ target, method, baseline: 'prompt', baseline_rule: 'best by validation success_valid', metric: 'success_valid', diff: 0.1, ci_low: 0.02, ci_high: 0.2, p: 0.0004, n_units: 72, interval: 'paired cluster bootstrap' })),
  );
  const baselines = targets.flatMap((target) => ['prompt', 'diffmean'].map((method) => ({ target, method, val_success_valid: rng.next() })));
  const examples = targets.flatMap((target) =>
    methods.map((method, k) => ({
      target, method, strength: 0.2, prompt: `Tell a story about "${target}"`,
      output: k === 0 ? `the cat said ${XSS} and a & b` : `the cat was happy's <eos>`, success: k % 2 === 0, valid: true, ...(k === 1 ? { at_collapse: true } : {}),
    })),
  );
  const section: SteerSection = {
    targets, methods, strengths: strengths.slice(0, 3), grid, settings: { collapse_floor: 0.2, max_strength: 0.8, val_prompts: 16, val_samples: 2, test_prompts: 24, test_samples: 2 },
    prompt_split: targets.map((target) => ({ target, seed: 0, val: ['a', 'b'], test: ['c', 'd'] })), points, chosen, baselines, comparisons, examples, notes: ['strengths are multiples of the mean norm (<1 is weak)'],
  };
  return { rows, section };
}

function synth(seed: number, z: Size): BenchResults {
  const rng = new Mulberry32(seed);
  const seeds = Array.from({ length: z.seeds }, (_, i) => i);
  const d = z.detect ? synthDetect(rng, z, seeds) : undefined;
  const s = z.steer ? synthSteer(rng, z, seeds) : undefined;
  return {
    version: RESULTS_VERSION,
    suites: [...(d ? ['detect' as const] : []), ...(s ? ['steer' as const] : [])],
    quick: false,
    rows: [...(d?.rows ?? []), ...(s?.rows ?? [])],
    detect: d?.section,
    steer: s?.section,
    provenance: {
      probity_version: '0.1.0',
      code_version: 'abc1234-dirty',
      command: 'probity bench --out runs/b1 --note "a<b & c"',
      started: '2025-01-01T00:00:00Z',
      finished: '2025-01-01T00:10:00Z',
      wall_s: 600,
      machine: { cpus: 2, cpu: 'Test CPU @ 2GHz', node: 'v20.0.0', platform: 'linux' },
      model: { source: 'models/organism', sha256: 'f'.repeat(64), arch: 'llama', params: 1234567 },
      saes: [
        { source: 'models/organism/saes/topk', sha256: 'e'.repeat(64), hook: 'blocks.2.hook_resid_post', arch: 'topk', d_sae: 3072, seed: 1, used_with_seeds: [seeds[0]] },
        { source: 'models/organism/saes/topk-seed2', sha256: 'd'.repeat(64), hook: 'blocks.2.hook_resid_post', arch: 'topk', d_sae: 3072, seed: null, used_with_seeds: seeds.slice(1) },
      ],
      hook: 'blocks.2.hook_resid_post',
      seeds,
      docs_seed: 0,
      config: { trainDocs: 300, testDocs: 200, label: '<config>' },
    },
    notes: ['a run-level note with <angle brackets> & ampersands'],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML helpers (regexes are enough for HTML we generate ourselves)

function section(html: string, id: string): string {
  const m = html.match(new RegExp(`<section id="${id}">[\\s\\S]*?</section>`));
  assert.ok(m, `section ${id} present`);
  return m[0];
}

/** Rows of the table with this id, each a list of cell texts with tags removed. */
function tableCells(html: string, id: string): string[][] {
  const m = html.match(new RegExp(`<table id="${id}"[\\s\\S]*?</table>`));
  assert.ok(m, `table ${id} present`);
  return [...m[0].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) => [...tr[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => c[1].replace(/<[^>]*>/g, '')));
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

// ---------------------------------------------------------------------------------------------------------------

const small = synth(1, SMALL);
const smallHtml = renderBenchReport(small);

test('the report is one standalone HTML document with a chart in each chart section', async () => {
  const html = await smallHtml;
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.equal(count(section(html, 'detect'), '<svg'), 1); // per-concept AUROC
  const steer = section(html, 'steer');
  assert.equal(count(steer, '<svg'), SMALL.targets); // one curve chart per target
  // Every method reaches the chart legend (the swept ones as curves, the others as single marks).
  for (const m of STEER_METHODS.slice(0, SMALL.steerMethods)) assert.ok(steer.includes(`>${m}</text>`), m);
});

test('the report references nothing outside itself', async () => {
  const html = await smallHtml;
  const noNs = html.replace(/ xmlns(:xlink)?="http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)"/g, '');
  assert.doesNotMatch(noNs, /https?:\/\//);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link|<iframe|<img|<object|@import/i);
  for (const m of html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]*)/gi)) assert.ok(m[1].startsWith('#'), `external reference ${m[0]}`);
  for (const m of html.matchAll(/url\(\s*["']?([^)"']*)/gi)) assert.ok(m[1].startsWith('#'), `external url() ${m[0]}`);
});

test('every concept, target and method reaches its table', async () => {
  const html = await smallHtml;
  const auroc = tableCells(html, 'detect-auroc');
  const concepts = [...new Set(small.rows.filter((r) => r.suite === 'detect').map((r) => r.concept))];
  const methods = [...new Set(small.rows.filter((r) => r.suite === 'detect').map((r) => r.method))];
  assert.deepEqual(auroc[0].slice(1), methods);
  assert.deepEqual(auroc.slice(1, 1 + concepts.length).map((r) => r[0]), concepts);
  const steer = tableCells(html, 'steer-test');
  const s = small.steer!;
  assert.deepEqual(steer.slice(1).map((r) => r[1]), s.targets.flatMap(() => s.methods));
  for (const t of s.targets) assert.ok(steer.some((r) => r[0] === t), t);
  assert.ok(!steer[0].includes('strength'), 'the mean chosen strength is not a metric column (the collapse table shows every choice)');
  assert.equal(steer[0][2], 'success_valid', 'success_valid first');
  const kl = steer[0].indexOf('kl');
  assert.equal(steer.find((r) => r[1] === 'prompt')![kl], '–', 'prompting adds no vector: no kl');
  assert.ok(html.includes('quirk') && html.includes('3 positive test tokens with seed 0 (&lt; 20)'), 'skipped concept and reason');
});

test('the AUROC table shows the rows: mean [ci_low, ci_high] to three decimals', async () => {
  const html = await smallHtml;
  const cells = tableCells(html, 'detect-auroc');
  const methods = cells[0].slice(1);
  let checked = 0;
  for (const row of cells.slice(1)) {
    const concept = row[0];
    if (concept === 'mean over concepts') continue;
    methods.forEach((method, i) => {
      const m = row[i + 1].match(/^(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]$/);
      assert.ok(m, `cell ${row[i + 1]}`);
      const r = small.rows.find((x) => x.suite === 'detect' && x.metric === 'auroc' && x.concept === concept && x.method === method)!;
      assert.deepEqual(m.slice(1).map(Number), [r.mean, r.ci_low, r.ci_high].map((v) => Number(v.toFixed(3))), `${concept} / ${method}`);
      checked++;
    });
  }
  assert.equal(checked, SMALL.concepts * SMALL.methods);
});

test('the summary names the methods the data says are best', async () => {
  const html = await smallHtml;
  const detectRows = small.rows.filter((r) => r.suite === 'detect' && r.metric === 'auroc');
  const methods = [...new Set(detectRows.map((r) => r.method))];
  // The synthetic rows hold every concept in every seed, so the mean of the row means is the mean over concepts.
  const byAuroc = methods.map((m) => ({ m, v: meanOf(detectRows.filter((r) => r.method === m).map((r) => r.mean)) })).sort((a, b) => b.v - a.v);
  assert.match(html, new RegExp(`<b>${byAuroc[0].m}</b> has the best token AUROC averaged over concepts, ${byAuroc[0].v.toFixed(3)} `));
  const sv = small.rows.filter((r) => r.suite === 'steer' && r.metric === 'success_valid');
  const bySv = small.steer!.methods.map((m) => ({ m, v: meanOf(sv.filter((r) => r.method === m).map((r) => r.mean)) })).sort((a, b) => b.v - a.v);
  assert.match(html, new RegExp(`<b>${bySv[0].m}</b> has the best test success_valid`));
});

test('results text is escaped: model outputs, prompts, command, notes', async () => {
  const html = await smallHtml;
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!html.includes(XSS));
  assert.ok(html.includes('a &amp; b'));
  assert.ok(html.includes('happy&#39;s &lt;eos&gt;'));
  assert.ok(html.includes('Tell a story about &quot;tone:happy&quot;'));
  assert.ok(html.includes('--note &quot;a&lt;b &amp; c&quot;'));
  assert.ok(html.includes('&lt;angle brackets&gt; &amp; ampersands'));
  assert.ok(html.includes('&lt;config&gt;'));
});

test('NaN and missing values print as a dash, in memory and after a JSON round trip (NaN becomes null)', async () => {
  const r = synth(2, SMALL);
  const auroc = r.rows.find((x) => x.suite === 'detect' && x.metric === 'auroc')!;
  auroc.ci_low = NaN;
  r.rows.find((x) => x.suite === 'detect' && x.metric === 'auroc_seq')!.mean = NaN;
  r.rows.find((x) => x.suite === 'steer' && x.metric === 'nll')!.mean = NaN;
  r.detect!.comparisons[0].p = NaN;
  r.detect!.perSeed[0].auroc = NaN;
  r.steer!.points[0].nll = NaN;
  r.steer!.comparisons[0].diff = NaN;
  r.detect!.sensitivity[0].bins[0].fractionPositive = NaN;
  r.provenance.wall_s = NaN;
  for (const input of [r, JSON.parse(JSON.stringify(r)) as BenchResults]) {
    const html = await renderBenchReport(input);
    assert.doesNotMatch(html, /NaN|undefined|>null</);
    const row = tableCells(html, 'detect-auroc').find((c) => c[0] === auroc.concept)!;
    assert.ok(row.includes(`${auroc.mean.toFixed(3)} [–, ${auroc.ci_high.toFixed(3)}]`), row.join(' | '));
  }
});

test('a detection-only and a steering-only run both render', async () => {
  const d = await renderBenchReport(synth(3, { ...SMALL, steer: false }));
  assert.ok(d.includes('<section id="detect">') && !d.includes('<section id="steer">'));
  assert.match(d, /has the best token AUROC/);
  const s = await renderBenchReport(synth(3, { ...SMALL, detect: false }));
  assert.ok(s.includes('<section id="steer">') && !s.includes('<section id="detect">'));
  assert.match(s, /has the best test success_valid/);
});

test('sensitivity bars: one bar per bin, the most bins of any seed, averaged by index', async () => {
  const html = await smallHtml;
  const d = small.detect!;
  const keys = [...new Set(d.sensitivity.map((t) => `${t.concept}|${t.method}`))];
  const expected = keys.reduce((a, k) => a + Math.max(...d.sensitivity.filter((t) => `${t.concept}|${t.method}` === k).map((t) => t.bins.length)), 0);
  assert.equal(count(section(html, 'detect'), 'class="bin"'), expected);
  assert.ok(html.includes('(differs by seed)')); // the SAE methods' tied bins
});

test('a realistic size (15 concepts x 8 methods x 3 seeds, 3 targets x 10 methods x 4 strengths) renders', async (t) => {
  const r = synth(4, REALISTIC);
  const t0 = performance.now();
  const html = await renderBenchReport(r);
  const ms = performance.now() - t0;
  t.diagnostic(`render ${ms.toFixed(0)} ms, ${(html.length / 1024).toFixed(0)} KiB, ${count(html, '<svg')} SVGs`);
  assert.equal(count(html, '<svg'), 1 + REALISTIC.targets);
  assert.equal(tableCells(html, 'detect-auroc').length, 1 + REALISTIC.concepts + 1);
  assert.equal(tableCells(html, 'steer-test').length, 1 + REALISTIC.targets * REALISTIC.steerMethods);
});

// ---------------------------------------------------------------------------------------------------------------
// Steering: the curves are the primary result

test('steering: the curve table holds the test means over seeds (and draws) at every strength of each grid', async () => {
  const html = await smallHtml;
  const s = small.steer!;
  for (const t of s.targets) {
    const cells = tableCells(html, `steer-curve-${t}`);
    let method = '';
    let checked = 0;
    for (const row of cells.slice(1)) {
      if (row[0]) method = row[0];
      if (row[1] === '–') continue;
      const st = Number(row[1]);
      const test = s.points.filter((p) => p.target === t && p.method === method && p.split === 'test' && Number(p.strength.toPrecision(3)) === st);
      const val = s.points.filter((p) => p.target === t && p.method === method && p.split === 'val' && Number(p.strength.toPrecision(3)) === st);
      assert.ok(test.length === SMALL.seeds * (method === 'random' ? 2 : 1), `${t} ${method} ${st}: ${test.length} test points`);
      assert.equal(row[7], meanOf(test.map((p) => p.success_valid)).toFixed(3), `${t} ${method} ${st} test success_valid`);
      assert.equal(row[4], meanOf(val.map((p) => p.success_valid)).toFixed(3), `${t} ${method} ${st} val success_valid`);
      checked++;
    }
    assert.equal(checked, s.grid.filter((g) => g.target === t).reduce((a, g) => a + g.strengths.length, 0), `${t}: one line per grid strength`);
  }
});

test('steering: the collapse table shows each grid, its collapse point and every choice', async () => {
  const html = await smallHtml;
  const s = small.steer!;
  const cells = tableCells(html, 'steer-collapse').slice(1);
  assert.equal(cells.length, s.grid.length);
  s.grid.forEach((g, i) => {
    const row = cells[i];
    assert.equal(row[1], g.method);
    assert.equal(row[2], g.strengths.map((x) => String(Number(x.toPrecision(3)))).join(', '));
    assert.equal(row[3], g.collapse === null ? `none up to ${g.strengths.at(-1)} (cap)` : String(g.collapse));
    const c = s.chosen.find((x) => x.target === g.target && x.method === g.method)!;
    assert.equal(row[5], String(c.strength), `${g.target} ${g.method}`);
    assert.equal(row[8], c.agreement.toFixed(3));
  });
  assert.ok(cells.some((r) => r[3].startsWith('none up to')) && cells.some((r) => /^\d/.test(r[3])), 'both collapsed and not-collapsed grids are exercised');
});

test('steering: rows show their interval labels and the random control its spread over directions', async () => {
  const html = await smallHtml;
  const steer = section(html, 'steer');
  assert.ok(steer.includes('cluster bootstrap over test prompts within seeds') && steer.includes('cluster bootstrap over neutral documents'));
  const cells = tableCells(html, 'steer-test');
  const random = cells.find((r) => r[1] === 'random')!;
  const row = small.rows.find((r) => r.suite === 'steer' && r.method === 'random' && r.metric === 'success_valid')!;
  assert.equal(random[2], `${row.mean.toFixed(3)} [${row.ci_low.toFixed(3)}, ${row.ci_high.toFixed(3)}]`);
  assert.match(random.at(-1)!, /^0\.050 \(/);
  assert.equal(cells.find((r) => r[1] === 'diffmean')!.at(-1), '', 'no spread for a method fitted once');
  assert.ok(steer.includes('(collapse)'), 'an example at the collapse point is labelled');
});
