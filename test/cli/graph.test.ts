// `probity graph` through the real CLI on a tiny Llama and a planted transcoder set: the file validates against the
// schema, its links are adjacency entries recomputed here by the library, the error accounting is printed and
// stored, and bad input is named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sae } from '../../src/dictionaries/sae.js';
import { saveSaeLens } from '../../src/dictionaries/saelens.js';
import { readGraphFile } from '../../src/circuits/validate-graph.js';
import { attribute } from '../../src/circuits/attribution.js';
import { transcoderDictionary } from '../../src/circuits/dictionaries.js';
import { nodeIdOf } from '../../src/circuits/graph-file.js';
import { llamaFixture, load } from '../models/tiny-models.js';

const BIN = path.resolve('bin/probity.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-graph-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const probity = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

test('probity graph: a valid graph file whose links are the library\'s adjacency, scores printed and stored; bad input named', async () => {
  const fx = llamaFixture(path.join(tmp, 'model'));
  const model = await load(fx.path);
  const D = model.spec.dModel;
  const set = path.join(tmp, 'transcoders');
  for (let l = 0; l < model.spec.nLayers; l++) {
    const sae = Sae.create({ architecture: 'topk', dIn: D, dSae: 40, dOut: D, k: 4, hookName: `blocks.${l}.ln2.hook_normalized`, outHookName: `blocks.${l}.hook_mlp_out` }, 3 + l);
    sae.params.b_enc.fill(0.5);
    saveSaeLens(sae, path.join(set, `blocks.${l}`));
  }
  const out = path.join(tmp, 'g.json');
  const html = path.join(tmp, 'g.html');
  const r = probity('graph', fx.path, '--transcoders', set, '--prompt', 'ab cd ef', '--out', out, '--html', html, '--check', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /replacement score \d\.\d{3}, completeness score \d\.\d{3}, error share of influence \d\.\d{3}/);
  assert.match(r.stdout, /intervention check, 3 feature removals/);
  const g = readGraphFile(out);
  assert.ok(g.links.length > 0 && g.nodes.length > 0);
  assert.ok(fs.readFileSync(html, 'utf8').includes('<svg'));
  const s = g.metadata.probity.scores;
  assert.ok(s.replacement_score > 0 && s.replacement_score <= 1 && s.completeness_score > 0 && s.completeness_score <= 1);
  assert.equal(s.error_influence_share_by_layer.length, model.spec.nLayers);

  // The links are entries of the adjacency the library computes for the same tokens and transcoders.
  const tokens = model.tokenizer.encode('ab cd ef', { bos: model.tokenizer.bos !== null });
  const dicts = Array.from({ length: model.spec.nLayers }, (_, l) => {
    const sae = Sae.create({ architecture: 'topk', dIn: D, dSae: 40, dOut: D, k: 4, hookName: `blocks.${l}.ln2.hook_normalized`, outHookName: `blocks.${l}.hook_mlp_out` }, 3 + l);
    sae.params.b_enc.fill(0.5);
    return transcoderDictionary(model, l, sae);
  });
  const a = await attribute(model, dicts, tokens);
  const index = new Map(Array.from({ length: a.n }, (_, i) => [nodeIdOf(a, i), i]));
  for (const link of g.links.slice(0, 50)) {
    const t = index.get(link.target)!;
    const src = index.get(link.source)!;
    assert.ok(t !== undefined && src !== undefined, `link ${link.source} -> ${link.target}`);
    assert.ok(Math.abs(a.adjacency[t * a.n + src] - link.weight) < 1e-4, `link ${link.source} -> ${link.target}: ${link.weight} vs ${a.adjacency[t * a.n + src]}`);
  }

  const bad = probity('graph', fx.path, '--transcoders', set, '--prompt', 'ab', '--node-threshold', '1.5', '--out', out);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /node-threshold/);
  fs.rmSync(path.join(set, 'blocks.1'), { recursive: true });
  const missing = probity('graph', fx.path, '--transcoders', set, '--prompt', 'ab', '--out', out);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /layer 1/);
});
