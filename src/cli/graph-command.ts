// `probity graph <model> --prompt "..."`: the attribution graph of one prompt through the model's transcoders (on the
// organism the shipped set in models/organism/transcoders is the default), pruned, scored, checked against the real
// model, written as the circuit-tracer / Neuronpedia graph JSON (and, with --html, a standalone view).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ProbityError, show } from '../errors.js';
import { loadModel } from '../models/load.js';
import { displayPath } from '../util/paths.js';
import { transcoderDictionary } from '../circuits/dictionaries.js';
import { buildGraph, checkSummary } from '../circuits/graph.js';
import { loadTranscoderSet, ORGANISM_TRANSCODERS } from '../circuits/transcoders.js';
import { graphHtml } from '../circuits/html.js';
import { intArg, numArg } from './args.js';

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));

export function registerGraphCommand(program: Command): void {
  program
    .command('graph')
    .description('Attribution graph of one prompt: MLPs replaced by transcoders + error nodes, attention and norms frozen; pruned, scored (replacement / completeness / error share) and checked against interventions on the real model')
    .argument('[model]', 'model file/folder or shipped name', 'organism')
    .requiredOption('--prompt <text>', 'the prompt (the graph explains its next token)')
    .option('--transcoders <dir>', 'transcoder set (DIR/blocks.L/ SAELens folders; default for the organism: models/organism/transcoders)')
    .option('--out <file>', 'write the graph JSON here (circuit-tracer / Neuronpedia schema)', 'graph.json')
    .option('--html <file>', 'also write a standalone HTML view')
    .option('--node-threshold <x>', 'keep nodes up to this cumulative influence', numArg('node-threshold', 0, 1), 0.8)
    .option('--edge-threshold <x>', 'keep edges up to this cumulative influence', numArg('edge-threshold', 0, 1), 0.98)
    .option('--max-logits <n>', 'logit nodes at most', intArg('max-logits', 1), 10)
    .option('--logit-prob <x>', 'logit nodes until this cumulative probability', numArg('logit-prob', 0, 1), 0.95)
    .option('--check <n>', 'feature nodes (and residual / neuron units) checked by intervention on the real model; 0 skips', intArg('check', 0), 10)
    .option('--no-bos', 'do not prepend <bos> (it is prepended when the tokenizer has one)')
    .action(async (ref: string, o) => {
      const model = await loadModel(ref);
      const dir = o.transcoders ?? (ref === 'organism' ? ORGANISM_TRANSCODERS : undefined);
      if (!dir) throw new ProbityError('CLI_ARG', `--transcoders is required for model ${show(ref)} (only the organism ships a set)`);
      const set = loadTranscoderSet(dir);
      const dicts = set.map((t) => transcoderDictionary(model, t.layer, t.sae, displayPath(t.dir)));
      const tokens = model.tokenizer.encode(o.prompt, { bos: o.bos && model.tokenizer.bos !== null });
      if (tokens.length > model.spec.nCtx) throw new ProbityError('CLI_ARG', `--prompt is ${tokens.length} tokens; the model's context is ${model.spec.nCtx}`);
      const built = await buildGraph(model, dicts, tokens, o.prompt, {
        nodeThreshold: o.nodeThreshold, edgeThreshold: o.edgeThreshold, maxLogits: o.maxLogits, logitProb: o.logitProb, checkTopK: o.check,
        slug: path.basename(o.out, '.json'), transcoderNames: dicts.map((d) => d.label),
      });
      const file = built.file;
      fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
      fs.writeFileSync(o.out, JSON.stringify(file) + '\n');
      if (o.html) fs.writeFileSync(o.html, graphHtml(file));
      const s = file.metadata.probity.scores;
      const c = file.metadata.probity.counts;
      const lines = [
        `graph of ${JSON.stringify(o.prompt)} (${c.tokens} tokens) -> ${o.out}${o.html ? ` and ${o.html}` : ''}`,
        `nodes: ${c.active_features} active features, ${c.error_nodes} error nodes, ${c.tokens} tokens, ${c.logits} logits; kept ${c.kept_nodes} nodes, ${c.kept_links} links`,
        `target ${JSON.stringify(model.tokenizer.decode([built.attribution.logits[0].token]))} p=${fmt(built.attribution.logits[0].prob)}`,
        `replacement score ${fmt(s.replacement_score)}, completeness score ${fmt(s.completeness_score)}, error share of influence ${fmt(s.error_influence_share)} (by layer ${s.error_influence_share_by_layer.map(fmt).join(' ')})`,
        `target logit (demeaned ${fmt(s.target_logit_direct.total)}) direct from features ${fmt(s.target_logit_direct.features)}, errors ${fmt(s.target_logit_direct.errors)}, tokens ${fmt(s.target_logit_direct.tokens)}, biases / left-out bos ${fmt(s.target_logit_direct.biases)}`,
        `transcoder FVE on this prompt by layer: ${file.metadata.probity.layer_fve.map(fmt).join(' ')}`,
      ];
      if (built.check) {
        const cs = checkSummary(built.check);
        const r = (a: { n: number; pearson: number; sign_agreement: number }) => `r ${fmt(a.pearson)}, sign ${fmt(a.sign_agreement)} (n ${a.n})`;
        lines.push(
          `intervention check, ${cs.features.graph_pruned.n} feature removals in the real model vs predictions: pruned graph ${r(cs.features.graph_pruned)}; full graph ${r(cs.features.graph_full)}; direct edge ${r(cs.features.graph_direct)}; attribution patching ${r(cs.features.atp)}`,
          `baselines on their own units: residual (layer, position) zeroed, AtP ${r(cs.residual_atp)}; MLP neurons zeroed, AtP ${r(cs.neurons_atp)} (one prompt: see bench --suite circuits for intervals)`,
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
