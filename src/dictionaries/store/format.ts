// The activation store's on-disk format, shared by the writer (harvest.ts) and the reader (reader.ts).
//
// Directory layout (all numbers little-endian, row-major):
//   manifest.json                    format + version, model, hooks (name, d, file key), dtype, settings, token
//                                    source, totals, shard list with byte sizes and sha256, the resume point
//   shard-00000.h0.f32 | .f16        activations of hooks[0], [n, d0] float32 or IEEE float16
//   shard-00000.h1.f32 | .f16        activations of hooks[1] (one file per hook), [n, d1]
//   shard-00000.tokens.i32           token id of each stored position, [n] int32
//   shard-00000.where.i32            (doc index, position in the doc) of each stored position, [n, 2] int32
// A shard holds exactly `shardTokens` positions, except the last one of a finished store. Files are written under a
// `.tmp` name and renamed once complete; the manifest (also written through a `.tmp` + rename) is rewritten after
// every shard, so after a crash it names only whole shards.
import { createHash } from 'node:crypto';
import { fmix32, uniform } from '../../util/random.js';
import { f16Table, f32ToF16Bits } from '../../models/loaders/common.js';
import { ProbityError, show } from '../../errors.js';
import type { Model } from '../../models/model.js';
import type { TransformerSpec } from '../../models/spec.js';
import { checkHookName } from '../../models/hooks/names.js';
import { displayModel } from '../../util/paths.js';

export const STORE_FORMAT = 'probity-activation-store';
export const STORE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export type StoreDType = 'float32' | 'float16';
export const STORE_DTYPES: readonly StoreDType[] = ['float32', 'float16'];
export const BYTES: Record<StoreDType, number> = { float32: 4, float16: 2 };

export interface ModelInfo {
  /** Where the model was loaded from (informational: a moved checkpoint is still the same model). */
  source: string;
  arch: TransformerSpec['arch'];
  dModel: number;
  nLayers: number;
  nCtx: number;
  vocab: number;
  /** sha256 over the spec, every weight's name and dims, and a strided sample of each weight's values. */
  hash: string;
}

export interface HookInfo {
  name: string;
  /** Values per token (the hook's trailing dims flattened, e.g. H * Dh for hook_z). */
  d: number;
  /** File key: shard files are `shard-NNNNN.<file>.<f32|f16>`. */
  file: string;
}

export interface ShardFile {
  file: string;
  bytes: number;
  sha256: string;
}

export interface StoreShard {
  index: number;
  /** Positions stored in this shard. */
  tokens: number;
  /** Activation files, one per hook, keyed by HookInfo.file. */
  acts: Record<string, ShardFile>;
  /** int32 token ids [tokens]. */
  ids: ShardFile;
  /** int32 (doc, position) pairs [tokens, 2]. */
  where: ShardFile;
  /** Doc index of the first and last stored position. */
  firstDoc: number;
  lastDoc: number;
}

/** Where a harvest continues: skip source rows before `row`, then drop the first `skip` stored positions that the
 *  batch starting at `row` produces (a shard can end in the middle of a model batch). */
export interface ResumePoint {
  row: number;
  skip: number;
}

/** What the model is run over; `description` is recorded in the manifest and must match on resume. */
export interface SourceDescription {
  kind: string;
  [key: string]: unknown;
}

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  version: typeof STORE_VERSION;
  model: ModelInfo;
  hooks: HookInfo[];
  dtype: StoreDType;
  byteOrder: 'little';
  /** Position 0 of every row (the BOS / attention-sink position) was left out. */
  skipBos: boolean;
  /** Rows were truncated to this many tokens. */
  ctx: number;
  /** Rows per model batch (part of the identity: it fixes how positions are batched, hence the exact floats). */
  batchRows: number;
  shardTokens: number;
  /** The token budget asked for (null = the whole source). */
  maxTokens: number | null;
  source: SourceDescription;
  /** Positions stored so far (sum of shard tokens). */
  tokens: number;
  /** Source rows read so far (index of the last row that contributed, plus one). */
  docs: number;
  /** The harvest finished (budget reached or source exhausted); a store can be read before it is complete. */
  complete: boolean;
  next: ResumePoint;
  shards: StoreShard[];
}

export const actExt = (dtype: StoreDType) => (dtype === 'float32' ? 'f32' : 'f16');
export const shardStem = (i: number) => `shard-${String(i).padStart(5, '0')}`;
export const SHARD_FILE_RE = /^shard-\d{5}\.[a-z0-9]+\.(f32|f16|i32)(\.tmp)?$/;

/** Values per token of a hook, from the spec. Attention scores / patterns are [B, H, T, S], not per-token. */
export function hookWidth(spec: TransformerSpec, name: string): number {
  const { dModel: D, nHeads: H, nKvHeads: K, dHead: Dh, dMlp: F } = spec;
  if (/hook_attn_scores$|hook_pattern$/.test(name)) {
    throw new ProbityError('STORE_HOOK', `hook "${name}" is [B, H, T, S] (per query and key), not a per-token activation; store hook_z, hook_attn_out or a residual hook instead`);
  }
  if (/attn\.hook_(q|rot_q|z)$/.test(name)) return H * Dh;
  if (/attn\.hook_(k|v|rot_k)$/.test(name)) return K * Dh;
  if (/mlp\.hook_(pre|pre_linear|post)$/.test(name)) return F;
  return D;
}

/** Check hook names against the model and return their widths (one entry per hook, duplicates refused). */
export function hookInfos(model: Model, hooks: readonly string[]): HookInfo[] {
  if (!Array.isArray(hooks) || hooks.length === 0) throw new ProbityError('STORE_HOOK', `harvest: hooks must be a non-empty list of hook names, got ${show(hooks)}`);
  const seen = new Set<string>();
  return hooks.map((name, i) => {
    if (typeof name !== 'string') throw new ProbityError('STORE_HOOK', `harvest: hooks[${i}] is ${show(name)}, expected a hook name`);
    if (seen.has(name)) throw new ProbityError('STORE_HOOK', `harvest: hook "${name}" is listed twice`);
    seen.add(name);
    checkHookName(name, model.hookNames);
    return { name, d: hookWidth(model.spec, name), file: `h${i}` };
  });
}

/** A cheap identity of a model: spec, weight names and dims, and up to 64 strided values of every weight. */
export function modelInfo(model: Model): ModelInfo {
  const h = createHash('sha256');
  h.update(JSON.stringify(model.spec));
  for (const name of [...model.weights.names()].sort()) {
    const w = model.weights.get(name);
    h.update(`\n${name}:${w.dims.join('x')}:`);
    const n = w.data.length;
    const step = Math.max(1, Math.floor(n / 64));
    const sample = new Float32Array(Math.ceil(n / step));
    for (let i = 0, j = 0; i < n; i += step, j++) sample[j] = w.data[i];
    h.update(new Uint8Array(sample.buffer));
  }
  const s = model.spec;
  return { source: displayModel(model.source), arch: s.arch, dModel: s.dModel, nLayers: s.nLayers, nCtx: s.nCtx, vocab: s.vocab, hash: h.digest('hex') };
}

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** JSON with sorted object keys (for comparing descriptions). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// ---------------------------------------------------------------------------------------------------------------------
// float16

/** Half-float bits -> float32, into `out` at `at`. */
export function f16Into(bits: Uint16Array, out: Float32Array, at = 0): void {
  const t = f16Table();
  for (let i = 0; i < bits.length; i++) out[at + i] = t[bits[i]];
}

/** float32 -> IEEE half bits, round to nearest even (as numpy / PyTorch); overflow goes to infinity. */
export function f32ToF16(src: Float32Array, srcAt: number, n: number, out: Uint16Array, outAt: number): void {
  for (let i = 0; i < n; i++) out[outAt + i] = f32ToF16Bits(src[srcAt + i]);
}

// ---------------------------------------------------------------------------------------------------------------------
// Seeded randomness for shuffling (mulberry32 seeded through a murmur3 mix; stable across platforms).


export function mix32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ fmix32(((p % 4294967296) >>> 0) + 0x7f4a7c15)) + 0x6a09e667);
  return h;
}

export const rng = (seed: number): (() => number) => uniform(seed);

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export function checkSeed(seed: unknown, what = 'seed'): number {
  if (!Number.isSafeInteger(seed) || (seed as number) < 0) throw new ProbityError('STORE_OPTIONS', `${what} must be a non-negative integer, got ${show(seed)}`);
  return seed as number;
}

export function checkPositiveInt(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ProbityError('STORE_OPTIONS', `${what} must be a positive integer, got ${show(v)}`);
  return v as number;
}
