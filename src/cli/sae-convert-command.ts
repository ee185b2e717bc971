// `probity sae convert`: any SAE format probity reads (sparsify, Gemma Scope, SAELens) written as a SAELens folder,
// so every command that takes an SAE folder (`sae eval`, `sae frontier`, `bench --sae`) can use it. Registered as a
// subcommand of `sae` from its own file (sae-commands.ts is the code of the shipped SAE metrics).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { commandGroup } from './groups.js';
import { loadSae, detectSaeFormat, type SaeFormat } from '../dictionaries/formats/index.js';
import { saveSaeLens, SAE_CFG_FILENAME } from '../dictionaries/saelens.js';
import { ProbityError, show } from '../errors.js';
import { choiceArg } from './args.js';

const FORMATS: readonly SaeFormat[] = ['saelens', 'sparsify', 'gemma-scope'];

export function registerSaeConvertCommand(program: Command): void {
  const sae = commandGroup(program, 'sae', 'registerSaeConvertCommand');
  sae
    .command('convert')
    .description('Write any SAE probity reads (sparsify folder, Gemma Scope params.npz / params.safetensors, SAELens) as a SAELens folder')
    .argument('<path>', 'the SAE folder or weights file')
    .requiredOption('--out <dir>', 'the SAELens folder to write (must not hold an SAE already)')
    .option('--hook <name>', 'the hook it reads (needed when the files do not say: Gemma Scope, sparsify transcoders)')
    .option('--out-hook <name>', 'for a transcoder: the hook its output replaces')
    .option('--format <f>', `skip detection (${FORMATS.join(', ')})`, choiceArg('format', FORMATS))
    .action((src: string, o) => {
      if (fs.existsSync(path.join(o.out, SAE_CFG_FILENAME))) throw new ProbityError('CLI_ARG', `--out ${show(o.out)} already holds an SAE (${SAE_CFG_FILENAME}); choose an empty folder`);
      const format = o.format ?? detectSaeFormat(src).format;
      const s = loadSae(src, { format: o.format, hook: o.hook, outHook: o.outHook });
      saveSaeLens(s, o.out);
      const c = s.cfg;
      process.stdout.write(JSON.stringify({ from: src, format, out: o.out, architecture: c.architecture, d_in: c.dIn, d_sae: c.dSae, hook: c.hookName, out_hook: c.outHookName ?? null }, null, 2) + '\n');
    });
}
