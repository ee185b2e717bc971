// `probity sae convert` through the real CLI: a planted sparsify folder becomes a SAELens folder whose SAE computes
// sparsify's TopK (x - b_dec, relu, top k, decode + b_dec) as written out here in float64; bad input is named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../../src/models/loaders/safetensors.js';
import { loadSaeLens } from '../../src/dictionaries/saelens.js';
import { randn } from '../dictionaries/graph-helpers.js';

const BIN = path.resolve('bin/probity.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-sae-convert-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const probity = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

test('sae convert: a sparsify folder (layers.2) to SAELens computes sparsify\'s TopK; errors name the path', async () => {
  const D = 16, S = 48, k = 4;
  const W = randn(S * D, 1, 0.5), b = randn(S, 2, 0.3), Wd = randn(S * D, 3, 0.5), bd = randn(D, 4, 1);
  const src = path.join(tmp, 'layers.2');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'cfg.json'), JSON.stringify({ activation: 'topk', expansion_factor: 3, normalize_decoder: true, num_latents: 0, k, multi_topk: false, skip_connection: false, transcode: false, d_in: D }));
  const F32 = (shape: number[], data: Float32Array) => ({ dtype: 'F32' as const, shape, data });
  writeSafetensors(path.join(src, 'sae.safetensors'), { 'encoder.weight': F32([S, D], W), 'encoder.bias': F32([S], b), W_dec: F32([S, D], Wd), b_dec: F32([D], bd) });

  const out = path.join(tmp, 'saelens');
  const r = probity('sae', 'convert', src, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.deepEqual([info.format, info.architecture, info.d_in, info.d_sae, info.hook], ['sparsify', 'topk', D, S, 'blocks.2.hook_resid_post']);

  const sae = loadSaeLens(out);
  const n = 5;
  const x = randn(n * D, 5, 1.5);
  const got = await sae.reconstruct(x, n);
  for (let t = 0; t < n; t++) {
    const pre = Array.from({ length: S }, (_, i) => {
      let s = b[i];
      for (let j = 0; j < D; j++) s += (x[t * D + j] - bd[j]) * W[i * D + j];
      return Math.max(0, s);
    });
    const top = pre.map((v, i) => [v, i]).sort((p, q) => q[0] - p[0]).slice(0, k);
    for (let j = 0; j < D; j++) {
      let want = bd[j];
      for (const [v, i] of top) want += v * Wd[i * D + j];
      assert.ok(Math.abs(got[t * D + j] - want) < 1e-4, `token ${t} dim ${j}: ${got[t * D + j]} vs ${want}`);
    }
  }

  const again = probity('sae', 'convert', src, '--out', out);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /already holds an SAE/);
  const missing = probity('sae', 'convert', path.join(tmp, 'nothing'), '--out', path.join(tmp, 'o2'));
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nothing: no such file or folder/);
  fs.mkdirSync(path.join(tmp, 'pickle'));
  fs.writeFileSync(path.join(tmp, 'pickle', 'sae.pt'), 'not really');
  const pickle = probity('sae', 'convert', path.join(tmp, 'pickle'), '--out', path.join(tmp, 'o3'));
  assert.notEqual(pickle.status, 0);
  assert.match(pickle.stderr, /sae\.pt/);
});
