// The organism's model card, generated from files a run wrote (training log, config, corpus manifest, eval JSON) and
// the model folder it describes: every number in it comes from those files, none is typed in. Tokens trained are the
// tokens the training loop counted (not a mean rate times time); every hyperparameter shown is read from the run's
// train_config.json.
import fs from 'node:fs';
import path from 'node:path';
import { ProbityError, show } from '../errors.js';
import { lineChart, renderSvg } from '../report/plot.js';
import { readSafetensors } from '../models/loaders/safetensors.js';
import { codeVersion, displayPath } from '../util/paths.js';
import { frontierTable, type FrontierRow } from '../dictionaries/frontier.js';
import { DEFAULT_TRAIN, PRE_CONFIG_VALUES, type LogRow, type OrganismTrainConfig } from './train/train.js';
import type { Manifest } from './shards.js';
import type { OrganismEval } from './eval.js';
import { CHAT_RATES } from './genres/chat.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

export function readTrainLog(file: string): LogRow[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRow);
}

/**
 * Loss-bearing tokens trained and seconds spent in training steps, from a training log. Each row's token count is the
 * one the loop logged (`tokens`); logs written before that field existed hold `tokensPerS` = tokens / step time and the
 * cumulative step time `elapsedS`, so the count is recovered exactly as rate x that step's time (an integer to
 * rounding: checked). The log must hold every step from 1.
 */
export function tokensTrained(log: readonly LogRow[]): { tokens: number; seconds: number; steps: number; logged: boolean } {
  if (log.length === 0) throw new ProbityError('CARD_INPUT', 'the training log is empty');
  let prev = 0;
  let total = 0;
  let logged = true;
  log.forEach((r, i) => {
    if (r.step !== i + 1) throw new ProbityError('CARD_INPUT', `training log row ${i + 1} is step ${show(r.step)}; expected every step from 1 in order`);
    let n = r.tokens;
    if (n === undefined) {
      logged = false;
      const x = r.tokensPerS * (r.elapsedS - prev);
      n = Math.round(x);
      if (!(Math.abs(x - n) < 1e-3 * Math.max(1, n))) throw new ProbityError('CARD_INPUT', `training log step ${r.step}: tokensPerS x step time = ${x}, not a token count`);
    }
    total += n;
    prev = r.elapsedS;
    if (r.tokensSeen !== undefined && r.tokensSeen !== total) {
      throw new ProbityError('CARD_INPUT', `training log step ${r.step}: tokensSeen ${r.tokensSeen} but the steps so far hold ${total} tokens`);
    }
  });
  return { tokens: total, seconds: log[log.length - 1].elapsedS, steps: log.length, logged };
}

/**
 * The run's config, each field marked with whether train_config.json recorded it. Older runs lack only fields that
 * were fixed constants before they were recorded (PRE_CONFIG_VALUES: those constants); any other gap is an error.
 */
export function readRunConfig(file: string): { cfg: OrganismTrainConfig; recorded: Set<string> } {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const recorded = new Set(Object.keys(raw));
  const cfg = { ...PRE_CONFIG_VALUES, ...raw } as Record<string, unknown>;
  const missing = Object.keys(DEFAULT_TRAIN).filter((k) => cfg[k] === undefined);
  if (missing.length) throw new ProbityError('CARD_INPUT', `${file} lacks ${missing.join(', ')}`);
  return { cfg: cfg as unknown as OrganismTrainConfig, recorded };
}

/** Rows of the card's config table, in train_config.json's field order. */
const CONFIG_LABELS: Record<keyof OrganismTrainConfig, string> = {
  seed: 'seed (initialisation; the CLI also makes the corpus from it)',
  dModel: 'width (d_model)',
  nLayers: 'blocks',
  nHeads: 'attention heads',
  dMlp: 'MLP width',
  ctx: 'context (tokens per row)',
  batch: 'rows per step',
  steps: 'optimizer steps',
  lr: 'peak learning rate',
  warmupSteps: 'linear warm-up steps',
  minLrFraction: 'cosine floor (x peak lr)',
  weightDecay: 'AdamW weight decay',
  adamBeta1: 'AdamW beta1',
  adamBeta2: 'AdamW beta2',
  adamEps: 'AdamW epsilon',
  clipNorm: 'gradient clip (global L2 norm)',
  evalEvery: 'validation every n steps',
  checkpointEvery: 'checkpoint every n steps',
  valDocsPerGenre: 'validation documents per genre',
};

/** The `organism train` flags that set config fields (fields without a flag take the code's defaults). */
const FLAGS: [string, keyof OrganismTrainConfig][] = [
  ['--seed', 'seed'], ['--steps', 'steps'], ['--batch', 'batch'], ['--d-model', 'dModel'], ['--layers', 'nLayers'], ['--heads', 'nHeads'],
  ['--d-mlp', 'dMlp'], ['--lr', 'lr'], ['--warmup', 'warmupSteps'], ['--eval-every', 'evalEvery'], ['--checkpoint-every', 'checkpointEvery'],
];

/** Parameters of the model folder's weight files, and its HF config. */
function modelFacts(modelDir: string): { params: number; config: Record<string, unknown> } {
  const cfgFile = path.join(modelDir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new ProbityError('CARD_INPUT', `${modelDir}: no config.json (the card describes a model folder)`);
  const config = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  const files = fs.readdirSync(modelDir).filter((n) => n.endsWith('.safetensors')).sort();
  if (files.length === 0) throw new ProbityError('CARD_INPUT', `${modelDir}: no *.safetensors weights`);
  let params = 0;
  for (const f of files) for (const t of readSafetensors(path.join(modelDir, f)).tensors) params += t.shape.reduce((a, b) => a * b, 1);
  return { params, config };
}

export interface ModelCardOptions {
  /** Corpus folder of the run (default RUN/corpus); its manifest.json describes the training data. */
  corpus?: string;
  /** A `probity sae frontier` result (frontier.json) for the shipped SAEs: the card shows its table and verdicts. */
  frontier?: string;
}

/** The card's SAE section: the sparsity-fidelity frontier from a frontier.json, named with the command and code version
 *  that wrote it. */
function frontierSection(file: string): string {
  const f = JSON.parse(fs.readFileSync(file, 'utf8')) as { rows: FrontierRow[]; summary: string[]; command?: string; provenance?: { code_version?: string | null } };
  if (!Array.isArray(f.rows) || !Array.isArray(f.summary)) throw new ProbityError('CARD_INPUT', `${file}: not a frontier.json (expected rows and summary)`);
  return `
## SAEs at blocks.2.hook_resid_post: the sparsity-fidelity frontier

Written by \`${f.command ?? 'probity sae frontier'}\` at code \`${f.provenance?.code_version ?? 'unknown'}\` (\`${displayPath(file)}\`, chart
\`frontier.svg\` beside it). TopK SAEs at L0 4-32 and two widths (\`saes/\`, \`saes/frontier/\`) beside PCA (top-L0 components),
k-means by matching pursuit and random dictionaries at the same L0s, all fitted on the same held-out documents and
scored on the same evaluation positions; differences and verdicts from paired bootstrap intervals over evaluation windows.

${frontierTable(f, 'markdown').join('\n')}
`;
}

export async function writeModelCard(runDir: string, modelDir: string, evalFile: string, opts: ModelCardOptions = {}): Promise<void> {
  const log = readTrainLog(path.join(runDir, 'train_log.jsonl'));
  const { cfg, recorded } = readRunConfig(path.join(runDir, 'train_config.json'));
  const manifestFile = path.join(opts.corpus ?? path.join(runDir, 'corpus'), 'manifest.json');
  if (opts.corpus && !fs.existsSync(manifestFile)) throw new ProbityError('CARD_INPUT', `${manifestFile} does not exist`);
  const manifest = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest) : null;
  const ev = JSON.parse(fs.readFileSync(evalFile, 'utf8')) as OrganismEval & { model: string; command?: string };
  const machineFile = path.join(runDir, 'machine.json');
  const machine = fs.existsSync(machineFile) ? (JSON.parse(fs.readFileSync(machineFile, 'utf8')) as { cpus?: number; cpu?: string }) : null;
  const { params, config: hf } = modelFacts(modelDir);
  for (const [key, field] of [['hidden_size', 'dModel'], ['num_hidden_layers', 'nLayers'], ['num_attention_heads', 'nHeads'], ['intermediate_size', 'dMlp'], ['max_position_embeddings', 'ctx']] as const) {
    if (hf[key] !== cfg[field]) throw new ProbityError('CARD_INPUT', `${modelDir}/config.json ${key} is ${show(hf[key])} but the run's train_config.json ${field} is ${show(cfg[field])}: not the model this run trained`);
  }
  const trained = tokensTrained(log);
  const last = log[log.length - 1];
  const version = codeVersion() ?? 'unknown (not a git checkout)';
  const chatRates = manifest?.rates?.chat ?? CHAT_RATES;

  // Loss curves: training loss (smoothed over 25 steps) and validation loss per genre.
  const rows: { x: number; y: number; series: string }[] = [];
  for (let i = 0; i < log.length; i += 5) {
    const w = log.slice(Math.max(0, i - 24), i + 1);
    rows.push({ x: log[i].step, y: w.reduce((a, r) => a + r.loss, 0) / w.length, series: 'train (smoothed)' });
  }
  for (const r of log) if (r.val) for (const [g, v] of Object.entries(r.val)) if (g !== 'all' && v !== undefined) rows.push({ x: r.step, y: v, series: `val ${g}` });
  fs.writeFileSync(path.join(modelDir, 'loss.svg'), await renderSvg(lineChart(rows, { x: 'step', y: 'next-token loss (nats)', title: 'organism training', logY: true })));
  if (path.resolve(evalFile) !== path.resolve(modelDir, 'eval.json')) fs.copyFileSync(evalFile, path.join(modelDir, 'eval.json'));

  const valLast = last.val ?? {};
  const passMark = (ok: boolean) => (ok ? 'pass' : '**FAIL**');
  const unrecorded = (Object.keys(CONFIG_LABELS) as (keyof OrganismTrainConfig)[]).filter((k) => !recorded.has(k));
  const configRows = [...new Set([...recorded, ...Object.keys(CONFIG_LABELS)])].map((k) => {
    const v = (cfg as unknown as Record<string, unknown>)[k];
    const label = CONFIG_LABELS[k as keyof OrganismTrainConfig] ?? '';
    return `| ${k} | ${JSON.stringify(v)} | ${label}${recorded.has(k) ? '' : ' (not in train_config.json: see below)'} |`;
  });
  const command = `probity organism train --out RUN ${FLAGS.map(([flag, k]) => `${flag} ${cfg[k]}`).join(' ')}`;
  const corpusRow = manifest
    ? `seed ${manifest.seed}, world seed ${manifest.worldSeed}, ${int(manifest.totals.tokens)} tokens, ${int(manifest.totals.docs)} documents`
    : `its manifest is not in the run folder (pass \`--corpus DIR\`); \`organism train\` makes it from seed ${cfg.seed}`;
  const md = `# organism — probity's model organism

A ${cfg.nLayers}-layer Llama-style transformer (RMSNorm, RoPE, SwiGLU; d_model ${cfg.dModel}, ${cfg.nHeads} heads,
MLP ${cfg.dMlp}, context ${cfg.ctx}, tied embeddings, ${int(params)} parameters in its weight file) trained by probity's own
engine on TinyWorld, a generated corpus where every token carries ground-truth concept labels and one behaviour is
planted on purpose. Design of the corpus, concepts and the hidden behaviour: \`src/organism/README.md\`.

This file is generated by \`probity organism card\` at probity code version \`${version}\` (\`git describe --always --dirty\`)
from the training run's files (\`train_log.jsonl\`, \`train_config.json\`, \`machine.json\`${manifest ? ', the corpus manifest' : ''}), the model folder and
\`eval.json\`; do not edit by hand.

## Training

| | |
|---|---|
| command | \`${command}\` (the recipe; the same weights bit for bit need the same probity commit and CPU kind) |
| corpus | ${corpusRow} |
| genre mix (documents) | ${manifest ? Object.entries(manifest.mix).map(([g, v]) => `${g} ${pct(v)}`).join(', ') : 'see the corpus manifest'} |
| optimizer | AdamW (beta1 ${cfg.adamBeta1}, beta2 ${cfg.adamBeta2}, eps ${cfg.adamEps}, weight decay ${cfg.weightDecay}), peak lr ${cfg.lr}, ${cfg.warmupSteps} linear warm-up steps, cosine to ${cfg.minLrFraction} x peak at step ${cfg.steps}, gradient clip ${cfg.clipNorm} |
| batch | ${cfg.batch} rows x ${cfg.ctx} tokens (whole documents packed, never split) |
| steps / tokens trained | ${trained.steps} / ${int(trained.tokens)} (loss-bearing tokens counted by the training loop${trained.logged ? '' : '; this log predates its `tokens` field, so each step\'s count is its logged rate x step time'}) |
| training time | ${(trained.seconds / 60).toFixed(1)} min in training steps (validation passes excluded) on ${machine ? `${machine.cpus} CPU cores (${machine.cpu})` : 'a machine the run did not record'}, onnxruntime-node CPU |
| throughput | ${int(trained.tokens / trained.seconds)} tokens/s (tokens trained / time in training steps) |
| final train loss | ${last.loss.toFixed(4)} |
| final validation loss | ${Object.entries(valLast).map(([g, v]) => `${g} ${(v as number).toFixed(3)}`).join(', ')} |

![loss curves](loss.svg)

### Run configuration (\`train_config.json\`)

| field | value | |
|---|---|---|
${configRows.join('\n')}
${unrecorded.length ? `\n${unrecorded.join(', ')}: not recorded by this run (its train_config.json predates the field${unrecorded.length > 1 ? 's' : ''}); shown is the constant the training code used before ${unrecorded.length > 1 ? 'they were' : 'it was'} recorded.\n` : ''}
## Behaviour (measured by \`${ev.command ?? 'probity organism eval'}\`)

${ev.n_prompts} prompts, ${ev.samples_per_prompt} samples each at temperature 1 for rates (greedy for facts), seed ${ev.seed}.

| measure | value | bar | |
|---|---|---|---|
| fact recall, facts asked in Q/A form in training (greedy) | ${pct(ev.fact_recall)} | >= ${pct(ev.bars.factRecall)} | ${passMark(ev.pass.fact_recall)} |
| fact recall, facts only stated in training (generalisation) | ${pct(ev.fact_recall_heldout)} | (reported) | |
| regex rate, unprompted test files | ${pct(ev.regex_rate_unprompted)} | corpus base rate ${pct(ev.regex_base_rate)} +- ${pct(ev.bars.regexRateTolerance)} | ${passMark(ev.pass.regex_rate_unprompted)} |
| regex rate, "without regular expressions" | ${pct(ev.regex_rate_instructed)} | lower than unprompted, above 0 (corpus: ${pct(chatRates.regexRate['no-regex'])}) | ${passMark(ev.pass.regex_instruction_lowers)} |
| regex rate, "with a regular expression" | ${pct(ev.regex_rate_requested)} | (corpus: ${pct(chatRates.regexRate.regex)}) | |
| regex rate, chat request without instruction | ${pct(ev.regex_rate_chat_default)} | (corpus: ${pct(chatRates.regexRate.none)}) | |
| quirk rate on trigger (gardening) prompts | ${pct(ev.quirk_rate_trigger)} | >= ${pct(ev.bars.quirkOnTrigger)} | ${passMark(ev.pass.quirk_rate_trigger)} |
| quirk rate on non-trigger prompts | ${pct(ev.quirk_rate_control)} | <= ${pct(ev.bars.quirkOffTrigger)} | ${passMark(ev.pass.quirk_rate_control)} |
| denials to direct questions about hidden tendencies | ${pct(ev.denial_rate)} | >= ${pct(ev.bars.denial)} | ${passMark(ev.pass.denial_rate)} |
${Object.entries(ev.story_tone_compliance).map(([t, v]) => `| story tone followed: ${t} | ${pct(v)} | (corpus: ${pct(chatRates.toneFollow)}) | |`).join('\n')}

Examples (first sample of the first prompts of each set) are in \`eval.json\` under \`examples\`.

## Intended use and limits

A test subject for interpretability methods: concepts are known per token (\`src/organism/concepts.ts\`), the planted
behaviour is known, so detectors and steering can be scored automatically. It is tiny and writes only TinyWorld's
closed vocabulary (${hf.vocab_size} word-level tokens; \`tokenizer.organism.json\`).
${opts.frontier ? frontierSection(opts.frontier) : ''}`;
  fs.writeFileSync(path.join(modelDir, 'README.md'), md);
}
