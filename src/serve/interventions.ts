// The JSON intervention spec: one format for the OpenAI API's `probity` extension field, `probity run --intervene` and
// the dashboard's POST /api/steer. Every field is checked with an error naming its path (e.g.
// `probity.interventions[1].latent`), the value, and what was expected; the result is an InterventionMap for
// Model.forward plus a key (the canonical spec) under which equal specs share batches and parsed maps.
//
// A spec is an array of entries, or `{ "interventions": [...] }`. Each entry:
//   { hook, kind: "add", direction: number[] | {sae, latent}, scale?, positions? }   x + scale * direction
//   { hook, kind: "project_out", direction: number[] | {sae, latent}, positions? }   x - (x.u) u
//   { hook, kind: "clamp", direction: number[] | {sae, latent}, value, positions? }  component along u set to value
//   { hook, kind: "zero", positions? }                                              x * 0
//   { hook?, kind: "clamp_latent", sae, latent, value }                  the latent's contribution set to value
//   { hook?, kind: "conditional_clamp", sae, latent, value, threshold? } the same, only where pre-activation > threshold
// An SAE's decoder row is the direction as it adds to the hook (output scale undone). The two latent clamps are the
// conditional suite's one per-row intervention (src/bench/tasks/conditional/engine.ts): out = x + (value -
// relu(pre)) W_dec[latent] where the trigger fires, and exactly x elsewhere; clamp_latent's trigger always fires.
// `hook` of the SAE kinds defaults to the SAE's own hook and must equal it when given. `positions` are absolute token
// positions (0 = the first prompt token); absent, every position.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Model } from '../models/model.js';
import type { Intervention, InterventionMap } from '../models/hooks/interventions.js';
import { checkHookName } from '../models/hooks/names.js';
import { NDArray } from '../engine/ndarray.js';
import * as op from '../engine/ops/index.js';
import { ProbityError, show } from '../errors.js';
import type { Sae } from '../dictionaries/sae.js';
import { checkAgainstModel, hookWidth, shippedSaes } from '../dictionaries/saelens.js';
import { loadSae } from '../dictionaries/formats/index.js';
import { rowsIntervention, saeDecoderRow, saePreActivation, type RowSpec } from '../bench/tasks/conditional/engine.js';

export type DirectionSpec = number[] | { sae: string; latent: number };
export type InterventionSpec =
  | { hook: string; kind: 'add'; direction: DirectionSpec; scale?: number; positions?: number[] }
  | { hook: string; kind: 'project_out'; direction: DirectionSpec; positions?: number[] }
  | { hook: string; kind: 'clamp'; direction: DirectionSpec; value: number; positions?: number[] }
  | { hook: string; kind: 'zero'; positions?: number[] }
  | { hook?: string; kind: 'clamp_latent'; sae: string; latent: number; value: number }
  | { hook?: string; kind: 'conditional_clamp'; sae: string; latent: number; value: number; threshold?: number };

export const INTERVENTION_KINDS = ['add', 'project_out', 'clamp', 'zero', 'clamp_latent', 'conditional_clamp'] as const;

/** A bad field: `path` is where it sits in the request (the HTTP layer's `param`). */
export class InterventionSpecError extends ProbityError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('INTERVENTION_SPEC', `${path}: ${message}`);
  }
}

export interface InterventionContext {
  model: Model;
  loadSae: (ref: string) => Sae;
}

const FIELDS: Record<(typeof INTERVENTION_KINDS)[number], readonly string[]> = {
  add: ['hook', 'kind', 'direction', 'scale', 'positions'],
  project_out: ['hook', 'kind', 'direction', 'positions'],
  clamp: ['hook', 'kind', 'direction', 'value', 'positions'],
  zero: ['hook', 'kind', 'positions'],
  clamp_latent: ['hook', 'kind', 'sae', 'latent', 'value'],
  conditional_clamp: ['hook', 'kind', 'sae', 'latent', 'value', 'threshold'],
};

/** Parsed maps by model and key: a repeated spec returns the same objects, so Model.forward reuses its graph. */
const parsed = new WeakMap<Model, Map<string, InterventionMap>>();
const PARSED_KEEP = 64;

/** Validate a spec and build its InterventionMap. `where` names the spec in errors (e.g. "--intervene"). */
export function parseInterventions(spec: unknown, ctx: InterventionContext, where: string): { map: InterventionMap; key: string } {
  let list: unknown = spec;
  let base = where;
  if (isObject(spec) && !Array.isArray(spec)) {
    const extra = Object.keys(spec).filter((k) => k !== 'interventions');
    if (extra.length) throw new InterventionSpecError(`${where}.${extra[0]}`, `unknown field; expected { "interventions": [...] }`);
    list = spec.interventions;
    base = `${where}.interventions`;
  }
  if (!Array.isArray(list)) throw new InterventionSpecError(base, `expected an array of interventions (or { "interventions": [...] }), got ${kindOf(list)}`);
  const entries = list.map((e, i) => normalise(e, ctx, `${base}[${i}]`));
  const key = JSON.stringify(entries.map((e) => e.canonical));
  let cache = parsed.get(ctx.model);
  if (!cache) parsed.set(ctx.model, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return { map: hit, key };
  const map: InterventionMap = {};
  for (const e of entries) (map[e.hook] ??= []).push(e.build());
  if (cache.size >= PARSED_KEEP) cache.delete(cache.keys().next().value!);
  cache.set(key, map);
  return { map, key };
}

interface Normalised {
  hook: string;
  /** The entry with SAE refs resolved to the loaded SAE's source: equal canonical forms build equal interventions. */
  canonical: unknown;
  build: () => Intervention;
}

function normalise(e: unknown, ctx: InterventionContext, at: string): Normalised {
  if (!isObject(e) || Array.isArray(e)) throw new InterventionSpecError(at, `expected an object { hook, kind, ... }, got ${kindOf(e)}`);
  const kind = e.kind;
  if (typeof kind !== 'string' || !(INTERVENTION_KINDS as readonly string[]).includes(kind)) {
    throw new InterventionSpecError(`${at}.kind`, `expected one of ${INTERVENTION_KINDS.map((k) => `"${k}"`).join(', ')}, got ${show(kind)}`);
  }
  const k = kind as (typeof INTERVENTION_KINDS)[number];
  const unknown = Object.keys(e).filter((f) => !FIELDS[k].includes(f));
  if (unknown.length) throw new InterventionSpecError(`${at}.${unknown[0]}`, `not a field of "${k}" (its fields: ${FIELDS[k].join(', ')})`);
  const model = ctx.model;

  if (k === 'clamp_latent' || k === 'conditional_clamp') {
    const { sae, ref } = saeField(e.sae, ctx, `${at}.sae`);
    const hook = e.hook === undefined ? sae.cfg.hookName : hookField(e.hook, model, `${at}.hook`);
    if (hook !== sae.cfg.hookName) throw new InterventionSpecError(`${at}.hook`, `${show(hook)} differs from the SAE's hook ${show(sae.cfg.hookName)} (omit it to use the SAE's)`);
    const latent = latentField(e.latent, sae, `${at}.latent`);
    const value = numberField(e.value, `${at}.value`);
    const threshold = k === 'conditional_clamp' ? (e.threshold === undefined ? 0 : numberField(e.threshold, `${at}.threshold`)) : null;
    let pre: { w: Float32Array; c: number };
    try {
      pre = saePreActivation(sae, latent);
    } catch (err) {
      throw new InterventionSpecError(`${at}.sae`, (err as Error).message);
    }
    const d = sae.dIn;
    const row: RowSpec = {
      // clamp_latent fires everywhere (0 . x + 1 > 0); conditional_clamp where pre - threshold > 0.
      trigger: threshold === null ? { w: new Float32Array(d), c: 1 } : { w: pre.w, c: pre.c - threshold },
      pre, value, dvec: saeDecoderRow(sae, latent),
    };
    return { hook, canonical: { hook, kind: k, sae: ref, latent, value, threshold }, build: () => anyBatch(rowsIntervention([row], d), d) };
  }

  const hook = hookField(e.hook, model, `${at}.hook`);
  const width = hookWidth(model.spec, hook);
  const positions = e.positions === undefined ? undefined : positionsField(e.positions, model.spec.nCtx, `${at}.positions`);
  if (k === 'zero') return { hook, canonical: { hook, kind: k, positions: positions ?? null }, build: () => ({ kind: 'zero', positions }) };
  if (width === undefined) throw new InterventionSpecError(`${at}.hook`, `${hook} is an attention-pattern hook; "${k}" needs a per-token vector hook`);
  const { vector, canonical: dirCanon } = directionField(e.direction, ctx, width, hook, `${at}.direction`);
  const direction = new NDArray(vector, [width]); // reshaped to the hook's trailing dims in the graph
  const multi = /\.attn\.hook_(q|rot_q|k|rot_k|v|z)$/.test(hook);
  if (k === 'add') {
    const scale = e.scale === undefined ? 1 : numberField(e.scale, `${at}.scale`);
    return { hook, canonical: { hook, kind: k, direction: dirCanon, scale, positions: positions ?? null }, build: () => ({ kind: 'add', vector: direction, scale, positions }) };
  }
  // Model.forward's clamp / project_out normalise over the last axis: per head at [B, T, H, Dh] hooks, not this vector.
  if (multi) throw new InterventionSpecError(`${at}.hook`, `"${k}" needs a [B, T, D] hook (one vector per token); ${hook} is per head`);
  if (!vector.some((x) => x !== 0)) throw new InterventionSpecError(`${at}.direction`, `is all zeros; "${k}" needs a direction to normalise`);
  if (k === 'project_out') return { hook, canonical: { hook, kind: k, direction: dirCanon, positions: positions ?? null }, build: () => ({ kind: 'project_out', direction, positions }) };
  const value = numberField(e.value, `${at}.value`);
  return { hook, canonical: { hook, kind: k, direction: dirCanon, value, positions: positions ?? null }, build: () => ({ kind: 'clamp', direction, value, positions }) };
}

/**
 * A one-row conditional-engine intervention for any batch: the engine's inputs are [1, 1, .] rows, so the hook's
 * [B, T, d] is viewed as [1, B*T, d]; every operation is per position, so each row computes exactly what it would
 * alone (and a batch of requests with this spec shares one graph).
 */
function anyBatch(iv: Intervention, d: number): Intervention {
  if (iv.kind !== 'graph') throw new ProbityError('INTERNAL', 'rowsIntervention returned a non-graph intervention');
  return { kind: 'graph', key: `serve-rows:${iv.key}`, build: (x, input) => op.reshapeLike(iv.build(op.reshape(x, [1, 'BT', d]), input), x) };
}

function hookField(v: unknown, model: Model, at: string): string {
  if (typeof v !== 'string') throw new InterventionSpecError(at, `expected a hook name (string), got ${kindOf(v)}`);
  try {
    checkHookName(v, model.hookNames);
  } catch (err) {
    throw new InterventionSpecError(at, (err as Error).message);
  }
  return v;
}

function saeField(v: unknown, ctx: InterventionContext, at: string): { sae: Sae; ref: string } {
  if (typeof v !== 'string' || v === '') throw new InterventionSpecError(at, `expected an SAE folder path or shipped SAE name (string), got ${kindOf(v)}`);
  let sae: Sae;
  try {
    sae = ctx.loadSae(v);
    checkAgainstModel(sae, ctx.model);
  } catch (err) {
    throw new InterventionSpecError(at, (err as Error).message);
  }
  return { sae, ref: sae.source ?? v };
}

function latentField(v: unknown, sae: Sae, at: string): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < sae.dSae)) {
    throw new InterventionSpecError(at, `expected an integer latent index in 0 .. ${sae.dSae - 1}, got ${show(v)}`);
  }
  return v;
}

function directionField(v: unknown, ctx: InterventionContext, width: number, hook: string, at: string): { vector: Float32Array; canonical: unknown } {
  if (Array.isArray(v)) {
    if (v.length !== width) throw new InterventionSpecError(at, `expected ${width} numbers (the width of ${hook}), got ${v.length}`);
    const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) throw new InterventionSpecError(`${at}[${bad}]`, `expected a finite number, got ${show(v[bad])}`);
    const vector = Float32Array.from(v as number[]);
    return { vector, canonical: Array.from(vector) };
  }
  if (isObject(v)) {
    const extra = Object.keys(v).filter((f) => f !== 'sae' && f !== 'latent');
    if (extra.length) throw new InterventionSpecError(`${at}.${extra[0]}`, 'unknown field; an SAE direction is { "sae": ..., "latent": ... }');
    const { sae, ref } = saeField(v.sae, ctx, `${at}.sae`);
    if (sae.cfg.outHookName !== undefined ? sae.cfg.outHookName !== hook : sae.cfg.hookName !== hook) {
      throw new InterventionSpecError(`${at}.sae`, `the SAE writes to ${show(sae.cfg.outHookName ?? sae.cfg.hookName)}, not to this entry's hook ${show(hook)}`);
    }
    const latent = latentField(v.latent, sae, `${at}.latent`);
    return { vector: saeDecoderRow(sae, latent), canonical: { sae: ref, latent } };
  }
  throw new InterventionSpecError(at, `expected an array of ${width} numbers or { "sae": ..., "latent": ... }, got ${kindOf(v)}`);
}

function numberField(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InterventionSpecError(at, `expected a finite number, got ${kindOf(v)}`);
  return v;
}

function positionsField(v: unknown, nCtx: number, at: string): number[] {
  if (!Array.isArray(v)) throw new InterventionSpecError(at, `expected an array of token positions, got ${kindOf(v)}`);
  v.forEach((p, i) => {
    if (!(typeof p === 'number' && Number.isInteger(p) && p >= 0 && p < nCtx)) throw new InterventionSpecError(`${at}[${i}]`, `expected an integer position in 0 .. ${nCtx - 1}, got ${show(p)}`);
  });
  return v as number[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? v.slice(0, 60) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * An SAE loader for `parseInterventions`: a ref is a folder (or weights file) in any format `loadSae` reads, a name
 * under `<model folder>/saes/` (e.g. "topk-k32-blocks.2.hook_resid_post", "early/..."), or the folder name of one
 * of `extra` (e.g. the server's --sae folders). Loaded SAEs are kept by absolute path.
 */
export function makeSaeLoader(model: Model, extra: readonly string[] = []): (ref: string) => Sae {
  const cache = new Map<string, Sae>();
  const modelSaes = join(resolve(model.source), 'saes');
  const named = new Map<string, string>();
  for (const p of [...extra, ...shippedSaes(model.source)]) if (!named.has(basename(p))) named.set(basename(p), resolve(p));
  return (ref) => {
    let path: string | undefined;
    if (existsSync(ref)) path = resolve(ref);
    else if (named.has(ref)) path = named.get(ref);
    else if (!ref.includes('..') && existsSync(join(modelSaes, ref))) path = join(modelSaes, ref);
    if (!path) {
      const names = [...named.keys()];
      throw new ProbityError('SAE_FILE_MISSING', `SAE ${show(ref)} is neither a folder nor a known name${names.length ? ` (known: ${names.join(', ')})` : ''}`);
    }
    let sae = cache.get(path);
    if (!sae) cache.set(path, (sae = loadSae(path)));
    return sae;
  };
}
