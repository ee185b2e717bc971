// `probity run` and `probity inspect`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadModel } from '../models/load.js';
import { readGguf } from '../models/loaders/gguf.js';
import { generate } from '../models/generate.js';
import { createStreamDecoder } from '../models/tokenizers/stream.js';
import { ProbityError } from '../errors.js';
import { intArg, numArg } from './args.js';
import { makeSaeLoader, parseInterventions } from '../serve/interventions.js';

export function registerModelCommands(program: Command): void {
  program
    .command('run')
    .description('Generate a continuation; prints only the continuation on stdout')
    .argument('<model>', 'a GGUF file, a checkpoint folder (config.json + safetensors + tokenizer.json), or a shipped model name')
    .option('--prompt <text>', 'prompt text', '')
    .option('--max-tokens <n>', 'tokens to generate', intArg('max-tokens', 0), 64)
    .option('--temperature <t>', '0 = greedy', numArg('temperature', 0), 1)
    .option('--top-p <p>', 'nucleus sampling mass', numArg('top-p', 0, 1), 1)
    .option('--top-k <k>', 'sample among the k most likely (0 = all)', intArg('top-k', 0), 0)
    .option('--seed <s>', 'random seed', intArg('seed'), 0)
    .option('--intervene <json|@file>', 'interventions as JSON, or @file holding it: the spec of the server\'s `probity` field (README, "Serving")')
    .action(async (ref: string, o) => {
      const model = await loadModel(ref);
      const tok = model.tokenizer;
      const interventions = o.intervene === undefined ? undefined : parseInterventions(interventionArg(o.intervene), { model, loadSae: makeSaeLoader(model) }, '--intervene').map;
      const ids = tok.encode(o.prompt);
      if (ids.length === 0) throw new ProbityError('CLI_ARG', `--prompt is empty and ${ref} adds no BOS token: nothing to continue from`);
      const [g] = await generate(model, [ids], { maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, seed: o.seed, interventions });
      const dec = createStreamDecoder(tok, ids[ids.length - 1]);
      for (const t of g.tokens) process.stdout.write(dec.push(t));
      process.stdout.write(dec.end() + '\n');
      process.stderr.write(`[${g.tokens.length} tokens, finish: ${g.finishReason}]\n`);
    });

  program
    .command('inspect')
    .description('Print architecture, hook names and parameter count')
    .argument('<model>', 'a GGUF file, a checkpoint folder, or a shipped model name')
    .option('--json', 'print JSON')
    .action(async (ref: string, o) => {
      const model = await loadModel(ref);
      // A GGUF file: the tensor types it holds (its header only; tensor bytes are not read again).
      const gguf = /\.gguf$/i.test(ref) && fs.existsSync(ref) ? readGguf(ref, { lazy: true }) : null;
      const tensorTypes = gguf ? { file_type: gguf.fileType ?? null, types: gguf.typeSummary() } : null;
      const info = { source: model.source, spec: model.spec, parameters: model.paramCount, vocab: model.tokenizer.vocabSize, tensor_types: tensorTypes, hooks: model.hookNames };
      if (o.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const s = model.spec;
      const lines = [
        `source      ${model.source}`,
        `arch        ${s.family && s.family !== s.arch ? `${s.family} (${s.arch} block)` : s.arch}  (d_model ${s.dModel}, layers ${s.nLayers}, heads ${s.nHeads}, kv heads ${s.nKvHeads}, d_head ${s.dHead}, d_mlp ${s.dMlp})`,
        `vocab       ${s.vocab}   context ${s.nCtx}   norm eps ${s.normEps}${s.rope ? `   rope ${s.rope.layout} theta ${s.rope.theta}` : ''}   tied ${s.tied}`,
        `parameters  ${model.paramCount.toLocaleString('en-US')}`,
        ...(tensorTypes ? [`tensors     ${tensorTypes.types.map((t) => `${t.type} x${t.tensors}`).join(', ')}${tensorTypes.file_type ? ` (${tensorTypes.file_type})` : ''}`] : []),
        `hooks (${model.hookNames.length}):`,
        ...model.hookNames.map((h) => `  ${h}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** The JSON of --intervene: inline, or `@path` to read it from a file. */
function interventionArg(v: string): unknown {
  let text = v;
  if (v.startsWith('@')) {
    const file = v.slice(1);
    if (!fs.existsSync(file)) throw new ProbityError('CLI_ARG', `--intervene ${v}: no such file ${file}`);
    text = fs.readFileSync(file, 'utf8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProbityError('CLI_ARG', `--intervene${v.startsWith('@') ? ` ${v}` : ''} is not valid JSON: ${(e as Error).message}`);
  }
}
