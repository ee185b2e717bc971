// `probity bench`: the six suites (detection, steering, conditional steering, spurious correlation, audit, circuits) on
// one model and its SAEs (and, for circuits, its transcoders), assembled into one results file with its provenance (`suite_wall_s`: seconds per suite). The
// activations of the document pool are collected once and shared. Presets fix every size in one place: `default` is the
// README's main job (its run time is the reference run's provenance.wall_s), `quick` the configuration tests run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Model } from '../models/model.js';
import type { Sae } from '../dictionaries/sae.js';
import { ProbityError, show } from '../errors.js';
import { PACKAGE_ROOT } from '../models/load.js';
import { codeVersion, displayModel, displayPath } from '../util/paths.js';
import { standardMethods } from './methods/index.js';
import { collectConceptActivations, runDetection, DEFAULT_DETECT_CONCEPTS } from './tasks/detect.js';
import { runSteering } from './tasks/steer.js';
import { DEFAULT_STEER_TARGETS, steerTarget } from './tasks/steer-targets.js';
import { CONCEPTS } from '../organism/concepts.js';
import { runConditional, CONDITIONAL_PRESETS, type ConditionalConfig } from './tasks/conditional.js';
import { runSpurious, SPURIOUS_PRESETS, type SpuriousConfig } from './tasks/spurious.js';
import { runAudit, AUDIT_PRESETS, type AuditConfig } from './tasks/audit.js';
import { runCircuits, CIRCUITS_PRESETS, type CircuitsConfig } from './tasks/circuits.js';
import { RESULTS_VERSION, type BenchResults, type Provenance, type ResultRow } from './results.js';

export const SUITES = ['detect', 'steer', 'conditional', 'spurious', 'audit', 'circuits'] as const;
export type Suite = (typeof SUITES)[number];
/** What `probity bench` runs with no --suite. */
export const DEFAULT_SUITES: readonly Suite[] = SUITES;

export interface BenchConfig {
  seeds: number[];
  docsSeed: number;
  trainDocs: number;
  /** Detection's validation documents per split (the best baseline and the recall thresholds are chosen on them). */
  valDocs: number;
  testDocs: number;
  concepts: readonly string[];
  targets: readonly string[];
  /** Steering: the starting strength grid, grown per method on validation until validity falls below
   *  `collapseFloor`, within [minStrength, maxStrength] (tasks/steer.ts). */
  strengths: number[];
  maxStrength: number;
  minStrength: number;
  collapseFloor: number;
  /** Add the geometric midpoint of the interval just below each collapse point (one more strength per method). */
  refine: boolean;
  valPrompts: number;
  valSamples: number;
  testPrompts: number;
  samples: number;
  /** Random-control directions per (seed, target) in steering, and samples per prompt of each. */
  controlDraws: number;
  controlSamples: number;
  /** Methods also steered only at the generating positions (`<method>@gen`). */
  genMethods: readonly string[];
  rejectionN: number;
  /** Token limit of a steered output (null: the target's own, 100). */
  maxTokens: number | null;
  /** Neutral fact documents for the KL drift. */
  neutralDocs: number;
  bootstrapIterations: number;
  /** The conditional-steering suite's sizes (tasks/conditional.ts). */
  conditional: ConditionalConfig;
  /** The spurious-correlation suite's sizes (tasks/spurious.ts). */
  spurious: SpuriousConfig;
  /** The auditing suite's sizes (tasks/audit.ts). */
  audit: AuditConfig;
  /** The attribution-graph suite's sizes (tasks/circuits.ts). */
  circuits: CircuitsConfig;
}

export const BENCH_PRESETS: Record<'default' | 'quick', BenchConfig> = {
  default: {
    seeds: [1, 2, 3], docsSeed: 0, trainDocs: 240, valDocs: 80, testDocs: 160, concepts: DEFAULT_DETECT_CONCEPTS, targets: DEFAULT_STEER_TARGETS,
    // Sized so that all five suites fit in 30 min on 2 cores (the reference run's provenance says how long it took;
    // steering ~2,400 generated outputs per target and seed, most of the time); refine adds ~25% to steering.
    strengths: [0.1, 0.2, 0.4], maxStrength: 3.2, minStrength: 0.0125, collapseFloor: 0.2, refine: false, valPrompts: 16, valSamples: 2, testPrompts: 28, samples: 1,
    controlDraws: 3, controlSamples: 1, genMethods: ['diffmean', 'sae'], rejectionN: 4, maxTokens: null, neutralDocs: 16, bootstrapIterations: 2000,
    conditional: CONDITIONAL_PRESETS.default, spurious: SPURIOUS_PRESETS.default, audit: AUDIT_PRESETS.default, circuits: CIRCUITS_PRESETS.default,
  },
  quick: {
    seeds: [1, 2, 3], docsSeed: 0, trainDocs: 80, valDocs: 40, testDocs: 60,
    concepts: ['tone:happy', 'genre:code', 'code:regex', 'entity:animal', 'question', 'chat:assistant', 'topic:garden', 'world:value'],
    targets: DEFAULT_STEER_TARGETS, strengths: [0.4], maxStrength: 0.8, minStrength: 0.2, collapseFloor: 0.2, refine: false, valPrompts: 2, valSamples: 1, testPrompts: 3, samples: 1,
    controlDraws: 2, controlSamples: 1, genMethods: ['diffmean'], rejectionN: 2, maxTokens: 64, neutralDocs: 4, bootstrapIterations: 500,
    conditional: CONDITIONAL_PRESETS.quick, spurious: SPURIOUS_PRESETS.quick, audit: AUDIT_PRESETS.quick, circuits: CIRCUITS_PRESETS.quick,
  },
};

export interface BenchRunOptions {
  model: Model;
  /** SAEs at the hook; seed i (in config order) uses saes[i % saes.length]. Empty: no SAE methods. */
  saes: readonly Sae[];
  hook: string;
  suites: readonly Suite[];
  config: BenchConfig;
  /** Per-layer MLP transcoders (the circuits suite needs one per layer). */
  transcoders?: readonly { layer: number; sae: Sae; dir: string }[];
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

/**
 * How provenance names a model or SAE it used: a shipped model by its name, a path inside the project relative to its
 * root, any other path as given (displayModel / displayPath; never this machine's absolute path), with its content hash.
 */
export function artefactRef(source: string | undefined, what: 'model' | 'sae'): { source: string; sha256: string | null } {
  if (!source) return { source: `in-memory ${what === 'model' ? 'model' : 'SAE'}`, sha256: null };
  return { source: what === 'model' ? displayModel(source) : displayPath(source), sha256: contentHash(source) };
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
  if (suites.includes('detect') && !(Number.isInteger(c.valDocs) && c.valDocs >= 1)) throw new ProbityError('BENCH_INPUT', `detection needs valDocs >= 1 validation documents, got ${show(c.valDocs)}`);
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
  // Detection splits the pool three ways (train / validation / test); steering reads the first trainDocs + testDocs.
  const poolDocs = c.trainDocs + c.valDocs + c.testDocs;
  say(`collecting activations at ${o.hook} for ${poolDocs} documents`);
  const acts = await collectConceptActivations(o.model, o.hook, { docsSeed: c.docsSeed, nDocs: poolDocs });
  const rows: ResultRow[] = [];
  const out: Partial<BenchResults> = {};
  const notes: string[] = [];

  const suiteWall: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const r = await f();
    suiteWall[name] = (Date.now() - t) / 1000;
    return r;
  };
  suiteWall.activations = (Date.now() - t0) / 1000;
  if (o.suites.includes('detect')) {
    say(`detection: ${c.concepts.length} concepts x ${methods.length} methods x ${c.seeds.length} seeds`);
    const d = await timed('detect', () => runDetection({
      model: o.model, hook: o.hook, sae: saeOf(c.seeds[0]), methodsForSeed, concepts: c.concepts, seeds: c.seeds, trainDocs: c.trainDocs, valDocs: c.valDocs, testDocs: c.testDocs,
      methods, docsSeed: c.docsSeed, activations: acts, bootstrapIterations: c.bootstrapIterations, onProgress: say,
    }));
    rows.push(...d.rows);
    const { rows: _rows, provenance: _prov, ...section } = d;
    out.detect = section;
    notes.push('detection: prompting and rejection sampling are steering baselines; they have no per-token detector score and no detection rows');
  }
  if (o.suites.includes('steer')) {
    const s = await timed('steer', () => runSteering({
      model: o.model, hook: o.hook, targets: c.targets, methods, methodsForSeed, seeds: c.seeds, activations: acts, trainDocs: c.trainDocs, testDocs: c.testDocs,
      strengths: c.strengths, maxStrength: c.maxStrength, minStrength: c.minStrength, collapseFloor: c.collapseFloor, refine: c.refine, maxTokens: c.maxTokens ?? undefined, neutralDocs: c.neutralDocs,
      valPrompts: c.valPrompts, valSamples: c.valSamples, testPrompts: c.testPrompts, samples: c.samples, controlDraws: c.controlDraws, controlSamples: c.controlSamples,
      genMethods: c.genMethods, rejectionN: c.rejectionN,
      bootstrapIterations: c.bootstrapIterations, onProgress: say,
    }));
    rows.push(...s.rows);
    out.steer = s.section;
  }
  const shared = {
    model: o.model, hook: o.hook, saeOf, seeds: c.seeds, activations: acts, trainDocs: c.trainDocs, valDocs: c.valDocs, testDocs: c.testDocs,
    docsSeed: c.docsSeed, bootstrapIterations: c.bootstrapIterations, onProgress: say,
  };
  if (o.suites.includes('conditional')) {
    const s = await timed('conditional', () => runConditional({ ...shared, config: c.conditional }));
    rows.push(...s.rows);
    out.conditional = s.section;
  }
  if (o.suites.includes('spurious')) {
    const s = await timed('spurious', () => runSpurious({ ...shared, config: c.spurious }));
    rows.push(...s.rows);
    out.spurious = s.section;
  }
  if (o.suites.includes('audit')) {
    const s = await timed('audit', () => runAudit({ ...shared, config: c.audit }));
    rows.push(...s.rows);
    out.audit = s.section;
  }
  if (o.suites.includes('circuits')) {
    if (!o.transcoders?.length) throw new ProbityError('BENCH_INPUT', 'the circuits suite needs transcoders (one per layer): pass --transcoders DIR (the organism ships models/organism/transcoders)');
    const s = await timed('circuits', () => runCircuits({ model: o.model, transcoders: o.transcoders!, config: c.circuits, bootstrapIterations: c.bootstrapIterations, onProgress: say }));
    rows.push(...s.rows);
    out.circuits = s.section;
  }

  const provenance: Provenance = {
    probity_version: packageVersion(),
    code_version: codeVersion(),
    command: o.command,
    started,
    finished: new Date().toISOString(),
    wall_s: (Date.now() - t0) / 1000,
    suite_wall_s: suiteWall,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    model: { ...artefactRef(o.model.source, 'model'), arch: o.model.spec.arch, params: o.model.paramCount },
    saes: o.saes.map((sae, i) => ({
      ...artefactRef(sae.source, 'sae'),
      hook: sae.cfg.hookName,
      arch: sae.cfg.architecture,
      d_sae: sae.dSae,
      seed: typeof sae.cfg.metadata?.seed === 'number' ? sae.cfg.metadata.seed : null,
      used_with_seeds: c.seeds.filter((_, j) => j % o.saes.length === i),
    })),
    ...(o.suites.includes('circuits') ? { transcoders: (o.transcoders ?? []).map((t) => ({ ...artefactRef(t.dir, 'sae'), layer: t.layer, arch: t.sae.cfg.architecture, d_sae: t.sae.dSae })) } : {}),
    hook: o.hook,
    seeds: [...c.seeds],
    docs_seed: c.docsSeed,
    config: { ...c, methods: methods.map((m) => m.name) },
  };
  if (o.saes.length === 0) notes.push('no SAE given: the SAE methods are absent');
  else if (o.saes.length < c.seeds.length) notes.push(`${o.saes.length} SAE(s) for ${c.seeds.length} seeds: SAE training-seed variation is only partly in the intervals`);
  return { version: RESULTS_VERSION, suites: [...o.suites], quick: o.quick, rows, ...out, provenance, notes };
}
