// `probity sae train | eval`: harvest activations at a hook, train an SAE on them (resumable), save it in SAELens's
// layout, and measure it on the model beside PCA / k-means / random-dictionary baselines.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadModel, PACKAGE_ROOT } from '../models/load.js';
import type { Model } from '../models/model.js';
import { harvest } from '../dictionaries/store/harvest.js';
import { openStore } from '../dictionaries/store/reader.js';
import type { TokenSource } from '../dictionaries/store/sources.js';
import { trainSae } from '../dictionaries/train/trainer.js';
import { loadSaeLens, saveSaeLens, checkAgainstModel } from '../dictionaries/saelens.js';
import { architectureNames } from '../dictionaries/architectures/registry.js';
import { evaluateSae, windowsFrom, type WindowSource } from '../dictionaries/eval.js';
import { runFrontier, frontierSvg, fileHash } from '../dictionaries/frontier.js';
import type { Sae } from '../dictionaries/sae.js';
import type { ArchitectureName } from '../dictionaries/architectures/types.js';
import { documents } from '../organism/corpus.js';
import { ProbityError } from '../errors.js';
import { progressBar } from './progress.js';
import { codeVersion, displayModel } from '../util/paths.js';
import { choiceArg, intArg, numArg } from './args.js';
import { int8SelectionRecall } from '../dictionaries/train/selection-recall.js';
import { candidatesOf, resolveSelection } from '../dictionaries/architectures/topk-select.js';

/** Token rows for harvesting/evaluation: the organism's own generated documents, or lines of a text file. */
function tokenRows(model: Model, text: string | undefined, seed: number): { source: TokenSource; windows: () => WindowSource } {
  if (text) {
    const lines = fs.readFileSync(text, 'utf8').split('\n').filter((l) => l.trim());
    const rows = () => lines.map((l) => model.tokenizer.encode(l));
    return {
      source: { description: { kind: 'text-file', path: projectPath(text), lines: lines.length } as never, rows },
      // One stream: evaluateSae takes the eval windows from its first lines and fits baselines on the lines after them.
      windows: () => windowsFrom(rows(), { kind: 'text-file', path: projectPath(text) }),
    };
  }
  if (!fs.existsSync(path.join(model.source, 'tokenizer.organism.json'))) {
    throw new ProbityError('CLI_ARG', `--text FILE is required for ${model.source}: only the organism can generate its own token stream`);
  }
  const gen = function* (s: number) {
    for (const d of documents(s)) yield d.tokens;
  };
  return {
    source: { description: { kind: 'organism-docs', seed } as never, rows: () => gen(seed) },
    // Evaluation documents come from another seed (documents the SAE never saw). The baselines are fitted on the
    // documents of the same stream that follow the evaluation ones (evaluateSae splits it and checks the ranges).
    windows: () => windowsFrom(gen(seed + 7919), { kind: 'organism-docs', seed: seed + 7919 }),
  };
}

/** A path as the output records it: relative to the project root (never this machine's absolute path). */
export function projectPath(p: string): string {
  return path.relative(PACKAGE_ROOT, path.resolve(p)) || '.';
}

/** The model as the output records it: its shipped name, or its path relative to the project root. */
function modelRef(model: Model): string {
  const shown = displayModel(model.source);
  return path.isAbsolute(shown) ? projectPath(shown) : shown;
}

interface EvalCliOptions { tokens: number; fitTokens: number; kmeansClusters: number; baselines: boolean; text?: string; seed: number; out?: string }

async function evalAndWrite(model: Model, sae: Sae, o: EvalCliOptions, extra: Record<string, unknown>) {
  const { windows } = tokenRows(model, o.text, o.seed);
  const bar = progressBar('eval', o.tokens, 'tokens');
  const res = await evaluateSae(model, sae, windows(), {
    tokens: o.tokens,
    baselines: o.baselines ? { fitTokens: o.fitTokens, kmeansClusters: o.kmeansClusters, seed: o.seed } : undefined,
    onProgress: (d) => bar.update(d),
  });
  bar.stop();
  res.data.model = modelRef(model);
  const json = {
    command: `probity ${process.argv.slice(2).join(' ')}`,
    code_version: codeVersion(),
    sae: { ...sae.cfg, source: sae.source ? projectPath(sae.source) : undefined },
    ...res,
    ...extra,
  };
  const text = JSON.stringify(json, null, 2) + '\n';
  if (o.out) fs.writeFileSync(o.out, text);
  return json;
}

export function registerSaeCommands(program: Command): void {
  const sae = program.command('sae').description('Sparse autoencoders: train, evaluate (SAELens layout)');

  sae
    .command('train')
    .description('Harvest activations at a hook, train an SAE on them, save it (SAELens layout) and its metrics')
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .option('--hook <name>', 'hook to read', 'blocks.2.hook_resid_post')
    .option('--arch <name>', `architecture: ${architectureNames().join(', ')}`, 'topk')
    .option('--k <n>', 'active latents per token (topk, batchtopk)', intArg('k', 1), 32)
    .option('--width <n>', 'number of latents (d_sae)', intArg('width', 1), 4096)
    .option('--sparsity <x>', 'sparsity coefficient (standard, gated: L1; jumprelu: L0)', numArg('sparsity', 0), 5)
    .option('--tokens <n>', 'training tokens', intArg('tokens', 1), 2_000_000)
    .option('--batch <n>', 'tokens per step', intArg('batch', 1), 4096)
    .option('--lr <x>', 'peak learning rate', numArg('lr', 0), 2e-4)
    .option('--seed <s>', 'seed (data and init)', intArg('seed', 0), 1)
    .option('--text <file>', 'token source: lines of a text file (default for the organism: its generated documents)')
    .option('--eval-tokens <n>', 'tokens for the final evaluation', intArg('eval-tokens', 1), 40_000)
    .option('--selection <how>', 'topk: how training chooses the k latents: exact (float32), int8 (int8 ranking, exact re-scoring of candidates), auto (int8 for wide SAEs)', choiceArg('selection', ['exact', 'int8', 'auto']), 'auto')
    .option('--candidates <n>', 'topk with --selection int8: latents re-scored exactly per token (default 1.5 k)', intArg('candidates', 1))
    .option('--fit-tokens <n>', 'baselines: tokens of the fit windows (documents after the eval ones)', intArg('fit-tokens', 1), 20_000)
    .option('--kmeans-clusters <n>', 'baselines: k-means centroids', intArg('kmeans-clusters', 1), 256)
    .option('--no-baselines', 'skip PCA / k-means / random-dictionary baselines')
    .requiredOption('--out <dir>', 'output folder: store/, checkpoint, cfg.json + sae_weights.safetensors, metrics.json')
    .action(async (o) => {
      const model = await loadModel(o.model);
      const storeDir = path.join(o.out, 'store');
      const harvestTokens = Math.min(o.tokens, 1_000_000);
      const { source } = tokenRows(model, o.text, o.seed);
      let bar = progressBar('harvest', harvestTokens, 'tokens');
      await harvest({ model, hooks: [o.hook], tokens: source, out: storeDir, maxTokens: harvestTokens, onProgress: (p) => bar.update(p.tokens) });
      bar.stop();
      const store = openStore(storeDir);
      const steps = Math.ceil(o.tokens / o.batch);
      const batches = store.batches({ hook: o.hook, batchSize: o.batch, seed: o.seed, epochs: Infinity, dropLast: true });
      const ckpt = path.join(o.out, 'checkpoint.safetensors');
      bar = progressBar('train', steps, 'steps');
      const t0 = Date.now();
      const r = await trainSae(
        {
          architecture: o.arch as ArchitectureName, dIn: store.d(o.hook), dSae: o.width, k: o.k, sparsityCoefficient: o.sparsity, hookName: o.hook,
          ...(o.arch === 'topk' ? { topkSelection: o.selection, topkCandidates: o.candidates } : {}),
          metadata: { model: modelRef(model), tokens: o.tokens, seed: o.seed },
        },
        (async function* () {
          for await (const b of batches) yield b.x.data;
        })(),
        {
          steps, lr: o.lr, seed: o.seed, checkpoint: { path: ckpt, every: 50 }, resumeFrom: fs.existsSync(ckpt) ? ckpt : undefined,
          progressEvery: 5,
          onProgress: (p) => bar.update(p.step, { loss: p.loss.toFixed(3), 'tok/s': Math.round(p.tokensPerSec) }),
        },
      );
      bar.stop();
      saveSaeLens(r.sae, o.out);
      const trainSeconds = (Date.now() - t0) / 1000;
      // Int8 selection is an approximation of the training step: measure it on this run's activations.
      let selection: Record<string, unknown> | undefined;
      if (o.arch === 'topk') {
        const how = resolveSelection(o.selection, o.width, o.k, o.candidates);
        selection = { requested: o.selection, how, candidates: how === 'int8' ? candidatesOf(o.k, o.candidates) : undefined };
        if (how === 'int8') {
          const probe = store.batches({ hook: o.hook, batchSize: Math.min(4096, store.tokens), seed: o.seed + 1, epochs: 1, dropLast: true });
          for await (const b of probe) {
            selection.recall_vs_exact = await int8SelectionRecall(r.sae, b.x.data, b.x.dims[0]);
            break;
          }
        }
      }
      const res = await evalAndWrite(model, r.sae, { tokens: o.evalTokens, fitTokens: o.fitTokens, kmeansClusters: o.kmeansClusters, baselines: o.baselines, text: o.text, seed: o.seed, out: path.join(o.out, 'metrics.json') }, {
        training: {
          steps, tokens: r.tokens, batch: o.batch, lr: o.lr, seconds_this_run: trainSeconds, harvested_tokens: store.tokens,
          ...(selection ? { selection } : {}),
        },
      });
      process.stdout.write(JSON.stringify({ out: o.out, metrics: res.metrics }, null, 2) + '\n');
    });

  sae
    .command('eval')
    .description('Metrics of an SAE (SAELens folder) at its hook, with CE-loss and KL scores by splicing, and baselines')
    .argument('<sae>', 'SAELens folder (cfg.json + sae_weights.safetensors)')
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .option('--tokens <n>', 'tokens to evaluate (window positions except 0 and <bos>)', intArg('tokens', 1), 40_000)
    .option('--seed <s>', 'data seed', intArg('seed', 0), 1)
    .option('--text <file>', 'token source: lines of a text file (default for the organism: generated documents)')
    .option('--fit-tokens <n>', 'baselines: tokens of the fit windows (documents after the eval ones)', intArg('fit-tokens', 1), 20_000)
    .option('--kmeans-clusters <n>', 'baselines: k-means centroids', intArg('kmeans-clusters', 1), 256)
    .option('--no-baselines', 'skip PCA / k-means / random-dictionary baselines')
    .option('--out <file>', 'write the JSON here too')
    .action(async (dir: string, o) => {
      const model = await loadModel(o.model);
      const s = loadSaeLens(dir);
      checkAgainstModel(s, model);
      const res = await evalAndWrite(model, s, { tokens: o.tokens, fitTokens: o.fitTokens, kmeansClusters: o.kmeansClusters, baselines: o.baselines, text: o.text, seed: o.seed, out: o.out }, {});
      process.stdout.write(JSON.stringify(res, null, 2) + '\n');
    });

  sae
    .command('frontier')
    .description('Sparsity-fidelity frontier: several SAEs, and PCA / k-means (matching pursuit) / random dictionaries at each of their L0s, on the same windows')
    .argument('<sae...>', 'SAELens folders (one hook)')
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .option('--tokens <n>', 'eval tokens (window positions except 0 and <bos>)', intArg('tokens', 1), 40_000)
    .option('--fit-tokens <n>', 'baseline fit tokens (documents after the eval ones)', intArg('fit-tokens', 1), 20_000)
    .option('--kmeans-clusters <n>', 'k-means centroids', intArg('kmeans-clusters', 1), 256)
    .option('--seed <s>', 'data seed', intArg('seed', 0), 1)
    .option('--text <file>', 'token source: lines of a text file (default for the organism: generated documents)')
    .requiredOption('--out <dir>', 'output folder: frontier.json, frontier.svg, summary.txt')
    .action(async (dirs: string[], o) => {
      const model = await loadModel(o.model);
      const saes = dirs.map((dir) => {
        const s = loadSaeLens(dir);
        checkAgainstModel(s, model);
        return { sae: s, label: projectPath(dir) };
      });
      const { windows } = tokenRows(model, o.text, o.seed);
      const bar = progressBar('frontier', o.tokens, 'tokens');
      const res = await runFrontier(model, saes, windows(), { tokens: o.tokens, fitTokens: o.fitTokens, kmeansClusters: o.kmeansClusters, seed: o.seed, onProgress: (d) => bar.update(d) });
      bar.stop();
      fs.mkdirSync(o.out, { recursive: true });
      const json = {
        command: `probity ${process.argv.slice(2).join(' ')}`,
        provenance: {
          code_version: codeVersion(),
          model: modelRef(model),
          model_hash: fileHash(model.source),
          saes: dirs.map((dir) => ({ path: projectPath(dir), cfg_sha256: fileHash(path.join(dir, 'cfg.json')), weights_sha256: fileHash(path.join(dir, 'sae_weights.safetensors')) })),
        },
        ...res,
      };
      fs.writeFileSync(path.join(o.out, 'frontier.json'), JSON.stringify(json, null, 2) + '\n');
      fs.writeFileSync(path.join(o.out, 'frontier.svg'), await frontierSvg(res.rows));
      fs.writeFileSync(path.join(o.out, 'summary.txt'), res.summary.join('\n') + '\n');
      process.stdout.write(res.summary.join('\n') + '\n');
    });
}
