// What a transcoder set's metrics.json holds (the evaluation, every layer's training record, provenance) and the
// README.md written from it: every number in the README is read from metrics.json, nothing is recomputed.
import path from 'node:path';
import type { Model } from '../models/model.js';
import { fileHash } from '../dictionaries/frontier.js';
import { SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME } from '../dictionaries/saelens.js';
import { codeVersion, displayModel, displayPath } from '../util/paths.js';
import type { TranscoderLayer } from './transcoders.js';
import type { Interval, TranscoderEvalResult } from './transcoder-eval.js';

export interface TranscoderMetrics extends TranscoderEvalResult {
  command: string;
  code_version: string | null;
  model: string;
  model_sha256: string;
  set: string;
  transcoders: Record<string, unknown>[];
}

/** metrics.json of a set: provenance, each layer's files and training record, then the evaluation. */
export function transcoderMetrics(model: Model, dir: string, set: readonly TranscoderLayer[], res: TranscoderEvalResult, command: string): TranscoderMetrics {
  return {
    command,
    code_version: codeVersion(),
    model: displayModel(model.source),
    model_sha256: fileHash(model.source),
    set: displayPath(dir),
    transcoders: set.map((l) => {
      const t = l.training ?? {};
      return {
        layer: l.layer, path: displayPath(l.dir), architecture: l.sae.cfg.architecture, width: l.sae.dSae, k: l.sae.cfg.k,
        hook_in: l.sae.cfg.hookName, hook_out: l.sae.cfg.outHookName,
        cfg_sha256: fileHash(path.join(l.dir, SAE_CFG_FILENAME)), weights_sha256: fileHash(path.join(l.dir, SAE_WEIGHTS_FILENAME)),
        tokens_trained: t.tokens_trained, steps: t.steps, training_seconds: t.seconds, recipe: t.recipe, train_documents: t.train_documents,
        training_command: t.command, training_code_version: t.code_version,
      };
    }),
    ...res,
  };
}

const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const ci = (i: Interval, digits = 3) => `[${f(i.lo, digits)}, ${f(i.hi, digits)}]`;

/** README.md for a set folder, from its metrics.json. */
export function transcoderReadme(m: TranscoderMetrics): string {
  const first = m.transcoders[0] ?? {};
  const recipe = (first.recipe ?? {}) as Record<string, unknown>;
  const ev = m.data.eval_documents as { first: number; end: number };
  const lines = [
    `# MLP transcoders for \`${m.model}\``,
    '',
    `One transcoder per layer: reads \`blocks.L.ln2.hook_normalized\`, writes \`blocks.L.hook_mlp_out\` (SAELens layout in \`blocks.L/\`;`,
    'no linear skip connection). Made by `src/circuits/transcoders.ts`; this file is generated from `metrics.json`',
    '(`src/circuits/transcoder-card.ts`).',
    '',
    `- recipe: ${recipe.architecture} width ${recipe.width}${recipe.k !== undefined ? ` k ${recipe.k}` : ''}, ${recipe.tokens} tokens per layer requested, batch ${recipe.batch}, lr ${recipe.lr}, seed ${recipe.seed}`,
    `- training command: \`${first.training_command}\``,
    `- evaluation command: \`${m.command}\` (code ${m.code_version})`,
    `- evaluation: ${m.data.tokens} positions (${m.ce.n_scored} scored in CE) in ${m.data.windows} windows of ${m.data.window} tokens from documents [${ev.first}, ${ev.end}); training read documents from ${recipe.eval_docs} on (checked disjoint)`,
    '',
    '| layer | tokens trained | FVE (95% CI) | MSE / token | L0 | dead | CE spliced alone | CE zero alone | CE score alone (95% CI) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...m.layers.map((l, i) => {
      const t = m.transcoders[i] ?? {};
      return `| ${l.layer} | ${t.tokens_trained} | ${f(l.fve)} ${ci(l.fve_ci)} | ${f(l.mse_per_token, 4)} | ${f(l.l0, 1)} | ${f(l.dead_fraction)} | ${f(l.ce_spliced)} | ${f(l.ce_zero_ablation)} | ${f(l.ce_loss_score)} ${ci(l.ce_loss_score_ci)} |`;
    }),
    '',
    `The MLPs of layers ${m.layers.map((l) => l.layer).join(', ')} replaced at once: CE ${f(m.ce.spliced_all)} against clean ${f(m.ce.clean)} and the same MLPs zero-ablated ${f(m.ce.zero_all)}:`,
    `CE score ${f(m.ce.score_all)} ${ci(m.ce.score_all_ci)} (95% cluster bootstrap over windows, ${m.bootstrap.iterations} replicates).`,
    '',
  ];
  return lines.join('\n');
}
