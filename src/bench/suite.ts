// `probity bench`: the detection and steering suites on one model and SAE, assembled into one results file with its
// provenance. The activations of the document pool are collected once and shared by both suites. Presets fix every
// size in one place: `default` is the README's main job (< 15 min on 2 cores), `quick` the configuration tests run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { Model } from '../models/model.js';
import type { Sae } from '../dictionaries/sae.js';
import { ProbityError, show } from '../errors.js';
import { PACKAGE_ROOT } from '../models/load.js';
import { standardMethods } from './methods/index.js';
import { collectConceptActivations, runDetection, DEFAULT_DETECT_CONCEPTS } from './tasks/detect.js';
import { runSteering } from './tasks/steer.js';
import { DEFAULT_STEER_TARGETS, steerTarget } from './tasks/steer-targets.js';
import { CONCEPTS } from '../organism/concepts.js';
import { RESULTS_VERSION, type BenchResults, type Provenance, type ResultRow } from './results.js';

export const SUITES = ['detect', 'steer'] as const;
export type Suite = (typeof SUITES)[number];

export interface BenchConfig {
  seeds: number[];
  docsSeed: number;
  trainDocs: number;
  testDocs: number;
  concepts: readonly string[];
  targets: readonly string[];
  strengths: number[];
  valPrompts: number;
  testPrompts: number;
  samples: number;
  rejectionN: number;
  /** Token limit of a steered output (null: the target's own, 100). */
  maxTokens: number | null;
  /** Neutral fact documents for the KL drift. */
  neutralDocs: number;
  bootstrapIterations: number;
}

export const BENCH_PRESETS: Record<'default' | 'quick', BenchConfig> = {
  default: {
    seeds: [1, 2, 3], docsSeed: 0, trainDocs: 240, testDocs: 160, concepts: DEFAULT_DETECT_CONCEPTS, targets: DEFAULT_STEER_TARGETS,
    strengths: [0.05, 0.1, 0.2, 0.4], valPrompts: 12, testPrompts: 24, samples: 2, rejectionN: 4, maxTokens: null, neutralDocs: 16, bootstrapIterations: 2000,
  },
  quick: {
    seeds: [1, 2, 3], docsSeed: 0, trainDocs: 80, testDocs: 60,
    concepts: ['tone:happy', 'genre:code', 'code:regex', 'entity:animal', 'question', 'chat:assistant', 'topic:garden', 'world:value'],
    targets: DEFAULT_STEER_TARGETS, strengths: [0.1, 0.3], valPrompts: 2, testPrompts: 3, samples: 1, rejectionN: 2, maxTokens: 64, neutralDocs: 6, bootstrapIterations: 500,
  },
};

export interface BenchRunOptions {
  model: Model;
  /** SAEs at the hook; seed i (in config order) uses saes[i % saes.length]. Empty: no SAE methods. */
  saes: readonly Sae[];
  hook: string;
  suites: readonly Suite[];
  config: BenchConfig;
  quick: boolean;
  command: string;
  onProgress?: (what: string) => void;
}

/** sha256 of a file, or of a folder's weight files (name + bytes, sorted), or null when neither exists. */
export function contentHash(p: string): string | null {
  if (!fs.existsSync(p)) return null;
  const h = createHash('sha256');
  if (fs.statSync(p).isDirectory()) {
    const files = fs.readdirSync(p).filter((n) => /\.(safetensors|gguf|json)$/.test(n) && !/^(eval|metrics|train_config|machine)\.json$/.test(n)).sort();
    for (const n of files) h.update(n).update('\0').update(fs.readFileSync(path.join(p, n)));
  } else h.update(fs.readFileSync(p));
  return h.digest('hex');
}

function codeVersion(): string | null {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Names and sizes, checked before any model work, so a typo fails in a second, not after minutes of compute. */
export function checkBenchConfig(suites: readonly string[], c: BenchConfig): void {
  if (suites.length === 0) throw new ProbityError('BENCH_INPUT', `no suite given; known: ${SUITES.join(', ')}`);
  for (const s of suites) if (!(SUITES as readonly string[]).includes(s)) throw new ProbityError('BENCH_INPUT', `unknown suite ${show(s)}; known: ${SUITES.join(', ')}`);
  if (suites.includes('steer')) c.targets.forEach(steerTarget);
  for (const k of c.concepts) if (!(CONCEPTS as readonly string[]).includes(k)) throw new ProbityError('BENCH_INPUT', `unknown concept ${show(k)}; known: ${CONCEPTS.join(', ')}`);
  if (c.seeds.length === 0) throw new ProbityError('BENCH_INPUT', 'no seeds given');
  if (c.strengths.some((x) => !(x > 0))) throw new ProbityError('BENCH_INPUT', `steering strengths must be > 0, got ${show(c.strengths)}`);
}

export async function runBench(o: BenchRunOptions): Promise<BenchResults> {
  const t0 = Date.now();
  const started = new Date().toISOString();
  const c = o.config;
  const say = o.onProgress ?? (() => {});
  checkBenchConfig(o.suites, c);
  for (const sae of o.saes) {
    if (sae.cfg.hookName !== o.hook) throw new ProbityError('BENCH_INPUT', `the SAE ${sae.source ?? ''} reads ${sae.cfg.hookName} but the benchmark hook is ${o.hook}`);
  }
  const saeOf = (seed: number) => (o.saes.length ? o.saes[c.seeds.indexOf(seed) % o.saes.length] : undefined);
  const methods = standardMethods(saeOf(c.seeds[0]));
  const methodsForSeed = (seed: number) => standardMethods(saeOf(seed));
  say(`collecting activations at ${o.hook} for ${c.trainDocs + c.testDocs} documents`);
  const acts = await collectConceptActivations(o.model, o.hook, { docsSeed: c.docsSeed, nDocs: c.trainDocs + c.testDocs });
  const rows: ResultRow[] = [];
  const out: Partial<BenchResults> = {};
  const notes: string[] = [];

  if (o.suites.includes('detect')) {
    say(`detection: ${c.concepts.length} concepts x ${methods.length} methods x ${c.seeds.length} seeds`);
    const d = await runDetection({
      model: o.model, hook: o.hook, sae: saeOf(c.seeds[0]), methodsForSeed, concepts: c.concepts, seeds: c.seeds, trainDocs: c.trainDocs, testDocs: c.testDocs,
      methods, docsSeed: c.docsSeed, activations: acts, bootstrapIterations: c.bootstrapIterations,
    });
    rows.push(...d.rows);
    const { rows: _rows, provenance: _prov, ...section } = d;
    out.detect = section;
    notes.push('detection: prompting and rejection sampling are steering baselines; they have no per-token detector score and no detection rows');
  }
  if (o.suites.includes('steer')) {
    const s = await runSteering({
      model: o.model, hook: o.hook, targets: c.targets, methods, methodsForSeed, seeds: c.seeds, activations: acts, trainDocs: c.trainDocs, testDocs: c.testDocs,
      strengths: c.strengths, maxTokens: c.maxTokens ?? undefined, neutralDocs: c.neutralDocs, valPrompts: c.valPrompts, testPrompts: c.testPrompts, samples: c.samples, rejectionN: c.rejectionN,
      bootstrapIterations: c.bootstrapIterations, onProgress: say,
    });
    rows.push(...s.rows);
    out.steer = s.section;
  }

  const provenance: Provenance = {
    probity_version: packageVersion(),
    code_version: codeVersion(),
    command: o.command,
    started,
    finished: new Date().toISOString(),
    wall_s: (Date.now() - t0) / 1000,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    model: { source: o.model.source, sha256: contentHash(o.model.source), arch: o.model.spec.arch, params: o.model.paramCount },
    saes: o.saes.map((sae, i) => ({
      source: sae.source ?? 'in-memory SAE',
      sha256: sae.source ? contentHash(sae.source) : null,
      hook: sae.cfg.hookName,
      arch: sae.cfg.architecture,
      d_sae: sae.dSae,
      seed: typeof sae.cfg.metadata?.seed === 'number' ? sae.cfg.metadata.seed : null,
      used_with_seeds: c.seeds.filter((_, j) => j % o.saes.length === i),
    })),
    hook: o.hook,
    seeds: [...c.seeds],
    docs_seed: c.docsSeed,
    config: { ...c, methods: methods.map((m) => m.name) },
  };
  if (o.saes.length === 0) notes.push('no SAE given: the SAE methods are absent');
  else if (o.saes.length < c.seeds.length) notes.push(`${o.saes.length} SAE(s) for ${c.seeds.length} seeds: SAE training-seed variation is only partly in the intervals`);
  return { version: RESULTS_VERSION, suites: [...o.suites], quick: o.quick, rows, ...out, provenance, notes };
}
