// `probity organism corpus|train`: make the TinyWorld corpus and (re)train the shipped model organism from a seed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { writeCorpus, readManifest } from '../organism/shards.js';
import { DEFAULT_TRAIN, paramsFromCheckpoint, saveOrganismModel, trainOrganism, type OrganismTrainConfig } from '../organism/train/train.js';
import { evaluateOrganism } from '../organism/eval.js';
import { loadModel } from '../models/load.js';
import { writeModelCard } from '../organism/model-card.js';
import { progressBar } from './progress.js';
import { intArg, numArg } from './args.js';
import { displayModel } from '../util/paths.js';

export function registerOrganismCommands(program: Command): void {
  const org = program.command('organism').description('The embedded model organism: corpus, training, evaluation');

  org
    .command('corpus')
    .description('Write a TinyWorld corpus (token shards, per-token concept labels, per-document attributes)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--tokens <n>', 'stop after this many tokens', intArg('tokens', 1), 1_000_000)
    .option('--seed <s>', 'corpus seed', intArg('seed', 0), 1)
    .option('--overwrite', 'replace an existing corpus')
    .action((o) => {
      const bar = progressBar('corpus', o.tokens, 'tokens');
      const { manifest } = writeCorpus(o.out, o.seed, { tokens: o.tokens, overwrite: !!o.overwrite, onProgress: (p) => bar.update(Math.min(p.tokens, o.tokens)) });
      bar.stop();
      process.stdout.write(JSON.stringify({ out: o.out, ...manifest.totals }) + '\n');
    });

  const d = DEFAULT_TRAIN;
  org
    .command('train')
    .description('Train the organism from a seed (resumes from OUT/checkpoint.safetensors after an interruption)')
    .requiredOption('--out <dir>', 'run folder: corpus/, checkpoint, train_log.jsonl, model/')
    .option('--seed <s>', 'seed (corpus and initialisation)', intArg('seed', 0), d.seed)
    .option('--corpus-tokens <n>', 'corpus size', intArg('corpus-tokens', 1), 12_000_000)
    .option('--steps <n>', 'optimizer steps', intArg('steps', 1), d.steps)
    .option('--batch <n>', 'rows per step', intArg('batch', 1), d.batch)
    .option('--d-model <n>', 'width', intArg('d-model', 8), d.dModel)
    .option('--layers <n>', 'blocks', intArg('layers', 1), d.nLayers)
    .option('--heads <n>', 'attention heads', intArg('heads', 1), d.nHeads)
    .option('--d-mlp <n>', 'MLP width', intArg('d-mlp', 8), d.dMlp)
    .option('--lr <x>', 'peak learning rate', numArg('lr', 0), d.lr)
    .option('--warmup <n>', 'warm-up steps', intArg('warmup', 0), d.warmupSteps)
    .option('--eval-every <n>', 'validation every n steps', intArg('eval-every', 1), d.evalEvery)
    .option('--checkpoint-every <n>', 'checkpoint every n steps', intArg('checkpoint-every', 1), d.checkpointEvery)
    .option('--save-to <dir>', 'also write the final model here (e.g. models/organism)')
    .action(async (o) => {
      const cfg: OrganismTrainConfig = {
        ...d, seed: o.seed, steps: o.steps, batch: o.batch, dModel: o.dModel, nLayers: o.layers, nHeads: o.heads, dMlp: o.dMlp,
        lr: o.lr, warmupSteps: o.warmup, evalEvery: o.evalEvery, checkpointEvery: o.checkpointEvery,
      };
      const corpus = path.join(o.out, 'corpus');
      if (!fs.existsSync(path.join(corpus, 'manifest.json'))) {
        const bar = progressBar('corpus', o.corpusTokens, 'tokens');
        writeCorpus(corpus, o.seed, { tokens: o.corpusTokens, onProgress: (p) => bar.update(Math.min(p.tokens, o.corpusTokens)) });
        bar.stop();
      }
      process.stderr.write(`corpus: ${readManifest(corpus).totals.tokens} tokens in ${corpus}\n`);
      fs.writeFileSync(path.join(o.out, 'train_config.json'), JSON.stringify(cfg, null, 2) + '\n');
      fs.writeFileSync(path.join(o.out, 'machine.json'), JSON.stringify({ cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version }) + '\n');
      const bar = progressBar('train', cfg.steps, 'steps');
      const r = await trainOrganism(cfg, corpus, o.out, {
        onStep: (row) => bar.update(row.step, { loss: row.loss.toFixed(3), 'tok/s': Math.round(row.tokensPerS) }),
        onEval: (row) => process.stderr.write(`\nstep ${row.step} val ${JSON.stringify(row.val, (_k, v) => (typeof v === 'number' ? +v.toFixed(3) : v))}\n`),
      });
      bar.stop();
      const dirs = [path.join(o.out, 'model'), ...(o.saveTo ? [o.saveTo] : [])];
      for (const dir of dirs) saveOrganismModel(dir, r.params, r.spec);
      const last = r.log[r.log.length - 1];
      process.stdout.write(JSON.stringify({ model: dirs, steps: last?.step, loss: last?.loss, val: last?.val, elapsed_s: last?.elapsedS }) + '\n');
    });

  org
    .command('export')
    .description("Write a run's latest checkpoint as a model folder (to inspect a model while it trains)")
    .requiredOption('--run <dir>', 'run folder of `organism train`')
    .requiredOption('--to <dir>', 'model folder to write')
    .action((o) => {
      const { params, spec, step } = paramsFromCheckpoint(o.run);
      saveOrganismModel(o.to, params, spec);
      process.stdout.write(JSON.stringify({ model: o.to, step }) + '\n');
    });

  org
    .command('eval')
    .description('Measure behaviour rates (fact recall, regex rates, quirk rates, denials, tone compliance) by sampling')
    .option('--model <ref>', 'model folder or shipped name', 'organism')
    .option('--samples <n>', 'samples per prompt for rates', intArg('samples', 1), 4)
    .option('--seed <s>', 'sampling seed', intArg('seed', 0), 1)
    .option('--out <file>', 'write the JSON here too')
    .action(async (o) => {
      const model = await loadModel(o.model);
      const bar = progressBar('eval', 1, 'samples');
      const res = await evaluateOrganism(model, { samplesPerPrompt: o.samples, seed: o.seed, onProgress: (d, t) => bar.update(d, {}, t) });
      bar.stop();
      const json = JSON.stringify({ model: displayModel(model.source), command: `probity organism eval ${process.argv.slice(4).join(' ')}`.trim(), ...res }, null, 2) + '\n';
      if (o.out) fs.writeFileSync(o.out, json);
      process.stdout.write(json);
    });

  org
    .command('card')
    .description("Write the model card (README.md, loss.svg, eval.json) into a model folder from a run's files")
    .requiredOption('--run <dir>', 'run folder of `organism train`')
    .option('--model <dir>', 'model folder', 'models/organism')
    .requiredOption('--eval <file>', 'output of `organism eval --out`')
    .option('--corpus <dir>', "the run's corpus folder (default RUN/corpus), for its manifest")
    .option('--frontier <file>', 'frontier.json of `probity sae frontier` on the shipped SAEs: the card shows it')
    .action(async (o) => {
      await writeModelCard(o.run, o.model, o.eval, { corpus: o.corpus, frontier: o.frontier });
      process.stdout.write(JSON.stringify({ card: path.join(o.model, 'README.md') }) + '\n');
    });
}
