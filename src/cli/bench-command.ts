// `probity bench`: every concept method beside its baselines on ground-truth tasks, written as results.json (flat
// rows + provenance) and a standalone report.html. With no arguments: the organism, its shipped SAEs and transcoders,
// all six suites.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadModel } from '../models/load.js';
import { loadSaeLens, shippedSaes, checkAgainstModel } from '../dictionaries/saelens.js';
import type { Sae } from '../dictionaries/sae.js';
import { ProbityError } from '../errors.js';
import { BENCH_PRESETS, DEFAULT_SUITES, SUITES, checkBenchConfig, runBench, type BenchConfig, type Suite } from '../bench/suite.js';
import { formatDetectTable } from '../bench/tasks/detect.js';
import type { BenchResults } from '../bench/results.js';
import { renderBenchReport } from '../report/bench-report.js';
import { trainBenchSae } from '../bench/train-sae.js';
import { intArg } from './args.js';
import { loadTranscoderSet, ORGANISM_TRANSCODERS } from '../circuits/transcoders.js';

const say = (s = '') => process.stdout.write(s + '\n');

function list(name: string, parse: (s: string) => unknown = (s) => s) {
  return (v: string) => {
    const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (xs.length === 0) throw new ProbityError('CLI_ARG', `--${name} is "${v}", expected a comma-separated list`);
    return xs.map(parse);
  };
}
const intItem = (name: string) => (s: string) => {
  const x = Number(s);
  if (!Number.isInteger(x)) throw new ProbityError('CLI_ARG', `--${name}: "${s}" is not an integer`);
  return x;
};
const posItem = (name: string) => (s: string) => {
  const x = Number(s);
  if (!(x > 0)) throw new ProbityError('CLI_ARG', `--${name}: "${s}" is not a positive number`);
  return x;
};

/** A text summary of the steering rows: targets x methods, test success_valid with its interval. */
function formatSteerTable(r: BenchResults): string {
  const rows = r.rows.filter((x) => x.suite === 'steer');
  const targets = [...new Set(rows.map((x) => x.concept))];
  const methods = [...new Set(rows.map((x) => x.method))];
  const cell = (t: string, m: string, metric: string) => rows.find((x) => x.concept === t && x.method === m && x.metric === metric);
  const lines = [`${'method'.padEnd(16)} ${targets.map((t) => `${t} success&valid [95% CI]  valid  kl`.padEnd(48)).join(' ')}`];
  for (const m of methods) {
    const cells = targets.map((t) => {
      const sv = cell(t, m, 'success_valid');
      const v = cell(t, m, 'valid');
      const kl = cell(t, m, 'kl');
      return (sv ? `${sv.mean.toFixed(2)} [${sv.ci_low.toFixed(2)},${sv.ci_high.toFixed(2)}]  ${v ? v.mean.toFixed(2) : '-'}  ${kl ? kl.mean.toFixed(3) : '-'}` : '-').padEnd(48);
    });
    lines.push(`${m.padEnd(16)} ${cells.join(' ')}`);
  }
  return lines.join('\n');
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('Detection, steering, conditional steering, spurious-correlation removal, auditing, attribution graphs: SAE latents and transcoders vs probe, DiffMean, PCA, k-means, random, prompting, rejection sampling, attribution patching')
    .option('--suite <list>', `suites: ${SUITES.join(',')}`, list('suite'), [...DEFAULT_SUITES])
    .option('--model <ref>', 'model file/folder or shipped name', 'organism')
    .option('--sae <dirs>', "SAELens folder(s), comma-separated; seed i uses the i-th (default: the SAEs shipped with the model at the hook, else one trained during the run; 'none' for no SAE)")
    .option('--sae-tokens <n>', 'training tokens of an SAE trained during the run', intArg('sae-tokens', 4096), 1_000_000)
    .option('--hook <name>', "hook to read and steer at (default: the SAE's hook, else blocks.2.hook_resid_post)")
    .option('--quick', 'the small configuration the tests run (its time: provenance.wall_s of the run)', false)
    .option('--seeds <list>', 'seeds (document split, prompt split, samples)', list('seeds', intItem('seeds')))
    .option('--concepts <list>', 'detection concepts (organism concept names)', list('concepts'))
    .option('--targets <list>', 'steering targets (tone:happy|sad|angry|scared, code:regex)', list('targets'))
    .option('--strengths <list>', 'starting grid of steering strengths (grown per method on validation until validity collapses), in units of the mean activation norm at the hook', list('strengths', posItem('strengths')))
    .option('--transcoders <dir>', 'circuits suite: per-layer MLP transcoders (DIR/blocks.L/; default for the organism: models/organism/transcoders)')
    .option('--out <dir>', 'write results.json, report.html and (circuits) graphs/*.json here', 'runs/bench')
    .action(async (o) => {
      const t0 = Date.now();
      const suites = o.suite as Suite[];
      const base = BENCH_PRESETS[o.quick ? 'quick' : 'default'];
      const config: BenchConfig = {
        ...base,
        seeds: o.seeds ?? base.seeds,
        concepts: o.concepts ?? base.concepts,
        targets: o.targets ?? base.targets,
        strengths: o.strengths ?? base.strengths,
      };
      checkBenchConfig(suites, config);
      const model = await loadModel(o.model);
      const given: string[] | null = o.sae === undefined || o.sae === 'none' ? null : o.sae.split(',').map((x: string) => x.trim()).filter(Boolean);
      let saes: Sae[] = (given ?? (o.sae === 'none' ? [] : shippedSaes(model.source))).map((dir) => {
        const sae = loadSaeLens(dir);
        checkAgainstModel(sae, model);
        return sae;
      });
      const hook: string = o.hook ?? saes[0]?.cfg.hookName ?? 'blocks.2.hook_resid_post';
      // Shipped SAEs at other hooks are left out; SAEs the user named must match (runBench says so otherwise).
      if (!given) saes = saes.filter((s) => s.cfg.hookName === hook);
      if (saes.length === 0 && o.sae !== 'none') {
        const dir = path.join(o.out, 'sae');
        say(`no SAE ships with ${model.source}: training a TopK SAE at ${hook} on ${o.saeTokens} tokens (saved in ${dir})`);
        saes = [await trainBenchSae(model, hook, { tokens: o.saeTokens, seed: 1, out: dir, onProgress: (w) => process.stderr.write(`${w}\n`) })];
      }
      const tdir: string | undefined = o.transcoders ?? (o.model === 'organism' ? ORGANISM_TRANSCODERS : undefined);
      const transcoders = suites.includes('circuits') && tdir ? loadTranscoderSet(tdir) : undefined;
      say(`probity bench: ${suites.join(' + ')} on ${model.source} at ${hook}; SAE ${saes.map((s) => s.source).join(', ') || 'none'}; seeds ${config.seeds.join(',')}${o.quick ? ' (quick)' : ''}`);
      const res = await runBench({
        model, saes, hook, suites, config, quick: o.quick, transcoders,
        command: ['probity', 'bench', ...process.argv.slice(3)].join(' '),
        onProgress: (w) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${w}\n`),
      });
      fs.mkdirSync(o.out, { recursive: true });
      const jsonFile = path.join(o.out, 'results.json');
      fs.writeFileSync(jsonFile, JSON.stringify(res, null, 2) + '\n');
      for (const e of res.circuits?.examples ?? []) {
        fs.mkdirSync(path.join(o.out, 'graphs'), { recursive: true });
        fs.writeFileSync(path.join(o.out, 'graphs', `${e.graph.metadata.slug}.json`), JSON.stringify(e.graph) + '\n');
      }
      const htmlFile = path.join(o.out, 'report.html');
      fs.writeFileSync(htmlFile, await renderBenchReport(res));
      if (res.detect) {
        say('\nconcept detection, token AUROC on test documents (mean over split seeds [95% cluster-bootstrap interval over test documents]):');
        say(formatDetectTable(res.rows.filter((r) => r.suite === 'detect') as Parameters<typeof formatDetectTable>[0], 'auroc'));
      }
      if (res.steer) {
        say('\nsteering, test prompts at the strength chosen on validation prompts:');
        say(formatSteerTable(res));
      }
      if (res.provenance.suite_wall_s) say(`\ntime per part: ${Object.entries(res.provenance.suite_wall_s).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}`);
      say(`wrote ${jsonFile} and ${htmlFile} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    });
}
