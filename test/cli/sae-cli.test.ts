// `probity sae eval` and `probity sae frontier` as a user runs them (child processes, the shipped organism and SAE,
// tiny token counts). What they must show: baselines fitted on documents disjoint from the eval ones (the split is
// recomputed here from the organism's document stream), every codec on the same positions with one clean CE,
// k-means at the SAE's L0 (measured), no absolute paths in what is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { documents } from '../../src/organism/corpus.js';
import { loadSaeLens, saveSaeLens } from '../../src/dictionaries/saelens.js';

const BIN = path.resolve('bin/probity.js');
const SAE = path.resolve('models/organism/saes/topk-k32-blocks.2.hook_resid_post');
const BOS = 1;

function probity(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 280_000 });
}

/** Independent of eval.ts: windows of 128 tokens, each from a fresh document, until `tokens` positions (not 0, not <bos>). */
function expectedSplit(seed: number, tokens: number, fitTokens: number) {
  const it = documents(seed)[Symbol.iterator]();
  let doc = 0;
  const take = (want: number) => {
    const first = doc;
    let got = 0;
    while (got < want) {
      const w: number[] = [];
      while (w.length < 128) {
        w.push(...it.next().value!.tokens);
        doc++;
      }
      got += w.slice(0, 128).filter((t, i) => i > 0 && t !== BOS).length;
    }
    return { first, end: doc, got };
  };
  return { ev: take(tokens), fit: take(fitTokens) };
}

function noAbsolutePaths(v: unknown, where = '$'): void {
  if (typeof v === 'string') assert.ok(!path.isAbsolute(v) && !v.includes(os.homedir() + '/') && !v.includes('/work/'), `${where} holds a machine path: ${v}`);
  else if (Array.isArray(v)) v.forEach((x, i) => noAbsolutePaths(x, `${where}[${i}]`));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'command') noAbsolutePaths(x, `${where}.${k}`);
}

test('probity sae eval: baselines fitted on documents disjoint from the eval ones, same positions for every codec, k-means at the SAE L0', { timeout: 300_000 }, () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'probity-sae-eval-')), 'm.json');
  const r = probity('sae', 'eval', SAE, '--tokens', '700', '--fit-tokens', '900', '--kmeans-clusters', '48', '--seed', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  // The split, recomputed from the document stream the CLI reads (seed 1 + 7919).
  const { ev, fit } = expectedSplit(1 + 7919, 700, 900);
  assert.deepEqual(j.data.eval_documents.source, { kind: 'organism-docs', seed: 7920 });
  assert.deepEqual(j.data.fit_documents.source, j.data.eval_documents.source);
  assert.deepEqual([j.data.eval_documents.first, j.data.eval_documents.end], [ev.first, ev.end]);
  assert.deepEqual([j.data.fit_documents.first, j.data.fit_documents.end], [fit.first, fit.end]);
  assert.ok(j.data.fit_documents.first >= j.data.eval_documents.end, 'fit documents must follow the eval documents');
  assert.equal(j.metrics.n_tokens, ev.got);
  assert.equal(j.data.baselines.fit_tokens, fit.got);
  // Same positions and one clean CE for every codec.
  const names = Object.keys(j.baselines);
  assert.deepEqual(names.sort(), ['kmeans48_l0_1', 'kmeans48_mp_l0_32', 'pca_l0_32', 'random3072_l0_32']);
  for (const n of names) {
    assert.equal(j.baselines[n].n_tokens, j.metrics.n_tokens, n);
    assert.equal(j.baselines[n].n_scored, j.metrics.n_scored, n);
    assert.equal(j.baselines[n].ce_clean, j.metrics.ce_clean, n);
    assert.ok(Number.isFinite(j.paired[n].ce_loss_score.estimate), n);
  }
  // k-means by matching pursuit at the SAE's measured L0 (32 for this TopK k = 32 SAE), not 1.
  assert.equal(j.data.baselines.l0_from_sae_on_fit_windows, Math.round(j.metrics.l0));
  assert.equal(j.baselines.kmeans48_mp_l0_32.l0, Math.round(j.metrics.l0));
  assert.equal(j.baselines.kmeans48_l0_1.l0, 1);
  noAbsolutePaths(j);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});

test('probity sae frontier: rows for every SAE and the baselines at each L0 (measured L0 = requested), json + svg + summary, no absolute paths', { timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-frontier-'));
  // A second operating point: the shipped SAE's weights with TopK k = 8.
  const k8 = path.join(dir, 'k8');
  const base = loadSaeLens(SAE);
  saveSaeLens(base.clone({ ...base.cfg, k: 8 }), k8);
  const out = path.join(dir, 'out');
  const r = probity('sae', 'frontier', SAE, k8, '--tokens', '500', '--fit-tokens', '700', '--kmeans-clusters', '40', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(path.join(out, 'frontier.json'), 'utf8'));
  const svg = fs.readFileSync(path.join(out, 'frontier.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /CE-loss score/);
  assert.ok(fs.readFileSync(path.join(out, 'summary.txt'), 'utf8').length > 0);
  const rows = j.rows as { codec: string; family: string; width: number; l0_requested: number; l0: number; n_tokens: number; ce_clean: number; sae?: string }[];
  const saeRows = rows.filter((x) => x.family === 'sae');
  assert.equal(saeRows.length, 2);
  assert.deepEqual(saeRows.map((x) => Math.round(x.l0)).sort((a, b) => a - b), [8, 32]);
  for (const L of [8, 32]) {
    for (const name of [`pca_l0_${L}`, `kmeans40_mp_l0_${L}`, `random3072_l0_${L}`]) {
      const row = rows.find((x) => x.codec === name);
      assert.ok(row, `missing ${name}`);
      assert.equal(row.l0_requested, L);
      if (row.family === 'random') assert.ok(row.l0 <= L && row.l0 > L / 2, `${name} l0 ${row.l0}`); // ReLU may drop a chosen atom
      else assert.equal(row.l0, L, name);
    }
  }
  for (const x of rows) {
    assert.equal(x.n_tokens, rows[0].n_tokens, x.codec);
    assert.equal(x.ce_clean, rows[0].ce_clean, x.codec);
  }
  assert.equal(j.comparisons.length, 6);
  assert.ok(j.summary.some((l: string) => /SAE (better|worse) at \d+/.test(l)));
  assert.equal(j.provenance.model, 'organism');
  assert.equal(j.provenance.saes.length, 2);
  assert.match(j.provenance.saes[0].weights_sha256, /^[0-9a-f]{64}$/);
  assert.equal(j.provenance.saes[0].path, 'models/organism/saes/topk-k32-blocks.2.hook_resid_post');
  noAbsolutePaths(j);
  fs.rmSync(dir, { recursive: true, force: true });
});
