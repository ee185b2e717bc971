// `probity sae dashboard-data`: precompute what the dashboard's latent pages show (src/dashboard/data/build.ts), into
// a `dashboard/` folder next to the SAE or under --out. Registered as a subcommand of `sae` (sae-commands.ts stays
// as it is: the shipped reference artefacts name its code).
import path from 'node:path';
import type { Command } from 'commander';
import { commandGroup } from './groups.js';
import { loadModel } from '../models/load.js';
import { loadSae } from '../dictionaries/formats/index.js';
import { checkAgainstModel } from '../dictionaries/saelens.js';
import { buildDashboardData } from '../dashboard/data/build.js';
import { DASHBOARD_DIR, DEFAULT_SETTINGS } from '../dashboard/data/format.js';
import { intArg } from './args.js';
import { progressBar, type Progress } from './progress.js';

export function registerDashboardCommands(program: Command): void {
  const sae = commandGroup(program, 'sae', 'registerDashboardCommands');
  sae
    .command('dashboard-data')
    .description('Precompute the dashboard\'s latent pages for an SAE (contexts per activation quantile, histograms, logit effects, neighbours, concept matches); resumable')
    .requiredOption('--sae <dir>', 'SAE folder (SAELens, sparsify or Gemma Scope)')
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .option('--hook <name>', 'the hook the SAE reads, where its files do not say (Gemma Scope)')
    .option('--tokens <n>', 'scored tokens of held-out documents (whole documents; the organism: the SAE\'s evaluation stream)', intArg('tokens', 1), DEFAULT_SETTINGS.tokens)
    .option('--text <file>', 'documents: lines of a text file (default for the organism: its generated documents)')
    .option('--out <dir>', `output folder (default: <sae>/${DASHBOARD_DIR})`)
    .option('--group-size <n>', 'latents per detail file', intArg('group-size', 1), DEFAULT_SETTINGS.groupSize)
    .option('--seed <s>', 'seed of the quantile-context sampling', intArg('seed', 0), DEFAULT_SETTINGS.seed)
    .action(async (o) => {
      const model = await loadModel(o.model);
      const s = loadSae(o.sae, { hook: o.hook });
      checkAgainstModel(s, model);
      const out = o.out ?? path.join(o.sae, DASHBOARD_DIR);
      const bars: Partial<Record<'tokens' | 'latents', Progress>> = {};
      const index = await buildDashboardData({
        model, sae: s, saeDir: o.sae, out, text: o.text,
        settings: { tokens: o.tokens, groupSize: o.groupSize, seed: o.seed },
        command: `probity ${process.argv.slice(2).join(' ')}`,
        onProgress: (phase, done, total) => {
          if (phase === 'latents' && bars.tokens) {
            bars.tokens.stop();
            delete bars.tokens;
          }
          const bar = (bars[phase] ??= progressBar(phase === 'tokens' ? 'dashboard: documents' : 'dashboard: latents', total, phase));
          bar.update(done);
        },
      });
      for (const b of Object.values(bars)) b.stop();
      if (!index) return;
      const alive = index.density.filter((d) => d > 0).length;
      process.stdout.write(JSON.stringify({ out, latents: index.dSae, alive, tokens: index.tokens, docs: index.docs, source: index.source }, null, 2) + '\n');
    });
}
