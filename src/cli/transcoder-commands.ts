// `probity transcoders train | eval`: per-layer MLP transcoders (src/circuits/transcoders.ts), trained one layer after
// the other (resumable; finished layers are skipped), then measured (src/circuits/transcoder-eval.ts) into metrics.json
// and a README.md generated from it.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadModel } from '../models/load.js';
import type { Model } from '../models/model.js';
import { ProbityError } from '../errors.js';
import type { DocumentRange } from '../dictionaries/eval.js';
import { checkAgainstModel } from '../dictionaries/saelens.js';
import {
  checkLayers, DEFAULT_EVAL_DOCS, documentStreamFrom, evalWindows, loadTranscoderSet, organismDocuments, textDocuments, trainTranscoders,
  TRANSCODER_ARCHITECTURES, type DocumentStream, type TranscoderLayer,
} from '../circuits/transcoders.js';
import { evalTranscoders } from '../circuits/transcoder-eval.js';
import { transcoderMetrics, transcoderReadme } from '../circuits/transcoder-card.js';
import { choiceArg, intArg, numArg } from './args.js';
import { progressBar } from './progress.js';

/** --layers 0,1,3 */
function layersArg(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new ProbityError('CLI_ARG', `--layers is "${v}", expected layer numbers separated by commas (e.g. 0,1,2,3)`);
  return parts.map(Number);
}

function streamFor(model: Model, text: string | undefined, seed: number): DocumentStream {
  if (text) return textDocuments(model, text);
  if (!fs.existsSync(path.join(model.source, 'tokenizer.organism.json'))) {
    throw new ProbityError('CLI_ARG', `--text FILE is required for ${model.source}: only the organism can generate its own documents`);
  }
  return organismDocuments(seed);
}

const command = () => `probity ${process.argv.slice(2).join(' ')}`;

interface EvalCli {
  tokens: number;
  seed: number;
  out?: string;
  readme?: string;
}

/** Evaluate a loaded set on the held-out head of the document stream it was trained on; write metrics (+ README). */
async function evaluateSet(model: Model, dir: string, set: TranscoderLayer[], o: EvalCli) {
  const recipes = set.map((l) => {
    if (!l.training) throw new ProbityError('TRANSCODER_SET', `${l.dir}: no training.json, so the documents it was trained on (and those held out) are unknown`);
    return l.training.recipe as { data: Record<string, unknown>; eval_docs: number };
  });
  const key = (r: (typeof recipes)[number]) => JSON.stringify([r.data, r.eval_docs]);
  const odd = recipes.findIndex((r) => key(r) !== key(recipes[0]));
  if (odd >= 0) throw new ProbityError('TRANSCODER_SET', `${set[odd].dir}: trained on ${key(recipes[odd])}, but ${set[0].dir} on ${key(recipes[0])}; a set is evaluated on one held-out document range`);
  for (const l of set) {
    checkLayers(model, [l.layer]);
    checkAgainstModel(l.sae, model);
  }
  const stream = documentStreamFrom(recipes[0].data, model);
  const bar = progressBar('eval', o.tokens, 'tokens');
  const res = await evalTranscoders(model, set, {
    windows: evalWindows(stream, recipes[0].eval_docs),
    tokens: o.tokens,
    seed: o.seed,
    trainDocuments: set.map((l) => ({ layer: l.layer, range: l.training!.train_documents as DocumentRange })),
    onProgress: (d) => bar.update(d),
  }).catch((e) => {
    if (e instanceof ProbityError && e.code === 'TRANSCODER_DATA' && /reserved for evaluation/.test(e.message)) {
      throw new ProbityError('CLI_ARG', `--tokens ${o.tokens}: ${e.message} (${recipes[0].eval_docs} documents were held out at training)`);
    }
    throw e;
  });
  bar.stop();
  const metrics = transcoderMetrics(model, dir, set, res, command());
  if (o.out) fs.writeFileSync(o.out, JSON.stringify(metrics, null, 2) + '\n');
  if (o.readme) fs.writeFileSync(o.readme, transcoderReadme(metrics));
  return metrics;
}

function summary(m: Awaited<ReturnType<typeof evaluateSet>>) {
  return {
    layers: m.layers.map((l) => ({ layer: l.layer, fve: l.fve, l0: l.l0, ce_loss_score: l.ce_loss_score })),
    all_replaced: m.ce,
  };
}

export function registerTranscoderCommands(program: Command): void {
  const tc = program.command('transcoders').description('Per-layer MLP transcoders (blocks.L.ln2.hook_normalized -> blocks.L.hook_mlp_out): train, evaluate');

  tc.command('train')
    .description('Train one transcoder per layer (resumable; finished layers are skipped), then evaluate the set into DIR/metrics.json and DIR/README.md')
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .requiredOption('--out <dir>', 'output folder: blocks.L/{cfg.json, sae_weights.safetensors, training.json}, metrics.json, README.md')
    .option('--layers <list>', 'layers, comma-separated (default: all)', layersArg)
    .option('--arch <name>', `architecture: ${TRANSCODER_ARCHITECTURES.join(', ')}`, choiceArg('arch', TRANSCODER_ARCHITECTURES), 'topk')
    .option('--k <n>', 'topk: active latents per token', intArg('k', 1), 16)
    .option('--width <n>', 'latents per transcoder', intArg('width', 1), 1536)
    .option('--sparsity <x>', 'jumprelu: L0 coefficient', numArg('sparsity', 0), 5)
    .option('--tokens <n>', 'training tokens per layer', intArg('tokens', 1), 2_000_000)
    .option('--batch <n>', 'tokens per step', intArg('batch', 1), 4096)
    .option('--lr <x>', 'peak learning rate', numArg('lr', 0), 1e-3)
    .option('--seed <s>', 'seed (documents, shuffle, init)', intArg('seed', 0), 1)
    .option('--text <file>', 'documents: lines of a text file (default for the organism: its generated documents)')
    .option('--eval-docs <n>', 'documents at the head of the stream held out for evaluation', intArg('eval-docs', 1), DEFAULT_EVAL_DOCS)
    .option('--eval-tokens <n>', 'tokens for the evaluation', intArg('eval-tokens', 1), 40_000)
    .action(async (o) => {
      const model = await loadModel(o.model);
      if (o.layers) checkLayers(model, o.layers);
      if (o.arch === 'topk' && o.k > o.width) throw new ProbityError('CLI_ARG', `--k ${o.k} is larger than --width ${o.width}`);
      const stream = streamFor(model, o.text, o.seed);
      const steps = Math.ceil(o.tokens / o.batch);
      let bar = progressBar('train', steps, 'steps');
      const set = await trainTranscoders(model, {
        out: o.out, stream, evalDocs: o.evalDocs, layers: o.layers, architecture: o.arch, width: o.width, k: o.k, sparsity: o.sparsity,
        tokens: o.tokens, batch: o.batch, lr: o.lr, seed: o.seed, command: command(),
        onLayer: (layer, what) => {
          process.stderr.write(`transcoders: layer ${layer} ${what}\n`);
          if (what === 'started' || what === 'resumed') bar = progressBar(`train blocks.${layer}`, steps, 'steps');
          if (what === 'finished') bar.stop();
        },
        onProgress: (_layer, p) => bar.update(p.step, { loss: p.loss.toFixed(3), fve: (p.metrics.fve ?? NaN).toFixed(3), 'tok/s': Math.round(p.tokensPerSec) }),
      });
      const m = await evaluateSet(model, o.out, set, { tokens: o.evalTokens, seed: o.seed, out: path.join(o.out, 'metrics.json'), readme: path.join(o.out, 'README.md') });
      process.stdout.write(JSON.stringify({ out: o.out, ...summary(m) }, null, 2) + '\n');
    });

  tc.command('eval')
    .description('Evaluate a transcoder set on the documents held out at its training: per-layer FVE / MSE / L0 / dead, CE with each MLP and all MLPs replaced')
    .argument('<dir>', 'set folder (blocks.L/ folders from `probity transcoders train`)')
    .option('--model <ref>', 'model file/folder or shipped name (default: the one the set was trained on)')
    .option('--tokens <n>', 'evaluation tokens (window positions except 0 and <bos>)', intArg('tokens', 1), 40_000)
    .option('--seed <s>', 'bootstrap seed (the windows are the held-out documents of the training stream)', intArg('seed', 0), 1)
    .option('--out <file>', 'write metrics JSON here')
    .option('--readme <file>', 'write a README generated from the metrics here')
    .action(async (dir: string, o) => {
      const set = loadTranscoderSet(dir);
      const ref = o.model ?? set[0].training?.model;
      if (typeof ref !== 'string') throw new ProbityError('CLI_ARG', `${set[0].dir}: no model recorded in training.json; pass --model`);
      const model = await loadModel(ref);
      const m = await evaluateSet(model, dir, set, { tokens: o.tokens, seed: o.seed, out: o.out, readme: o.readme });
      process.stdout.write(JSON.stringify(o.out ? summary(m) : m, null, 2) + '\n');
    });
}
