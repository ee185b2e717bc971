// `probity bench --quick` as a user runs it (a child process on the shipped organism and its SAE): the results file
// follows the schema, values are in range, the controls behave like controls, and the report is standalone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResults, ResultRow } from '../../src/bench/results.js';

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
});

test('rows follow the schema: fields, finite values, ci_low <= mean <= ci_high, >= 3 seeds', () => {
  assert.ok(res.rows.length > 0);
  for (const r of res.rows as ResultRow[]) {
    for (const k of ['suite', 'task', 'concept', 'method', 'metric'] as const) assert.equal(typeof r[k], 'string', `${k} in ${JSON.stringify(r)}`);
    for (const k of ['mean', 'ci_low', 'ci_high', 'n_seeds'] as const) assert.ok(Number.isFinite(r[k]), `${k} in ${JSON.stringify(r)}`);
    assert.ok(r.ci_low <= r.mean + 1e-12 && r.mean <= r.ci_high + 1e-12, JSON.stringify(r));
    assert.ok(r.n_seeds >= 3, `n_seeds ${r.n_seeds}: ${JSON.stringify(r)}`);
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

test('controls behave as controls: random AUROC near chance; probe far above it; rejection spends N samples; prompting drifts nothing', () => {
  const auc = rowsOf('detect', 'auroc');
  const avg = (m: string) => {
    const xs = auc.filter((r) => r.method === m).map((r) => r.mean);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  console.log(`# mean token AUROC over concepts: random ${avg('random').toFixed(3)}, probe ${avg('probe').toFixed(3)}, sae ${avg('sae').toFixed(3)}`);
  assert.ok(avg('random') >= 0.4 && avg('random') <= 0.6, `random control mean AUROC ${avg('random')}`);
  assert.ok(avg('probe') > 0.85, `probe mean AUROC ${avg('probe')}`);
  const spo = rowsOf('steer', 'samples_per_output');
  const cfg = res.provenance.config as { rejectionN: number };
  for (const r of spo) assert.equal(r.mean, r.method === 'rejection' ? cfg.rejectionN : 1, JSON.stringify(r));
  for (const r of rowsOf('steer', 'kl')) if (['prompt', 'rejection', 'unsteered'].includes(r.method)) assert.equal(r.mean, 0);
  // Steering at any strength moves the next-token distributions on neutral text.
  for (const p of res.steer!.points) if (!['prompt', 'rejection', 'unsteered'].includes(p.method)) assert.ok(p.kl > 0, JSON.stringify(p));
});

test('strengths are chosen on validation prompts from the sweep; test rows use the chosen strength', () => {
  const s = res.steer!;
  for (const c of s.chosen) {
    assert.ok(s.strengths.includes(c.strength));
    const val = s.points.filter((p) => p.split === 'val' && p.target === c.target && p.method === c.method && p.seed === c.seed);
    assert.equal(val.length, s.strengths.length);
    const best = Math.max(...val.map((p) => p.success_valid));
    assert.equal(val.find((p) => p.strength === c.strength)!.success_valid, best);
    const testPt = s.points.find((p) => p.split === 'test' && p.target === c.target && p.method === c.method && p.seed === c.seed)!;
    assert.equal(testPt.strength, c.strength);
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
