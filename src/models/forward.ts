// The block builder of each architecture, chosen by spec.arch (one table, so a new architecture is one entry).
import type { BuildContext } from './common/context.js';
import type { TransformerSpec } from './spec.js';
import { buildLlama } from './llama/build.js';
import { buildGpt2 } from './gpt2/build.js';
import { buildGptNeox } from './gptneox/build.js';
import { buildGemma } from './gemma/build.js';

export const BUILDERS: { [A in TransformerSpec['arch']]: (ctx: BuildContext) => void } = {
  llama: buildLlama,
  gpt2: buildGpt2,
  gptneox: buildGptNeox,
  gemma: buildGemma,
};

/** Builds the forward graph of ctx.spec into ctx. */
export function buildForward(ctx: BuildContext): void {
  BUILDERS[ctx.spec.arch](ctx);
}
