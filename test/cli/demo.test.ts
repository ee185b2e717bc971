// The README's main command, on a small setting: it must run end to end on the shipped organism and SAE and write
// its JSON with the labeller's verdicts, the hidden-behaviour rates and the SAE-versus-baselines table (baselines at
// the SAE's L0, fitted on other documents, scored on the same positions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('probity demo runs on the shipped organism and writes demo.json', { timeout: 240_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-demo-'));
  const r = spawnSync(process.execPath, [path.resolve('bin/probity.js'), 'demo', '--samples', '1', '--tokens', '1024', '--out', out], { encoding: 'utf8', timeout: 230_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tone: (happy|sad|angry|scared|none)/);
  const j = JSON.parse(fs.readFileSync(path.join(out, 'demo.json'), 'utf8'));
  const k = Math.round(j.sae.metrics.l0);
  // The table names each codec with its L0, and says what was compared.
  assert.match(r.stdout, new RegExp(`pca_l0_${k}\\b`));
  assert.match(r.stdout, new RegExp(`kmeans\\d+_mp_l0_${k}\\b`));
  assert.match(r.stdout, /every codec scored on the same \d+ positions/);
  assert.equal(j.shown.length, 3);
  for (const k of ['trigger', 'nontrigger', 'probe']) assert.ok(j.hidden_behaviour[k] >= 0 && j.hidden_behaviour[k] <= 1, k);
  const m = j.sae.metrics;
  for (const k of ['fve', 'l0', 'ce_loss_score', 'kl_score']) assert.ok(Number.isFinite(m[k]), k);
  assert.ok(m.l0 <= 32.0001, `the shipped SAE is TopK with k = 32, got L0 ${m.l0}`);
  // Baselines at the SAE's L0 (measured L0 equal to the SAE's, rounded), fitted on other documents, same positions.
  const b = j.sae.baselines;
  assert.deepEqual(Object.keys(b).length, 4);
  assert.equal(b[`pca_l0_${k}`].l0, k);
  const km = Object.keys(b).find((n) => /_mp_l0_/.test(n))!;
  assert.equal(b[km].l0, k);
  for (const n of Object.keys(b)) {
    assert.equal(b[n].n_tokens, m.n_tokens, n);
    assert.equal(b[n].ce_clean, m.ce_clean, n);
  }
  assert.ok(j.sae.data.fit_documents.first >= j.sae.data.eval_documents.end);
  fs.rmSync(out, { recursive: true, force: true });
});
