// `probity bench --quick` as a user runs it (a child process on the shipped organism and its SAE): the results file
// follows the schema, values are in range, the controls behave like controls, and the report is standalone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResults, ResultRow } from '../../src/bench/results.js';
import { readGraphFile } from '../../src/circuits/validate-graph.js';

const BIN = path.resolve('bin/probity.js');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-bench-'));
const t0 = Date.now();
const run = spawnSync(process.execPath, [BIN, 'bench', '--quick', '--out', out], { encoding: 'utf8', timeout: 600_000 });
const wall = (Date.now() - t0) / 1000;
console.log(`# probity bench --quick: ${wall.toFixed(0)} s`);
const res = (run.status === 0 ? JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) : null) as BenchResults;

const rowsOf = (suite: string, metric?: string) => res.rows.filter((r) => r.suite === suite && (!metric || r.metric === metric));

test('probity bench --quick exits 0 and writes results.json and report.html', () => {
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  assert.ok(fs.existsSync(path.join(out, 'report.html')));
  assert.match(run.stdout, /concept detection, token AUROC/);
  assert.match(run.stdout, /steering, test prompts/);
  // Provenance names the shipped model and SAEs by name / project-relative path, never by this machine's path.
  const text = fs.readFileSync(path.join(out, 'results.json'), 'utf8');
  assert.ok(!text.includes(path.resolve('.')), 'results.json holds the project\'s absolute path');
  assert.equal(res.provenance.model.source, 'organism');
  for (const s of res.provenance.saes) assert.match(s.source, /^models\/organism\/saes\//);
});

test('with no --suite every suite runs, each with its rows, its section and its report section and its time', () => {
  assert.deepEqual(res.suites, ['detect', 'steer', 'conditional', 'spurious', 'audit', 'circuits']);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  for (const [suite, heading] of [['detect', /<h2>[^<]*[Dd]etection/], ['steer', /<h2>[^<]*[Ss]teering/], ['conditional', /<h2>Conditional/], ['spurious', /<h2>[^<]*[Ss]purious/], ['audit', /<h2>[^<]*[Aa]udit/], ['circuits', /<h2>Circuits/]] as const) {
    assert.ok(res.rows.some((r) => r.suite === suite), `${suite} rows`);
    assert.ok((res as unknown as Record<string, unknown>)[suite], `${suite} section`);
    assert.match(html, heading, `${suite} report section`);
    assert.ok(res.provenance.suite_wall_s![suite] > 0, `${suite} time`);
  }
});

test('rows follow the schema: fields, finite values, >= 3 seeds; detection rows say what their interval is over', () => {
  assert.ok(res.rows.length > 0);
  // The new suites' rows are checked by their own tests (test/bench/tasks/{conditional,spurious,audit}.test.ts).
  for (const r of (res.rows as ResultRow[]).filter((x) => x.suite === 'detect' || x.suite === 'steer')) {
    for (const k of ['suite', 'task', 'concept', 'method', 'metric'] as const) assert.equal(typeof r[k], 'string', `${k} in ${JSON.stringify(r)}`);
    for (const k of ['mean', 'ci_low', 'ci_high', 'n_seeds'] as const) assert.ok(Number.isFinite(r[k]), `${k} in ${JSON.stringify(r)}`);
    assert.ok(r.n_seeds >= 3, `n_seeds ${r.n_seeds}: ${JSON.stringify(r)}`);
    if (r.suite === 'detect') {
      const cfg = res.provenance.config as { testDocs: number };
      assert.match(r.interval ?? '', new RegExp(`cluster bootstrap over test documents \\(${cfg.testDocs} per seed`), JSON.stringify(r));
    }
    const unit = ['auroc', 'auroc_seq', 'recall_at_1fpr', 'success', 'valid', 'success_valid'].includes(r.metric);
    if (unit) assert.ok(r.ci_low >= 0 && r.ci_high <= 1, JSON.stringify(r));
    if (r.metric === 'kl' || r.metric === 'nll') assert.ok(r.ci_low >= 0, JSON.stringify(r));
  }
});

test('every method is there: SAE, probe, DiffMean, PCA, k-means, random; prompting and rejection for steering', () => {
  const det = new Set(rowsOf('detect', 'auroc').map((r) => r.method));
  for (const m of ['sae', 'sae-topk-probe', 'probe', 'diffmean', 'pca', 'kmeans', 'random']) assert.ok(det.has(m), `detection lacks ${m}`);
  const steer = new Set(rowsOf('steer').map((r) => r.method));
  for (const m of ['sae', 'probe', 'diffmean', 'pca', 'kmeans', 'random', 'prompt', 'rejection', 'unsteered']) assert.ok(steer.has(m), `steering lacks ${m}`);
  assert.ok(new Set(rowsOf('detect').map((r) => r.concept)).size >= 8, '>= 8 detection concepts');
  assert.ok(new Set(rowsOf('steer').map((r) => r.concept)).size >= 2, '>= 2 steering targets');
});

test('controls behave as controls: random AUROC near chance (its interval over draws and documents covers 0.5); probe far above it; steering moves neutral text', () => {
  const auc = rowsOf('detect', 'auroc');
  const avg = (m: string) => {
    const xs = auc.filter((r) => r.method === m).map((r) => r.mean);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  console.log(`# mean token AUROC over concepts: random ${avg('random').toFixed(3)}, probe ${avg('probe').toFixed(3)}, sae ${avg('sae').toFixed(3)}`);
  assert.ok(avg('random') >= 0.4 && avg('random') <= 0.6, `random control mean AUROC ${avg('random')}`);
  assert.ok(avg('probe') > 0.85, `probe mean AUROC ${avg('probe')}`);
  // A label-free direction has expected AUROC exactly 0.5 (r and -r are equally likely); its interval over concepts
  // redraws the random fits along with the test documents, so it should cover 0.5 (a 95% claim); the probe's is far
  // above it.
  const over = (m: string) => res.detect!.overConcepts.find((x) => x.method === m && x.metric === 'auroc')!;
  assert.ok(over('random').ci_low < 0.5 && 0.5 < over('random').ci_high, JSON.stringify(over('random')));
  assert.ok(over('probe').ci_low > 0.8, JSON.stringify(over('probe')));
  const spread = res.detect!.controlSpread.filter((x) => x.method === 'random' && x.metric === 'auroc');
  assert.ok(spread.length >= 8 && spread.every((x) => x.draws === 8 && x.sd > 0), 'eight random directions per concept, and they differ');
  // Steering at any strength moves the next-token distributions on neutral text (the vector reached the model).
  for (const p of res.steer!.points) if (!['prompt', 'rejection', 'unsteered'].includes(p.method)) assert.ok(p.kl > 0, JSON.stringify(p));
});

test('detection: means come from the per-seed values, choices from validation, and the 1% threshold roughly holds on test', () => {
  const d = res.detect!;
  // Row mean = mean over seeds of the per-seed values (of the mean over draws for the random control).
  for (const r of rowsOf('detect')) {
    const bySeed = new Map<number, number[]>();
    for (const v of d.perSeed) if (v.concept === r.concept && v.method === r.method) bySeed.set(v.seed, [...(bySeed.get(v.seed) ?? []), (v as unknown as Record<string, number>)[r.metric]]);
    const seedMeans = [...bySeed.values()].map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length).filter(Number.isFinite);
    const want = seedMeans.reduce((a, b) => a + b, 0) / seedMeans.length;
    assert.ok(Math.abs(r.mean - want) < 1e-9, `${JSON.stringify(r)} vs ${want}`);
  }
  // The best baseline is the non-SAE, non-control method with the highest mean VALIDATION token AUROC.
  const val = (m: string) => {
    const xs = d.perSeed.filter((v) => v.method === m).map((v) => v.val_auroc);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const candidates = ['diffmean', 'probe', 'pca', 'kmeans'];
  assert.equal(d.bestBaseline, candidates.reduce((a, m) => (val(m) > val(a) ? m : a)));
  assert.ok(d.comparisons.every((c) => c.baseline === d.bestBaseline));
  // Thresholds set for 1% FPR on validation negatives: on test the probe's FPR stays near 1% on average.
  const fpr = rowsOf('detect', 'fpr_at_1fpr_threshold').filter((r) => r.method === 'probe').map((r) => r.mean);
  const meanFpr = fpr.reduce((a, b) => a + b, 0) / fpr.length;
  assert.ok(meanFpr > 0.001 && meanFpr < 0.05, `probe test FPR at the validation threshold ${meanFpr}`);
  const cfg = res.provenance.config as { trainDocs: number; valDocs: number; testDocs: number };
  for (const sp of d.splits) assert.deepEqual([sp.train.length, sp.val.length, sp.test.length], [cfg.trainDocs, cfg.valDocs, cfg.testDocs]);
});

test('strengths are chosen on validation prompts from the grid of each method; the whole grid is also run on test prompts', () => {
  const s = res.steer!;
  assert.ok(s.chosen.some((c) => c.method.endsWith('@gen')), 'a method steered only at generating positions');
  for (const c of s.chosen) {
    const grid = s.grid.find((g) => g.target === c.target && g.method === c.method)!.strengths;
    assert.ok(grid.includes(c.strength));
    for (const split of ['val', 'test'] as const) {
      const pts = s.points.filter((p) => p.split === split && p.target === c.target && p.method === c.method);
      for (const seed of new Set(pts.map((p) => `${p.seed}/${p.draw}`))) {
        assert.deepEqual(pts.filter((p) => `${p.seed}/${p.draw}` === seed).map((p) => p.strength).sort((a, b) => a - b), grid, `${split} points on the grid (${seed})`);
      }
      if (split === 'val') {
        // Pooled over seeds and draws, recomputed from the points.
        const pooled = grid.map((st) => {
          const at = pts.filter((p) => p.strength === st);
          return at.reduce((a, p) => a + p.success_valid * p.n_outputs, 0) / at.reduce((a, p) => a + p.n_outputs, 0);
        });
        assert.equal(c.strength, grid[pooled.indexOf(Math.max(...pooled))]);
      }
    }
  }
});

test('provenance names the model and SAE by hash, the seeds, the code version and the command', () => {
  const p = res.provenance;
  assert.match(p.model.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(p.saes.length, 3, 'one shipped SAE per seed');
  for (const s of p.saes) assert.match(s.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(p.saes.map((s) => s.seed), [1, 2, 3], 'SAE training seeds');
  assert.deepEqual(p.saes.map((s) => s.used_with_seeds), [[1], [2], [3]]);
  assert.deepEqual(p.seeds, [1, 2, 3]);
  assert.match(p.command, /^probity bench --quick/);
  assert.ok(p.wall_s > 0 && p.wall_s < 600);
  assert.ok(res.quick);
});

test('a model that ships no SAE gets one trained during the run, saved beside the results and named in the provenance', () => {
  const model = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-nosae-'));
  for (const f of fs.readdirSync('models/organism')) {
    if (fs.statSync(path.join('models/organism', f)).isFile()) fs.copyFileSync(path.join('models/organism', f), path.join(model, f));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-bench-sae-'));
  const r = spawnSync(process.execPath, [BIN, 'bench', '--quick', '--suite', 'detect', '--seeds', '1', '--concepts', 'code:regex,entity:animal', '--model', model, '--sae-tokens', '16384', '--out', dir], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stdout, /no SAE ships with .*training a TopK SAE/);
  assert.ok(fs.existsSync(path.join(dir, 'sae', 'cfg.json')) && fs.existsSync(path.join(dir, 'sae', 'sae_weights.safetensors')));
  const res = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as BenchResults;
  assert.equal(res.provenance.saes[0]?.source, path.resolve(dir, 'sae'));
  assert.match(res.provenance.saes[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.ok(res.rows.some((x) => x.method === 'sae' && x.metric === 'auroc'));
});

test('bad arguments fail with a message naming the flag and the value', () => {
  const a = spawnSync(process.execPath, [BIN, 'bench', '--suite', 'detect,steerr', '--out', out], { encoding: 'utf8' });
  assert.notEqual(a.status, 0);
  assert.match(a.stderr, /steerr/);
  const b = spawnSync(process.execPath, [BIN, 'bench', '--targets', 'tone:bored', '--suite', 'steer', '--out', out], { encoding: 'utf8' });
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /tone:bored/);
  const c = spawnSync(process.execPath, [BIN, 'bench', '--strengths', '0.5,-1', '--out', out], { encoding: 'utf8' });
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /--strengths.*-1/);
});

test('circuits: example graphs are written and validate, scores and shares are in [0, 1], dependency positions are prompt positions', () => {
  const c = res.circuits!;
  assert.ok(c.prompts.length >= 1);
  for (const e of c.examples) {
    const g = readGraphFile(path.join(out, 'graphs', `${e.graph.metadata.slug}.json`));
    assert.equal(g.metadata.prompt, e.graph.metadata.prompt);
  }
  for (const p of c.prompts) {
    for (const i of p.dependency_positions) assert.ok(Number.isInteger(i) && i >= 0 && i < p.n_tokens, `${p.id}: position ${i}`);
    for (const v of [p.scores.replacement_score, p.scores.completeness_score, p.scores.error_influence_share, p.dependency_share, p.dependency_share_even]) assert.ok(v >= 0 && v <= 1, `${p.id}: ${v}`);
    assert.equal(p.check.features.length, Math.min(c.config.checkTopK, p.check.features.length));
  }
  for (const r of rowsOf('circuits')) {
    if (!Number.isFinite(r.mean)) continue;
    // Percentile intervals need not contain the estimate (never clamped); they are ordered.
    assert.ok(!(r.ci_low > r.ci_high), `${r.concept} ${r.method} ${r.metric}: [${r.ci_low}, ${r.ci_high}]`);
    if (r.metric !== 'intervention_pearson_diff') assert.ok(r.mean >= -1 && r.mean <= 1, `${r.method} ${r.metric} ${r.mean}`);
  }
  assert.equal(res.provenance.transcoders?.length, 4);
  for (const t of res.provenance.transcoders ?? []) assert.match(t.source, /^models\/organism\/transcoders\/blocks\.\d$/);
});
