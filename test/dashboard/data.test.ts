// `probity sae dashboard-data` as a user runs it (child processes, the shipped organism and SAE, 12k tokens): a run
// killed in each phase resumes and ends with files identical to an uninterrupted run's; what the files say is
// recomputed here independently (the model and SAE on a context's own document, the logit effect and the decoder
// cosines in float64), and the documents are the SAE's held-out evaluation stream.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDocument } from '../../src/organism/corpus.js';
import { loadModel } from '../../src/models/load.js';
import { loadSaeLens } from '../../src/dictionaries/saelens.js';
import type { DashboardIndex, DashboardManifest, LatentDetail } from '../../src/dashboard/data/format.js';

const BIN = path.resolve('bin/probity.js');
const SAE = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post');
const ARGS = ['sae', 'dashboard-data', '--sae', SAE, '--tokens', '12000'];
const ENV = { ...process.env, PROBITY_SPIN: '0' };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-dash-data-'));
const ref = path.join(tmp, 'ref');

function run(out: string) {
  return spawnSync(process.execPath, [BIN, ...ARGS, '--out', out], { encoding: 'utf8', timeout: 120_000, env: ENV });
}

/** Start a run and SIGKILL it as soon as `file` (relative to out) exists; resolves once it has died. */
function killWhen(out: string, file: string): Promise<{ killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...ARGS, '--out', out], { env: ENV, stdio: 'ignore' });
    let killed = false;
    const poll = setInterval(() => {
      if (!killed && fs.existsSync(path.join(out, file))) {
        killed = child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', () => {
      clearInterval(poll);
      resolve({ killed });
    });
    child.on('error', reject);
  });
}

const groups = (dir: string) => fs.readdirSync(path.join(dir, 'latents')).filter((f) => f.endsWith('.json')).sort();
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

before(() => {
  const r = run(ref);
  assert.equal(r.status, 0, r.stderr);
});

test('a run killed in phase 1 and again in phase 2 resumes to the same files as an uninterrupted run', async () => {
  const out = path.join(tmp, 'killed');
  const k1 = await killWhen(out, 'acts/chunk-00001.bin');
  assert.ok(k1.killed, 'the first run was killed');
  assert.ok(!fs.existsSync(path.join(out, 'latents')), 'killed in phase 1 (no latent group written yet)');
  const chunksAtKill = fs.readdirSync(path.join(out, 'acts')).filter((f) => f.endsWith('.bin')).length;
  const k2 = await killWhen(out, 'latents/group-00002.json');
  assert.ok(k2.killed, 'the second run was killed');
  assert.ok(!fs.existsSync(path.join(out, 'index.json')), 'killed in phase 2 (no index yet)');
  const man = readJson<DashboardManifest>(path.join(out, 'manifest.json'));
  assert.ok(man.phase1.finished && man.phase1.chunks > chunksAtKill, `phase 1 went on from chunk ${chunksAtKill} to ${man.phase1.chunks}`);
  assert.ok(groups(out).length < 12, `phase 2 was cut after ${groups(out).length} of 12 groups`);
  const r = run(out);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(groups(out), groups(ref));
  for (const f of [...groups(ref).map((g) => `latents/${g}`), 'index.json', 'tokens.json']) {
    assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(ref, f))), `${f} equals the uninterrupted run's`);
  }
  assert.ok(!fs.existsSync(path.join(out, 'acts')), 'phase-1 chunks are removed once complete');
  assert.equal(fs.readFileSync(path.join(out, '.gitignore'), 'utf8').trim().split('\n').pop(), '*', 'the folder ignores itself');
});

test('a folder made with other settings is refused, naming what differs', () => {
  const r = spawnSync(process.execPath, [BIN, ...ARGS, '--out', ref, '--seed', '2'], { encoding: 'utf8', timeout: 60_000, env: ENV });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /different settings; delete the folder or choose another --out/);
});

test('the documents are the SAE\'s held-out stream, and the contexts are what the model and SAE give on them', async () => {
  const man = readJson<DashboardManifest>(path.join(ref, 'manifest.json'));
  assert.deepEqual([man.source.kind, (man.source as { seed: number }).seed], ['organism-docs', 7920]);
  const sae = loadSaeLens(SAE);
  assert.equal((sae.cfg.metadata as { seed: number }).seed, 1, 'the SAE trained on documents seed 1');
  const ix = readJson<DashboardIndex>(path.join(ref, 'index.json'));
  assert.ok(ix.tokens >= 12000 && ix.dSae === 3072);
  const model = await loadModel('organism');
  const detail = (i: number) => readJson<{ latents: LatentDetail[] }>(path.join(ref, `latents/group-${String(Math.floor(i / 256)).padStart(5, '0')}.json`)).latents[i % 256];
  const densest = [...ix.density.keys()].sort((a, b) => ix.density[b] - ix.density[a]).slice(0, 3);
  for (const i of densest) {
    const d = detail(i);
    assert.equal(d.histogram.counts.reduce((a, b) => a + b, 0), d.active);
    assert.equal(d.histogram.zeros + d.active, ix.tokens);
    assert.equal(d.maxAct, d.top[0].acts[d.top[0].at], 'the top context holds the maximum');
    for (const c of [d.top[0], d.quantiles[d.quantiles.length - 1].contexts[0]]) {
      const doc = generateDocument(7920, c.doc);
      const ids = Array.from(doc.tokens);
      const start = ids.findIndex((_, s) => c.tokens.every((t, j) => ids[s + j] === t));
      assert.ok(start >= 1, `context found in document ${c.doc}`);
      const r = await model.runWithCache([ids], { names: [sae.cfg.hookName], logits: 'none' });
      const dense = await sae.encodeDense(r.cache[sae.cfg.hookName].data as Float32Array, ids.length);
      c.tokens.forEach((_, j) => {
        const want = dense[(start + j) * sae.dSae + i];
        assert.ok(Math.abs(c.acts[j] - want) <= 1e-3 * Math.max(1, Math.abs(want)), `latent ${i}, doc ${c.doc}, token ${start + j}: ${c.acts[j]} vs ${want}`);
        assert.equal(c.labels![j], doc.labels[start + j], 'labels are the generator\'s');
      });
    }
  }
  // Logit effect and nearest latents in float64, for one latent.
  const i = densest[0];
  const d = detail(i);
  const D = sae.dIn;
  const W = model.weights.get('embed.W_E').data;
  const g = model.weights.get('ln_final.w').data;
  const dec = sae.params.W_dec.subarray(i * D, (i + 1) * D);
  const effect = Array.from({ length: model.spec.vocab }, (_, v) => {
    let s = 0;
    for (let k = 0; k < D; k++) s += W[v * D + k] * g[k] * dec[k];
    return s;
  });
  const byEffect = [...effect.keys()].sort((a, b) => effect[b] - effect[a]);
  assert.deepEqual(d.promoted.map((p) => p.token), byEffect.slice(0, 10));
  assert.deepEqual(d.suppressed.map((p) => p.token), byEffect.slice(-10).reverse());
  d.promoted.forEach((p) => assert.ok(Math.abs(p.value - effect[p.token]) < 1e-3 * Math.abs(effect[p.token]) + 1e-4));
  const norm = (r: number) => Math.hypot(...sae.params.W_dec.subarray(r * D, (r + 1) * D));
  const cos = Array.from({ length: sae.dSae }, (_, r) => {
    if (r === i) return -Infinity;
    let s = 0;
    for (let k = 0; k < D; k++) s += sae.params.W_dec[r * D + k] * dec[k];
    return s / (norm(r) * norm(i));
  });
  const byCos = [...cos.keys()].sort((a, b) => cos[b] - cos[a]);
  assert.deepEqual(d.neighbours.map((n) => n.latent), byCos.slice(0, 8));
});
