// kill -9 in the middle of `probity organism train` loses at most the steps since the last checkpoint: the resumed
// run ends with exactly the parameters of an uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCorpus } from '../../src/organism/shards.js';
import { DEFAULT_TRAIN, trainOrganism, type OrganismTrainConfig } from '../../src/organism/train/train.js';

const cfg: OrganismTrainConfig = {
  ...DEFAULT_TRAIN, seed: 3, dModel: 32, nLayers: 2, nHeads: 2, dMlp: 64, batch: 2, steps: 30,
  checkpointEvery: 3, evalEvery: 1000, warmupSteps: 5,
};
const flags = ['--seed', '3', '--d-model', '32', '--layers', '2', '--heads', '2', '--d-mlp', '64', '--batch', '2', '--steps', '30',
  '--checkpoint-every', '3', '--eval-every', '1000', '--warmup', '5', '--lr', String(cfg.lr)];

test('organism training killed with SIGKILL resumes to the same parameters as an uninterrupted run', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-org-resume-'));
  const corpus = path.join(root, 'corpus');
  writeCorpus(corpus, 3, { tokens: 30_000 });
  const straight = await trainOrganism({ ...cfg }, corpus, path.join(root, 'straight'));
  assert.ok(straight.finished);

  // The CLI makes its corpus inside the run folder; give it the same one.
  const run = path.join(root, 'killed');
  fs.mkdirSync(run);
  fs.cpSync(corpus, path.join(run, 'corpus'), { recursive: true });
  // Its own process group, killed as a whole: the CLI relaunches itself (allocator settings), and kill -9 of a job
  // from a shell reaches both. (That an orphaned relaunched child dies by itself is tested in test/util.)
  const child = spawn(process.execPath, [path.resolve('bin/probity.js'), 'organism', 'train', '--out', run, ...flags], { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.on('exit', r));
  const ckpt = path.join(run, 'checkpoint.safetensors');
  const t0 = Date.now();
  while (!fs.existsSync(ckpt) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  assert.ok(fs.existsSync(ckpt), 'a checkpoint was written before the kill');
  const logged = fs.readFileSync(path.join(run, 'train_log.jsonl'), 'utf8').trim().split('\n').length;
  assert.ok(logged < cfg.steps, `killed mid-run (logged ${logged} of ${cfg.steps} steps)`);

  const resumed = await trainOrganism({ ...cfg }, path.join(run, 'corpus'), run);
  assert.ok(resumed.finished);
  for (const n of straight.params.names) assert.deepEqual(resumed.params.get(n).data, straight.params.get(n).data, `parameter ${n}`);
  assert.equal(resumed.log.length, cfg.steps);
  fs.rmSync(root, { recursive: true, force: true });
});
