// Files probity writes hold no machine's absolute paths: a shipped model is named by its name, a path inside the
// project is relative to its root, any other path is written as given. Checked on what the writers produce: an SAE's
// cfg.json (saveSaeLens, with the metadata `sae train` gives it), the bench provenance's model and SAE entries, and
// a corpus source's description (written into an activation store's manifest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { displayModel, displayPath, PROJECT_ROOT } from '../../src/util/paths.js';
import { loadModel, PACKAGE_ROOT } from '../../src/models/load.js';
import { loadSaeLens, saveSaeLens, shippedSaes } from '../../src/dictionaries/saelens.js';
import { artefactRef } from '../../src/bench/suite.js';
import { organismCorpusSource } from '../../src/dictionaries/store/sources.js';
import { writeCorpus } from '../../src/organism/shards.js';

/** Every string in a JSON value (keys included). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(k), strings(x, out);
  return out;
}

function assertNoAbsolutePath(json: unknown, what: string): void {
  for (const s of strings(json)) {
    assert.ok(!s.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(s), `${what} holds the absolute path ${JSON.stringify(s)}`);
    assert.ok(!s.includes(PROJECT_ROOT), `${what} holds the project root in ${JSON.stringify(s)}`);
  }
}

test('displayPath / displayModel: relative to the project root inside it, as given outside, shipped models by name', () => {
  assert.equal(PROJECT_ROOT, PACKAGE_ROOT);
  assert.equal(displayPath(path.join(PROJECT_ROOT, 'models', 'organism', 'saes')), 'models/organism/saes');
  assert.equal(displayPath(PROJECT_ROOT), '.');
  const outside = path.join(os.tmpdir(), 'probity-elsewhere', 'x.json');
  assert.equal(displayPath(outside), outside, 'outside the project: as given');
  assert.equal(displayPath('organism'), 'organism', 'a name that is not a path here stays a name');
  assert.equal(displayPath('../sibling/run'), '../sibling/run', 'a relative path outside the project stays as given, not made absolute');
  assert.equal(displayModel(path.join(PROJECT_ROOT, 'models', 'organism')), 'organism');
  assert.equal(displayModel('organism'), 'organism');
  assert.equal(displayModel(outside), outside);
});

test("an SAE's cfg.json written with the metadata `sae train` gives it holds no absolute path", async () => {
  const model = await loadModel('organism');
  assert.ok(path.isAbsolute(model.source), 'the loader reads the shipped model from its absolute folder');
  const [dir] = shippedSaes(model.source);
  const sae = loadSaeLens(dir);
  sae.cfg.metadata = { ...sae.cfg.metadata, model: model.source, dataset_path: path.join(PROJECT_ROOT, 'runs', 'data.txt') };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-paths-'));
  saveSaeLens(sae, out);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8'));
  assertNoAbsolutePath(cfg, 'cfg.json');
  assert.equal(cfg.probity.metadata.model, 'organism');
  assert.equal(cfg.dataset_path, 'runs/data.txt');
  assert.equal(loadSaeLens(out).cfg.metadata?.model, 'organism', 'read back');
  fs.rmSync(out, { recursive: true, force: true });
});

test('the shipped SAE folders name their model without an absolute path', () => {
  const dirs = shippedSaes(path.join(PROJECT_ROOT, 'models', 'organism'));
  assert.ok(dirs.length > 0);
  for (const d of dirs) assertNoAbsolutePath(JSON.parse(fs.readFileSync(path.join(d, 'cfg.json'), 'utf8')), `${displayPath(d)}/cfg.json`);
});

test('bench provenance names the model and SAEs without absolute paths and still hashes their files', async () => {
  const model = await loadModel('organism');
  const saes = shippedSaes(model.source);
  const refs = [artefactRef(model.source, 'model'), ...saes.map((d) => artefactRef(d, 'sae'))];
  assertNoAbsolutePath(refs, 'provenance');
  assert.equal(refs[0].source, 'organism');
  assert.equal(refs[1].source, displayPath(saes[0]));
  assert.ok(refs[1].source.startsWith('models/organism/saes/'));
  for (const r of refs) assert.match(r.sha256 ?? '', /^[0-9a-f]{64}$/, `${r.source} hashed`);
});

test('a corpus source inside the project is described by its project-relative path', () => {
  fs.mkdirSync(path.join(PROJECT_ROOT, 'tmp'), { recursive: true }); // git-ignored
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, 'tmp', 'paths-test-'));
  try {
    writeCorpus(path.join(dir, 'corpus'), 2, { tokens: 500 });
    const d = organismCorpusSource(path.join(dir, 'corpus')).description;
    assertNoAbsolutePath(d, 'corpus source description');
    assert.equal(d.path, `tmp/${path.basename(dir)}/corpus`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
