// The model card is built from the run's files: tokens trained are the tokens the training loop counted (here planted,
// with step times that vary so that a mean of per-step rates times elapsed time is wrong), and every hyperparameter
// on it is the run's train_config.json value (planted, then changed: the card follows). The training loop logs the
// count it trains on (checked against an independent pass over the same batches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelCard, tokensTrained } from '../../src/organism/model-card.js';
import { DEFAULT_TRAIN, trainOrganism, type LogRow, type OrganismTrainConfig } from '../../src/organism/train/train.js';
import { PackedReader } from '../../src/organism/train/data.js';
import { writeCorpus } from '../../src/organism/shards.js';
import { writeSafetensors } from '../../src/models/loaders/safetensors.js';
import { codeVersion, PROJECT_ROOT } from '../../src/util/paths.js';

const SHIPPED_EVAL = 'models/organism/eval.json';

/** Per-step loss-bearing tokens and step seconds, deliberately uneven (fast steps with few tokens, slow with many). */
function planted(steps: number): { ntok: number[]; dt: number[] } {
  const ntok = Array.from({ length: steps }, (_, i) => 1000 + ((i * 37) % 11) * 90);
  const dt = ntok.map((n, i) => (i % 4 === 0 ? 2.5 : 0.4) + n / 10_000);
  return { ntok, dt };
}

function logRows(ntok: number[], dt: number[], withCounts: boolean): LogRow[] {
  let elapsed = 0;
  let seen = 0;
  return ntok.map((n, i) => {
    elapsed += dt[i];
    seen += n;
    const row: LogRow = { step: i + 1, loss: 5 - i * 0.01, lr: 1e-3, gradNorm: 1, tokensPerS: n / dt[i], elapsedS: elapsed };
    if (withCounts) Object.assign(row, { tokens: n, tokensSeen: seen });
    if (i === ntok.length - 1) row.val = { all: 1.5, story: 1.6, fact: 1.4, code: 1.3, chat: 1.2, report: 1.1 };
    return row;
  });
}

/** A run folder and a model folder whose config.json agrees with cfg; weights of known size. Returns the size. */
function plantRun(root: string, cfg: OrganismTrainConfig | Record<string, unknown>, log: LogRow[]): { run: string; model: string; params: number } {
  const c = cfg as Record<string, unknown>;
  const run = path.join(root, 'run');
  const model = path.join(root, 'model');
  fs.mkdirSync(run, { recursive: true });
  fs.mkdirSync(model, { recursive: true });
  fs.writeFileSync(path.join(run, 'train_config.json'), JSON.stringify(cfg, null, 2));
  fs.writeFileSync(path.join(run, 'train_log.jsonl'), log.map((r) => JSON.stringify(r) + '\n').join(''));
  fs.writeFileSync(path.join(run, 'machine.json'), JSON.stringify({ cpus: 3, cpu: 'Planted CPU', node: 'v0' }));
  fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({
    hidden_size: c.dModel, num_hidden_layers: c.nLayers, num_attention_heads: c.nHeads, intermediate_size: c.dMlp, max_position_embeddings: c.ctx, vocab_size: 77,
  }));
  const shapes = [[77, c.dModel as number], [c.dModel as number], [3, 5, 7]];
  writeSafetensors(path.join(model, 'model.safetensors'), Object.fromEntries(shapes.map((s, i) => [`t${i}`, { dtype: 'F32' as const, shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) }])));
  return { run, model, params: 77 * (c.dModel as number) + (c.dModel as number) + 105 };
}

const cell = (md: string, label: string) => {
  const m = new RegExp(`^\\| ${label.replace(/[/()]/g, '\\$&')} \\| (.*) \\|$`, 'm').exec(md);
  assert.ok(m, `card has a row "${label}"`);
  return m[1];
};

/** Every hyperparameter shown on the card equals the config's value. */
function checkConfigShown(md: string, cfg: OrganismTrainConfig): void {
  const table = md.slice(md.indexOf('### Run configuration'));
  for (const [k, v] of Object.entries(cfg)) {
    const m = new RegExp(`^\\| ${k} \\| ([^|]*) \\|`, 'm').exec(table);
    assert.ok(m, `config table has ${k}`);
    assert.equal(JSON.parse(m[1]), v, `config table ${k}`);
  }
  const opt = cell(md, 'optimizer');
  for (const s of [`beta1 ${cfg.adamBeta1}`, `beta2 ${cfg.adamBeta2}`, `eps ${cfg.adamEps}`, `weight decay ${cfg.weightDecay}`, `peak lr ${cfg.lr}`,
    `${cfg.warmupSteps} linear warm-up`, `cosine to ${cfg.minLrFraction} x peak at step ${cfg.steps}`, `gradient clip ${cfg.clipNorm}`]) {
    assert.ok(opt.includes(s), `optimizer row "${opt}" has "${s}"`);
  }
  assert.ok(cell(md, 'batch').startsWith(`${cfg.batch} rows x ${cfg.ctx} tokens`));
  const cmd = cell(md, 'command');
  for (const [flag, v] of [['--seed', cfg.seed], ['--steps', cfg.steps], ['--batch', cfg.batch], ['--d-model', cfg.dModel], ['--layers', cfg.nLayers], ['--heads', cfg.nHeads],
    ['--d-mlp', cfg.dMlp], ['--lr', cfg.lr], ['--warmup', cfg.warmupSteps], ['--eval-every', cfg.evalEvery], ['--checkpoint-every', cfg.checkpointEvery]] as const) {
    assert.ok(cmd.includes(` ${flag} ${v} `) || cmd.includes(` ${flag} ${v}\``), `command "${cmd}" has ${flag} ${v}`);
  }
  assert.ok(md.includes(`A ${cfg.nLayers}-layer`) && md.includes(`d_model ${cfg.dModel}, ${cfg.nHeads} heads,\nMLP ${cfg.dMlp}, context ${cfg.ctx}`));
}

test('model card: tokens trained are the counted tokens, throughput = tokens / step time; hyperparameters follow train_config.json', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-card-'));
  const { ntok, dt } = planted(40);
  const truthTokens = ntok.reduce((a, b) => a + b, 0);
  const truthSeconds = dt.reduce((a, b) => a + b, 0);
  const cfg: OrganismTrainConfig = {
    seed: 11, dModel: 24, nLayers: 3, nHeads: 2, dMlp: 40, ctx: 17, batch: 3, steps: 40, lr: 0.00123, warmupSteps: 7, minLrFraction: 0.0625,
    weightDecay: 0.037, adamBeta1: 0.81, adamBeta2: 0.97, adamEps: 1e-7, clipNorm: 0.77, evalEvery: 13, checkpointEvery: 9, valDocsPerGenre: 5,
  };
  assert.deepEqual(Object.keys(cfg).sort(), Object.keys(DEFAULT_TRAIN).sort(), 'the planted config sets every field');
  const { run, model, params } = plantRun(root, cfg, logRows(ntok, dt, false));
  writeCorpus(path.join(run, 'corpus'), 5, { tokens: 4000 });
  const evalFile = path.join(root, 'eval.json');
  fs.copyFileSync(SHIPPED_EVAL, evalFile);
  await writeModelCard(run, model, evalFile);
  let md = fs.readFileSync(path.join(model, 'README.md'), 'utf8');

  // The mean of per-step rates times elapsed time is not the count when step times vary (the old card's figure).
  const meanRate = ntok.reduce((a, n, i) => a + n / dt[i], 0) / ntok.length;
  assert.ok(Math.abs(meanRate * truthSeconds - truthTokens) > 0.05 * truthTokens, 'the planted log separates the two computations');
  assert.ok(cell(md, 'steps / tokens trained').startsWith(`40 / ${truthTokens.toLocaleString('en-US')} `), cell(md, 'steps / tokens trained'));
  assert.ok(cell(md, 'throughput').startsWith(`${Math.round(truthTokens / truthSeconds).toLocaleString('en-US')} tokens/s`), cell(md, 'throughput'));
  assert.ok(cell(md, 'training time').startsWith(`${(truthSeconds / 60).toFixed(1)} min`));
  assert.ok(md.includes(`${params.toLocaleString('en-US')} parameters`), 'parameter count of the weight file');
  assert.ok(md.includes(`code version \`${codeVersion()}\``), 'the code version the card was generated at');
  checkConfigShown(md, cfg);
  assert.deepEqual(fs.readFileSync(path.join(model, 'eval.json')), fs.readFileSync(evalFile), 'eval.json copied unchanged');
  for (const p of [root, PROJECT_ROOT, os.tmpdir()]) assert.ok(!md.includes(p), `the card holds no absolute path (${p})`);

  // Change every value: the card follows.
  const cfg2: OrganismTrainConfig = {
    seed: 12, dModel: 32, nLayers: 2, nHeads: 4, dMlp: 48, ctx: 19, batch: 5, steps: 41, lr: 0.0042, warmupSteps: 3, minLrFraction: 0.2,
    weightDecay: 0.011, adamBeta1: 0.5, adamBeta2: 0.9, adamEps: 3e-6, clipNorm: 2.5, evalEvery: 4, checkpointEvery: 6, valDocsPerGenre: 2,
  };
  for (const k of Object.keys(cfg) as (keyof OrganismTrainConfig)[]) assert.notEqual(cfg2[k], cfg[k], `${k} changes`);
  const p2 = plantRun(root, cfg2, logRows(ntok, dt, true));
  await writeModelCard(p2.run, p2.model, evalFile);
  md = fs.readFileSync(path.join(p2.model, 'README.md'), 'utf8');
  checkConfigShown(md, cfg2);
  assert.ok(cell(md, 'steps / tokens trained').startsWith(`40 / ${truthTokens.toLocaleString('en-US')} `), 'from the logged counts');

  // A config from before the AdamW constants were recorded: the card says so and shows the constants then in use.
  const { adamBeta1: _a, adamBeta2: _b, adamEps: _e, ...old } = cfg2;
  fs.writeFileSync(path.join(p2.run, 'train_config.json'), JSON.stringify(old));
  await writeModelCard(p2.run, p2.model, evalFile);
  md = fs.readFileSync(path.join(p2.model, 'README.md'), 'utf8');
  assert.ok(cell(md, 'optimizer').includes('beta1 0.9, beta2 0.95, eps 1e-8'));
  assert.match(md, /^\| adamBeta2 \| 0\.95 \| .*not in train_config\.json/m);
  assert.match(md, /adamBeta1, adamBeta2, adamEps: not recorded by this run/);
  assert.ok(!md.includes('sparsity-fidelity frontier'), 'no frontier section unless one is given');

  // With a frontier.json the card shows its table (cells from its rows) and names the command and code that wrote it.
  const frontierFile = path.join(root, 'frontier.json');
  const fr = (codec: string, family: string, l0: number, fve: number, ce: number) => ({ codec, family, width: 64, l0_requested: l0, l0, fve, ce_loss_score: ce, kl_score: ce, n_tokens: 9, n_scored: 8, ce_clean: 1, ce_added: 0 });
  fs.writeFileSync(frontierFile, JSON.stringify({
    command: 'probity sae frontier planted', provenance: { code_version: 'abc1234' },
    rows: [fr('sae:x', 'sae', 4, 0.91, 0.987), fr('pca_l0_4', 'pca', 4, 0.41, 0.612)], summary: ['against pca on fve: planted verdict'],
  }));
  await writeModelCard(p2.run, p2.model, evalFile, { frontier: frontierFile });
  md = fs.readFileSync(path.join(p2.model, 'README.md'), 'utf8');
  assert.match(md, /Written by `probity sae frontier planted` at code `abc1234`/);
  assert.ok(md.includes('| 4 | 0.910 / 0.9870 | 0.410 / 0.6120 |'), 'the frontier row of the planted file');
  assert.ok(md.includes('L0 4: FVE 0.500, CE-loss score 0.3750'), 'the gap computed from the planted rows');
  assert.ok(md.includes('Against pca on fve: planted verdict'));
  fs.rmSync(root, { recursive: true, force: true });
});

test('tokensTrained: counted tokens from either log format; an inconsistent or gapped log is refused', () => {
  const { ntok, dt } = planted(25);
  const truth = ntok.reduce((a, b) => a + b, 0);
  assert.equal(tokensTrained(logRows(ntok, dt, false)).tokens, truth);
  assert.equal(tokensTrained(logRows(ntok, dt, true)).tokens, truth);
  const bad = logRows(ntok, dt, true);
  bad[10].tokensSeen! += 1;
  assert.throws(() => tokensTrained(bad), /tokensSeen/);
  const gap = logRows(ntok, dt, false).filter((r) => r.step !== 7);
  assert.throws(() => tokensTrained(gap), /every step/);
});

test('organism training logs the loss-bearing tokens of each step and their running total', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-card-train-'));
  const corpus = path.join(root, 'corpus');
  writeCorpus(corpus, 3, { tokens: 20_000 });
  const cfg: OrganismTrainConfig = { ...DEFAULT_TRAIN, seed: 3, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 32, ctx: 32, batch: 2, steps: 4, evalEvery: 1000, checkpointEvery: 1000, warmupSteps: 2, valDocsPerGenre: 1 };
  const r = await trainOrganism(cfg, corpus, path.join(root, 'run'));
  // Independently: the same batches, read again, and their loss masks summed.
  const reader = new PackedReader(corpus, cfg.ctx, 0);
  let seen = 0;
  for (const row of r.log) {
    const n = (reader.next(cfg.batch).loss_mask.data as Float32Array).reduce((a, b) => a + b, 0);
    seen += n;
    assert.equal(row.tokens, n, `step ${row.step} tokens`);
    assert.equal(row.tokensSeen, seen, `step ${row.step} tokensSeen`);
  }
  assert.equal(tokensTrained(r.log).tokens, seen);
  fs.rmSync(root, { recursive: true, force: true });
});
