// SAELens's on-disk layout: a folder with cfg.json and sae_weights.safetensors.
//   Tensors: W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in|d_out], b_dec [d_in|d_out]; jumprelu adds
//   threshold [d_sae]; gated has no b_enc but b_gate, r_mag, b_mag [d_sae] with W_enc shared by the gate and magnitude
//   paths (read from sae_lens/saes/gated_sae.py: pi_gate = x W_enc + b_gate, pi_mag = x (W_enc * exp(r_mag)) + b_mag).
//   cfg.json: SAELens < 6 wrote everything top level (hook_name or hook_point, activation_fn_str, activation_fn_kwargs
//   {k}, ...); 6.x keeps d_in/d_sae/architecture/k top level and moves model_name, hook_name, hook_layer, context_size,
//   prepend_bos, dataset_path into "metadata" (or "meta" in some 6.x releases). We read all of these.
// Writing: the pre-6 top-level layout (which SAELens 6 converts on load through handle_pre_6_0_config), plus k for
// TopK, plus a "probity" block SAELens ignores (exact architecture, training hyperparameters, metadata) so that a
// probity round trip restores the same SaeConfig. BatchTopK is written as "jumprelu" (as SAELens does) with the
// probity block remembering "batchtopk". Transcoders: SAELens's "transcoder" (ReLU) and "jumprelu_transcoder" names
// with d_out / hook_name_out / hook_layer_out; TopK or gated transcoders have no SAELens name and keep ours.
// Input scales are folded into the weights before writing, so normalize_activations is always "none" on disk.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProbityError, show } from '../errors.js';
import { displayModel, displayPath } from '../util/paths.js';
import { readSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsTensorInput } from '../models/loaders/safetensors.js';
import { checkHookName } from '../models/hooks/names.js';
import type { TransformerSpec } from '../models/spec.js';
import { normalizeConfig, Sae, type SaeConfigInput } from './sae.js';
import { getArchitecture } from './architectures/registry.js';
import type { ArchitectureName, SaeConfig } from './architectures/types.js';

export const SAE_CFG_FILENAME = 'cfg.json';
export const SAE_WEIGHTS_FILENAME = 'sae_weights.safetensors';

/** SAELens metadata keys (SAEMetadata in 6.x, top-level fields before). */
const META_KEYS = [
  'model_name', 'hook_layer', 'hook_head_index', 'model_class_name', 'model_from_pretrained_kwargs', 'prepend_bos',
  'exclude_special_tokens', 'neuronpedia_id', 'context_size', 'seqpos_slice', 'dataset_path', 'sae_lens_version',
  'sae_lens_training_version',
] as const;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** SAELens's name for our architecture, given whether it is a transcoder. */
function saeLensArchitecture(sae: Sae): string {
  const base = sae.arch.saeLensArchitecture;
  if (!sae.isTranscoder) return base;
  if (base === 'standard') return 'transcoder';
  if (base === 'jumprelu') return 'jumprelu_transcoder';
  return base;
}

// ---- reading --------------------------------------------------------------------------------------------------------

/** Load a SAELens SAE folder (cfg.json + sae_weights.safetensors). */
export function loadSaeLens(dir: string): Sae {
  const cfgPath = join(dir, SAE_CFG_FILENAME);
  const weightsPath = join(dir, SAE_WEIGHTS_FILENAME);
  for (const [p, what] of [[cfgPath, 'cfg.json'], [weightsPath, 'sae_weights.safetensors']]) {
    if (!existsSync(p)) throw new ProbityError('SAE_FILE_MISSING', `${dir}: no ${what} (a SAELens SAE folder holds ${SAE_CFG_FILENAME} and ${SAE_WEIGHTS_FILENAME})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new ProbityError('SAE_BAD_CONFIG', `${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(raw)) throw new ProbityError('SAE_BAD_CONFIG', `${cfgPath}: expected a JSON object, got ${show(raw)}`);
  const cfg = configFromSaeLens(raw, cfgPath);
  const file = readSafetensors(weightsPath);
  return new Sae(cfg, paramsFromSaeLens(file, cfg, raw, weightsPath), dir);
}

/** A field from the top level, or from "metadata" / "meta" (SAELens 6.x). */
function field(raw: Json, name: string): unknown {
  if (raw[name] !== undefined && raw[name] !== null) return raw[name];
  for (const box of ['metadata', 'meta']) {
    const m = raw[box];
    if (isObj(m) && m[name] !== undefined && m[name] !== null) return m[name];
  }
  return undefined;
}

/** SaeConfig from a cfg.json object; errors name the file, the field and its value. */
export function configFromSaeLens(raw: Json, cfgPath = SAE_CFG_FILENAME): SaeConfig {
  const bad = (name: string, value: unknown, want: string, code = 'SAE_BAD_CONFIG'): never => {
    throw new ProbityError(code, `${cfgPath}: field "${name}" is ${value === undefined ? 'missing' : show(value)}, expected ${want}`);
  };
  const probity = isObj(raw.probity) ? raw.probity : undefined;
  const posInt = (name: string, v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(name, v, 'a positive integer'));

  const archField = raw.architecture ?? 'standard';
  const act = raw.activation_fn ?? raw.activation_fn_str;
  const arches: Record<string, ArchitectureName> = {
    standard: act === 'topk' ? 'topk' : 'standard',
    transcoder: 'standard',
    topk: 'topk',
    batchtopk: 'batchtopk',
    jumprelu: 'jumprelu',
    jumprelu_transcoder: 'jumprelu',
    gated: 'gated',
  };
  if (typeof archField !== 'string' || !Object.hasOwn(arches, archField)) {
    bad('architecture', archField, `one of ${Object.keys(arches).join(', ')}`, 'SAE_ARCHITECTURE_UNKNOWN');
  }
  let architecture = arches[archField as string];
  if (act !== undefined && act !== 'relu' && act !== 'topk' && architecture !== 'topk') bad('activation_fn', act, '"relu" or "topk"', 'SAE_UNSUPPORTED');
  if (probity?.architecture !== undefined) {
    const pa = probity.architecture;
    if (typeof pa !== 'string' || !Object.values(arches).includes(pa as ArchitectureName)) bad('probity.architecture', pa, 'a probity architecture', 'SAE_ARCHITECTURE_UNKNOWN');
    architecture = pa as ArchitectureName;
  }

  const dIn = posInt('d_in', raw.d_in);
  const dSae = posInt('d_sae', raw.d_sae);
  const dOut = raw.d_out === undefined || raw.d_out === null ? dIn : posInt('d_out', raw.d_out);
  const hookName = field(raw, 'hook_name') ?? field(raw, 'hook_point');
  if (typeof hookName !== 'string' || hookName === '') bad('hook_name', hookName, 'a hook name string');
  const outHook = field(raw, 'hook_name_out') ?? probity?.outHookName;
  if (outHook !== undefined && typeof outHook !== 'string') bad('hook_name_out', outHook, 'a hook name string');

  const transcoderArch = archField === 'transcoder' || archField === 'jumprelu_transcoder';
  let applyBDecToInput = raw.apply_b_dec_to_input ?? true;
  if (typeof applyBDecToInput !== 'boolean') bad('apply_b_dec_to_input', applyBDecToInput, 'true or false');
  // SAELens's transcoders never subtract b_dec (it lives in the output space).
  if (transcoderArch || dOut !== dIn) applyBDecToInput = false;

  let inputScale = 1;
  const norm = raw.normalize_activations;
  const metadata: Record<string, unknown> = {};
  if (norm === true || norm === 'expected_average_only_in') {
    // The factor is not part of SAELens's cfg.json (it lives in its pretrained-SAE directory); use it when given.
    const f = raw.norm_scaling_factor ?? raw.scaling_factor;
    if (typeof f === 'number' && f > 0) inputScale = f;
    else metadata.unfolded_normalization = 'expected_average_only_in';
  } else if (!(norm === undefined || norm === null || norm === false || norm === 'none')) {
    bad('normalize_activations', norm, '"none" or "expected_average_only_in" (per-token normalisations are not supported)', 'SAE_UNSUPPORTED');
  }
  if (raw.finetuning_scaling_factor === true) bad('finetuning_scaling_factor', true, 'false', 'SAE_UNSUPPORTED');

  let k: number | undefined;
  if (architecture === 'topk' || architecture === 'batchtopk') {
    const kw = raw.activation_fn_kwargs;
    const kv = raw.k ?? probity?.k ?? (isObj(kw) ? kw.k : undefined);
    k = posInt(raw.k !== undefined ? 'k' : 'activation_fn_kwargs.k', kv);
  }

  const num = (name: string, v: unknown): number | undefined => (v === undefined || v === null ? undefined : typeof v === 'number' && Number.isFinite(v) ? v : bad(name, v, 'a number'));
  const cfg: SaeConfigInput = {
    architecture,
    dIn,
    dSae,
    dOut,
    k,
    sparsityCoefficient: num('probity.sparsityCoefficient', probity?.sparsityCoefficient ?? raw.l1_coefficient ?? raw.l0_coefficient),
    bandwidth: num('probity.bandwidth', probity?.bandwidth ?? raw.jumprelu_bandwidth),
    initThreshold: num('probity.initThreshold', probity?.initThreshold ?? raw.jumprelu_init_threshold),
    auxK: num('probity.auxK', probity?.auxK),
    auxKCoefficient: num('probity.auxKCoefficient', probity?.auxKCoefficient ?? raw.aux_loss_coefficient),
    topkSelection: probity?.topkSelection as SaeConfigInput['topkSelection'], // checked by normalizeConfig
    topkCandidates: num('probity.topkCandidates', probity?.topkCandidates),
    applyBDecToInput: applyBDecToInput as boolean,
    inputScale,
    hookName: hookName as string,
    outHookName: outHook as string | undefined,
  };
  if (probity) {
    // Written by probity: the metadata block is exactly what the SAE carried (top-level fields are derived from it).
    if (probity.metadata !== undefined && !isObj(probity.metadata)) bad('probity.metadata', probity.metadata, 'an object');
    if (probity.metadata) cfg.metadata = { ...(probity.metadata as Json) };
  } else {
    for (const key of META_KEYS) {
      const v = field(raw, key);
      if (v !== undefined) metadata[key] = v;
    }
    if (Object.keys(metadata).length) cfg.metadata = metadata;
  }
  try {
    return normalizeConfig(cfg);
  } catch (e) {
    if (e instanceof ProbityError) throw new ProbityError(e.code, `${cfgPath}: ${e.message}`);
    throw e;
  }
}

/** Name a shape symbolically from the config ([d_in, d_sae] ...). */
function symbolic(dims: number[], cfg: SaeConfig): string {
  const name = (d: number) => (d === cfg.dSae ? 'd_sae' : d === cfg.dIn ? 'd_in' : d === cfg.dOut ? 'd_out' : String(d));
  return `[${dims.map(name).join(', ')}] = ${show(dims)}`;
}

function paramsFromSaeLens(file: SafetensorsFile, cfg: SaeConfig, raw: Json, weightsPath: string): Record<string, Float32Array> {
  const arch = getArchitecture(cfg.architecture);
  const params: Record<string, Float32Array> = {};
  const dimsNote = `cfg.json d_in = ${cfg.dIn}, d_sae = ${cfg.dSae}${cfg.dOut !== cfg.dIn ? `, d_out = ${cfg.dOut}` : ''}`;
  for (const spec of arch.params(cfg)) {
    const m = arch.saeLens[spec.name];
    if (!m) throw new ProbityError('INTERNAL', `architecture ${arch.name} has no SAELens name for ${spec.name}`);
    const want = m.transpose ? [spec.dims[1], spec.dims[0]] : spec.dims;
    let name = m.name;
    let exp = m.exp ?? false;
    if (!file.has(name)) {
      // Tolerated alternatives: training checkpoints keep log_threshold; BatchTopK training keeps a scalar topk_threshold.
      if (name === 'threshold' && exp && file.has('log_threshold')) {
        name = 'log_threshold';
        exp = false;
      } else if (name === 'threshold' && file.has('topk_threshold')) {
        const t = file.float32('topk_threshold');
        if (t.length !== 1) throw new ProbityError('SAE_TENSOR_SHAPE', `${weightsPath}: tensor "topk_threshold" has ${t.length} values, expected a scalar`);
        params[spec.name] = new Float32Array(cfg.dSae).fill(t[0]);
        continue;
      } else {
        throw new ProbityError(
          'SAE_TENSOR_MISSING',
          `${weightsPath}: missing tensor "${name}" required by a ${raw.architecture ?? 'standard'} SAE (${SAE_CFG_FILENAME} architecture ${show(raw.architecture ?? 'standard')}); the file has ${show(file.names())}`,
        );
      }
    }
    const info = file.info(name);
    const n = want.reduce((a, b) => a * b, 1);
    // A [d_sae] vector may be stored as [1, d_sae]; anything else must match exactly.
    const sameShape = info.shape.length === want.length && info.shape.every((d, i) => d === want[i]);
    const vectorOk = want.length === 1 && info.shape.reduce((a, b) => a * b, 1) === n && info.shape.filter((d) => d !== 1).length <= 1;
    if (!sameShape && !vectorOk) {
      throw new ProbityError('SAE_TENSOR_SHAPE', `${weightsPath}: tensor "${name}" has shape ${show(info.shape)}, expected ${symbolic(want, cfg)} (${dimsNote})`);
    }
    let v: Float32Array = Float32Array.from(file.float32(name));
    if (m.transpose) v = transpose(v, want[0], want[1]);
    if (exp) {
      for (let i = 0; i < v.length; i++) {
        if (!(v[i] > 0)) throw new ProbityError('SAE_TENSOR_VALUE', `${weightsPath}: tensor "${name}" entry ${i} is ${v[i]}; a ${arch.name} threshold must be > 0`);
        v[i] = Math.log(v[i]);
      }
    }
    params[spec.name] = v;
  }
  if (file.has('scaling_factor')) {
    const s = file.float32('scaling_factor');
    if (s.some((x) => x !== 1)) throw new ProbityError('SAE_UNSUPPORTED', `${weightsPath}: tensor "scaling_factor" is not all ones (finetuning scaling factors are not supported)`);
  }
  return params;
}

// ---- writing --------------------------------------------------------------------------------------------------------

function hookLayer(name: string | undefined): number | null {
  const m = name ? /^blocks\.(\d+)\./.exec(name) : null;
  return m ? Number(m[1]) : null;
}

/** Metadata fields that name a model or files (written as displayModel / displayPath: no machine's absolute paths). */
const PATH_META_KEYS = ['model', 'model_name', 'dataset_path'] as const;

/** The SAELens cfg.json object for an SAE (scales must already be folded). */
export function configToSaeLens(sae: Sae): Json {
  const c = sae.cfg;
  const written = c.metadata ? { ...c.metadata } : undefined;
  for (const key of PATH_META_KEYS) {
    if (written && typeof written[key] === 'string') written[key] = key === 'dataset_path' ? displayPath(written[key] as string) : displayModel(written[key] as string);
  }
  const meta = written ?? {};
  const isTopK = c.architecture === 'topk';
  const out: Json = {
    architecture: saeLensArchitecture(sae),
    d_in: c.dIn,
    d_sae: c.dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: c.applyBDecToInput,
    normalize_activations: 'none',
    reshape_activations: c.hookName.endsWith('hook_z') ? 'hook_z' : 'none',
    finetuning_scaling_factor: false,
    model_name: meta.model_name ?? null,
    hook_name: c.hookName,
    hook_layer: meta.hook_layer ?? hookLayer(c.hookName),
    hook_head_index: meta.hook_head_index ?? null,
    context_size: meta.context_size ?? null,
    prepend_bos: meta.prepend_bos ?? true,
    dataset_path: meta.dataset_path ?? null,
    dataset_trust_remote_code: true,
    model_from_pretrained_kwargs: meta.model_from_pretrained_kwargs ?? {},
    sae_lens_training_version: null,
    activation_fn: isTopK ? 'topk' : 'relu',
    activation_fn_str: isTopK ? 'topk' : 'relu',
    activation_fn_kwargs: isTopK ? { k: c.k } : {},
  };
  if (isTopK) out.k = c.k;
  if (sae.isTranscoder) {
    out.d_out = c.dOut;
    out.hook_name_out = c.outHookName ?? null;
    out.hook_layer_out = hookLayer(c.outHookName);
    out.hook_head_index_out = null;
  }
  const probity: Json = { architecture: c.architecture };
  for (const key of ['k', 'sparsityCoefficient', 'bandwidth', 'initThreshold', 'auxK', 'auxKCoefficient', 'topkSelection', 'topkCandidates', 'outHookName'] as const) {
    if (c[key] !== undefined) probity[key] = c[key];
  }
  if (written !== undefined) probity.metadata = written;
  out.probity = probity;
  return out;
}

/** SAELens tensors (name -> F32 tensor) for an SAE (scales must already be folded). */
export function tensorsToSaeLens(sae: Sae): Record<string, SafetensorsTensorInput> {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const spec of sae.specs) {
    const m = sae.arch.saeLens[spec.name];
    let v = sae.params[spec.name];
    let shape = spec.dims;
    if (m.transpose) {
      v = transpose(v, spec.dims[0], spec.dims[1]);
      shape = [spec.dims[1], spec.dims[0]];
    }
    if (m.exp) v = Float32Array.from(v, (x) => Math.exp(x));
    tensors[m.name] = { dtype: 'F32', shape, data: v };
  }
  return tensors;
}

/**
 * Write an SAE in SAELens's layout (folding any input/output scale into the weights first). Files are written under
 * temporary names and renamed into place.
 */
export function saveSaeLens(sae: Sae, dir: string): void {
  const s = sae.cfg.inputScale !== 1 || (sae.cfg.outputScale ?? 1) !== 1 ? sae.foldScale() : sae;
  mkdirSync(dir, { recursive: true });
  const w = join(dir, SAE_WEIGHTS_FILENAME);
  const c = join(dir, SAE_CFG_FILENAME);
  writeSafetensors(`${w}.tmp`, tensorsToSaeLens(s), { format: 'pt' });
  writeFileSync(`${c}.tmp`, JSON.stringify(configToSaeLens(s), null, 2));
  renameSync(`${w}.tmp`, w);
  renameSync(`${c}.tmp`, c);
}

// ---- checking against a model ----------------------------------------------------------------------------------------

/** Width of a per-token hook vector (trailing dims flattened, as SAELens's hook_z SAEs read them); undefined if none. */
export function hookWidth(spec: TransformerSpec, name: string): number | undefined {
  if (/\.attn\.hook_(attn_scores|pattern)$/.test(name)) return undefined;
  if (/\.attn\.hook_(q|rot_q|z)$/.test(name)) return spec.nHeads * spec.dHead;
  if (/\.attn\.hook_(k|v|rot_k)$/.test(name)) return spec.nKvHeads * spec.dHead;
  if (/\.mlp\.hook_(pre|post|pre_linear)$/.test(name)) return spec.dMlp;
  return spec.dModel;
}

/** What checkAgainstModel needs of a model (Model satisfies it). */
export interface HookedModel {
  hookNames: readonly string[];
  spec: TransformerSpec;
  source?: string;
}

/**
 * Throws a ProbityError if the SAE cannot be spliced into the model: a hook name the model lacks (naming the nearest
 * valid ones), a d_in (or transcoder d_out) that differs from the hook's width, or a single-head SAE.
 */
export function checkAgainstModel(sae: Sae, model: HookedModel): void {
  const src = sae.source ?? 'SAE';
  const modelName = model.source ? ` ${model.source}` : '';
  const check = (field: string, hook: string, width: number, widthField: string) => {
    try {
      checkHookName(hook, model.hookNames);
    } catch (e) {
      if (e instanceof ProbityError) throw new ProbityError('SAE_HOOK_UNKNOWN', `${src}: ${field} ${show(hook)} is not a hook of model${modelName}: ${e.message}`);
      throw e;
    }
    const w = hookWidth(model.spec, hook);
    if (w === undefined) throw new ProbityError('SAE_HOOK_WIDTH', `${src}: ${field} ${show(hook)} is not a per-token activation (attention scores/patterns cannot be encoded)`);
    if (w !== width) throw new ProbityError('SAE_HOOK_WIDTH', `${src}: ${widthField} is ${width} but hook ${show(hook)} of model${modelName} has width ${w}`);
  };
  if (typeof sae.cfg.metadata?.hook_head_index === 'number') {
    throw new ProbityError('SAE_UNSUPPORTED', `${src}: hook_head_index is ${sae.cfg.metadata.hook_head_index}; single-head SAEs cannot be spliced`);
  }
  check('hook_name', sae.cfg.hookName, sae.dIn, 'd_in');
  if (sae.isTranscoder) {
    if (!sae.cfg.outHookName) throw new ProbityError('SAE_HOOK_UNKNOWN', `${src}: transcoder has no hook_name_out`);
    check('hook_name_out', sae.cfg.outHookName, sae.dOut, 'd_out');
  }
}

/** The SAEs shipped next to a model folder (<model>/saes/<name>/cfg.json), sorted by name. */
export function shippedSaes(modelDir: string): string[] {
  const dir = join(resolve(modelDir), 'saes');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).sort().filter((n) => existsSync(join(dir, n, SAE_CFG_FILENAME))).map((n) => join(dir, n));
}

/** The first SAE shipped next to a model folder, or null. */
export function shippedSae(modelDir: string): string | null {
  return shippedSaes(modelDir)[0] ?? null;
}
