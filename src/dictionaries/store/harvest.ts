// Harvest: run a model over a token stream and write the activations of one or more hooks to a sharded store on
// disk (format.ts). Memory is bounded by one shard per hook plus one model batch, whatever the corpus size. The
// manifest is rewritten after every shard, so an interrupted harvest (crash, kill, abort, maxShards) continues where
// it stopped when the same call is made again, and ends with byte-identical files.
import fs from 'node:fs';
import path from 'node:path';
import { endianness } from 'node:os';
import { ProbityError, show } from '../../errors.js';
import type { Model } from '../../models/model.js';
import {
  MANIFEST_FILE, SHARD_FILE_RE, STORE_DTYPES, STORE_FORMAT, STORE_VERSION, actExt, checkPositiveInt, f32ToF16, hookInfos,
  modelInfo, sha256, shardStem, stableJson, type HookInfo, type ResumePoint, type ShardFile, type StoreDType, type StoreManifest,
  type StoreShard,
} from './format.js';
import { sourceIdentity, toTokenSource, type TokenInput, type TokenRow } from './sources.js';
import { readManifestFile } from './reader.js';

export const DEFAULT_SHARD_TOKENS = 65536;
export const DEFAULT_BATCH_ROWS = 16;

export interface HarvestProgress {
  /** Positions harvested so far (stored shards plus the shard being filled). */
  tokens: number;
  maxTokens: number | null;
  /** Shards on disk. */
  shards: number;
  /** Source rows read. */
  docs: number;
}

export interface HarvestOptions {
  model: Model;
  /** Hooks to store (one or more: e.g. an input and an output hook for a transcoder). */
  hooks: readonly string[];
  /** Token rows (documents): a TokenSource (sources.ts), an array of rows, or an (async) iterable of rows. */
  tokens: TokenInput;
  /** Output folder (created if missing). */
  out: string;
  /** Stop after this many stored positions (default: the whole source). */
  maxTokens?: number;
  /** Rows per model batch (default 16). */
  batchRows?: number;
  /** Truncate rows to this many tokens (default and maximum: the model's context). */
  ctx?: number;
  /** Positions per shard (default 65536). Memory holds one shard per hook: shardTokens * sum(d) * bytes(dtype). */
  shardTokens?: number;
  /** Stored dtype (default float32); float16 halves the disk and is converted back to float32 on read. */
  dtype?: StoreDType;
  /** Leave out position 0 of every row (the BOS / attention-sink position, whose activations are outliers). Default true. */
  skipBos?: boolean;
  /** Replace a store already in `out` (otherwise an existing store is resumed, or refused if it does not match). */
  overwrite?: boolean;
  /** Stop (incomplete, resumable) after writing this many shards in this call. */
  maxShards?: number;
  /** Abort between model batches; rejects with ProbityError ABORTED (the store stays resumable). */
  signal?: AbortSignal;
  onProgress?: (p: HarvestProgress) => void;
}

export interface HarvestResult {
  manifest: StoreManifest;
  complete: boolean;
  /** This call continued an existing store. */
  resumed: boolean;
  shardsWritten: number;
  tokensWritten: number;
  /** Most positions held in memory at once (never more than shardTokens). */
  peakBufferedTokens: number;
}

/** The settings that identify a store: a resumed harvest must repeat them exactly. */
type Identity = Pick<StoreManifest, 'model' | 'hooks' | 'dtype' | 'skipBos' | 'ctx' | 'batchRows' | 'shardTokens' | 'maxTokens' | 'source'>;

function checkSameStore(dir: string, old: StoreManifest, now: Identity): void {
  const fields: [string, unknown, unknown][] = [
    ['model', old.model.hash, now.model.hash],
    ['hooks', old.hooks.map((h) => `${h.name}(d=${h.d})`), now.hooks.map((h) => `${h.name}(d=${h.d})`)],
    ['dtype', old.dtype, now.dtype],
    ['skipBos', old.skipBos, now.skipBos],
    ['ctx', old.ctx, now.ctx],
    ['batchRows', old.batchRows, now.batchRows],
    ['shardTokens', old.shardTokens, now.shardTokens],
    ['maxTokens', old.maxTokens, now.maxTokens],
    ['token source', sourceIdentity(old.source), sourceIdentity(now.source)],
  ];
  for (const [name, a, b] of fields) {
    if (stableJson(a) !== stableJson(b)) {
      const what = name === 'model' ? `model (hash ${String(a).slice(0, 12)}, from ${old.model.source}; this model: hash ${String(b).slice(0, 12)}, from ${now.model.source})` : `${name} ${stableJson(a)} (this harvest asks for ${stableJson(b)})`;
      throw new ProbityError('STORE_MISMATCH', `${dir} already holds an activation store with a different ${what}; resume it with the same settings, use another folder, or pass overwrite to replace it`);
    }
  }
}

function writeFileSynced(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeManifest(dir: string, m: StoreManifest): void {
  const file = path.join(dir, MANIFEST_FILE);
  writeFileSynced(file + '.tmp', Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8'));
  fs.renameSync(file + '.tmp', file);
}

const bytesOf = (a: Float32Array | Uint16Array | Int32Array, n: number) => new Uint8Array(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);

/** One shard being filled: activations per hook in the stored dtype, token ids, (doc, position). */
class ShardBuffer {
  readonly acts: (Float32Array | Uint16Array)[];
  readonly ids: Int32Array;
  readonly where: Int32Array;
  fill = 0;
  firstDoc = -1;
  lastDoc = -1;
  constructor(
    readonly cap: number,
    readonly hooks: HookInfo[],
    readonly dtype: StoreDType,
  ) {
    this.acts = hooks.map((h) => (dtype === 'float32' ? new Float32Array(cap * h.d) : new Uint16Array(cap * h.d)));
    this.ids = new Int32Array(cap);
    this.where = new Int32Array(2 * cap);
  }
  get free(): number {
    return this.cap - this.fill;
  }
  /** Append k consecutive positions of one row: activations start at element `srcAt * d` of each hook's output. */
  append(srcs: Float32Array[], srcAt: number, k: number, row: readonly number[], t0: number, doc: number): void {
    const at = this.fill;
    this.hooks.forEach((h, i) => {
      const dst = this.acts[i];
      if (dst instanceof Float32Array) dst.set(srcs[i].subarray(srcAt * h.d, (srcAt + k) * h.d), at * h.d);
      else f32ToF16(srcs[i], srcAt * h.d, k * h.d, dst, at * h.d);
    });
    for (let j = 0; j < k; j++) {
      this.ids[at + j] = row[t0 + j];
      this.where[2 * (at + j)] = doc;
      this.where[2 * (at + j) + 1] = t0 + j;
    }
    if (this.firstDoc < 0) this.firstDoc = doc;
    this.lastDoc = doc;
    this.fill += k;
  }
  reset(): void {
    this.fill = 0;
    this.firstDoc = this.lastDoc = -1;
  }
}

function writeShard(dir: string, index: number, buf: ShardBuffer): StoreShard {
  const stem = shardStem(index);
  const n = buf.fill;
  const parts: [string, Uint8Array][] = buf.hooks.map((h, i) => [`${stem}.${h.file}.${actExt(buf.dtype)}`, bytesOf(buf.acts[i], n * h.d)]);
  parts.push([`${stem}.tokens.i32`, bytesOf(buf.ids, n)], [`${stem}.where.i32`, bytesOf(buf.where, 2 * n)]);
  const files: ShardFile[] = parts.map(([file, data]) => {
    writeFileSynced(path.join(dir, file + '.tmp'), data);
    return { file, bytes: data.length, sha256: sha256(data) };
  });
  for (const f of files) fs.renameSync(path.join(dir, f.file + '.tmp'), path.join(dir, f.file));
  const acts: Record<string, ShardFile> = {};
  buf.hooks.forEach((h, i) => (acts[h.file] = files[i]));
  return { index, tokens: n, acts, ids: files[files.length - 2], where: files[files.length - 1], firstDoc: buf.firstDoc, lastDoc: buf.lastDoc };
}

/** Remove leftovers of an interrupted run: temp files and shard files that the manifest does not list. */
function cleanLeftovers(dir: string, shards: number): void {
  for (const f of fs.readdirSync(dir)) {
    if (f === MANIFEST_FILE + '.tmp') fs.rmSync(path.join(dir, f));
    else if (SHARD_FILE_RE.test(f) && (f.endsWith('.tmp') || Number(f.slice(6, 11)) >= shards)) fs.rmSync(path.join(dir, f));
  }
}

function removeStore(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    if (f === MANIFEST_FILE || f === MANIFEST_FILE + '.tmp' || SHARD_FILE_RE.test(f)) fs.rmSync(path.join(dir, f));
  }
}

/** Run the model on left-padded rows and return each hook's activations as float32 [B, T, d] (checked against the
 *  hook widths) and T. Positions t < T - row.length of row b are padding; the model's mask is checked to agree. */
export async function runHooks(model: Model, hooks: readonly HookInfo[], rows: readonly (readonly number[])[]): Promise<{ T: number; srcs: Float32Array[] }> {
  const res = await model.runWithCache(rows, { names: hooks.map((h) => h.name), logits: 'none' });
  const B = rows.length;
  const T = res.mask.dims[1];
  const srcs = hooks.map((h) => {
    const a = res.cache[h.name];
    const per = a.dims.slice(2).reduce((x, y) => x * y, 1);
    if (a.dims[0] !== B || a.dims[1] !== T || per !== h.d) {
      throw new ProbityError('STORE_HOOK', `hook "${h.name}" returned dims ${show(a.dims)}, expected [${B}, ${T}, ...] with ${h.d} values per position`);
    }
    return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  });
  const mask = res.mask.data as Uint8Array;
  for (let b = 0; b < B; b++) {
    const pad = T - rows[b].length;
    for (let t = 0; t < T; t++) {
      if (mask[b * T + t] !== (t >= pad ? 1 : 0)) throw new ProbityError('INTERNAL', `padding mask of row ${b} does not match its length ${rows[b].length}`);
    }
  }
  return { T, srcs };
}

export async function harvest(opts: HarvestOptions): Promise<HarvestResult> {
  if (endianness() !== 'LE') throw new ProbityError('STORE_ENDIAN', 'the activation store needs a little-endian host');
  const { model, out } = opts;
  if (typeof out !== 'string' || !out) throw new ProbityError('STORE_OPTIONS', `harvest: out must be a folder path, got ${show(out)}`);
  const hooks = hookInfos(model, opts.hooks);
  const dtype = opts.dtype ?? 'float32';
  if (!STORE_DTYPES.includes(dtype)) throw new ProbityError('STORE_OPTIONS', `harvest: dtype must be one of ${STORE_DTYPES.join(', ')}, got ${show(dtype)}`);
  const batchRows = checkPositiveInt(opts.batchRows ?? DEFAULT_BATCH_ROWS, 'harvest: batchRows');
  const shardTokens = checkPositiveInt(opts.shardTokens ?? DEFAULT_SHARD_TOKENS, 'harvest: shardTokens');
  const ctx = checkPositiveInt(opts.ctx ?? model.spec.nCtx, 'harvest: ctx');
  if (ctx > model.spec.nCtx) throw new ProbityError('STORE_OPTIONS', `harvest: ctx ${ctx} exceeds the model's context of ${model.spec.nCtx}`);
  const maxTokens = opts.maxTokens === undefined || opts.maxTokens === Infinity ? null : checkPositiveInt(opts.maxTokens, 'harvest: maxTokens');
  const maxShards = opts.maxShards === undefined ? Infinity : checkPositiveInt(opts.maxShards, 'harvest: maxShards');
  const skipBos = opts.skipBos ?? true;
  if (typeof skipBos !== 'boolean') throw new ProbityError('STORE_OPTIONS', `harvest: skipBos must be a boolean, got ${show(skipBos)}`);
  const source = toTokenSource(opts.tokens);
  const identity: Identity = { model: modelInfo(model), hooks, dtype, skipBos, ctx, batchRows, shardTokens, maxTokens, source: source.description };

  fs.mkdirSync(out, { recursive: true });
  const manifestPath = path.join(out, MANIFEST_FILE);
  if (opts.overwrite) removeStore(out);
  let manifest: StoreManifest;
  let resumed = false;
  if (fs.existsSync(manifestPath)) {
    manifest = readManifestFile(out);
    checkSameStore(out, manifest, identity);
    for (const s of manifest.shards) {
      for (const f of [...Object.values(s.acts), s.ids, s.where]) {
        const p = path.join(out, f.file);
        const size = fs.existsSync(p) ? fs.statSync(p).size : -1;
        if (size !== f.bytes) {
          throw new ProbityError(size < 0 ? 'STORE_MISSING' : 'STORE_SHARD', `cannot resume ${out}: ${f.file} ${size < 0 ? 'is missing' : `holds ${size} bytes, the manifest says ${f.bytes}`}; pass overwrite to start over`);
        }
      }
    }
    if (manifest.complete) return { manifest, complete: true, resumed: false, shardsWritten: 0, tokensWritten: 0, peakBufferedTokens: 0 };
    resumed = true;
    cleanLeftovers(out, manifest.shards.length);
  } else {
    const stale = fs.readdirSync(out).filter((f) => SHARD_FILE_RE.test(f));
    if (stale.length) throw new ProbityError('STORE_OUTDIR', `${out} holds shard files (${stale[0]}, ...) but no ${MANIFEST_FILE}; pass overwrite to replace them`);
    manifest = {
      format: STORE_FORMAT, version: STORE_VERSION, model: identity.model, hooks, dtype, byteOrder: 'little', skipBos, ctx, batchRows,
      shardTokens, maxTokens, source: source.description, tokens: 0, docs: 0, complete: false, next: { row: 0, skip: 0 }, shards: [],
    };
    writeManifest(out, manifest);
  }

  const remainingAtStart = maxTokens === null ? Infinity : maxTokens - manifest.tokens;
  const buf = new ShardBuffer(Math.max(1, Math.min(shardTokens, remainingAtStart)), hooks, dtype);
  let total = manifest.tokens; // stored + buffered
  let shardsWritten = 0;
  let tokensWritten = 0;
  let peak = 0;
  let docsRead = manifest.docs;
  let dropTokens = manifest.next.skip;
  const startRow = manifest.next.row;
  let stop: 'budget' | 'maxShards' | null = null;

  const flush = (next: ResumePoint, final: boolean) => {
    const shard = writeShard(out, manifest.shards.length, buf);
    manifest.shards.push(shard);
    manifest.tokens += shard.tokens;
    manifest.docs = shard.lastDoc + 1;
    manifest.next = next;
    manifest.complete = final;
    writeManifest(out, manifest);
    shardsWritten++;
    tokensWritten += shard.tokens;
    buf.reset();
    if (!final && shardsWritten >= maxShards) stop = 'maxShards';
  };

  type Pending = { doc: number; row: number[] };
  const runBatch = async (batch: Pending[]) => {
    if (opts.signal?.aborted) {
      throw new ProbityError('ABORTED', `harvest into ${out} aborted after ${manifest.shards.length} complete shards (${manifest.tokens} tokens); run it again to resume`);
    }
    const rows = batch.map((p) => p.row);
    const B = rows.length;
    const { T, srcs } = await runHooks(model, hooks, rows);
    let produced = 0; // positions of this batch handed out so far (stored, skipped on resume, or in an earlier shard)
    for (let b = 0; b < B && !stop; b++) {
      const row = rows[b];
      const pad = T - row.length;
      let t = skipBos ? 1 : 0;
      while (t < row.length) {
        if (dropTokens > 0) {
          const k = Math.min(dropTokens, row.length - t);
          dropTokens -= k;
          produced += k;
          t += k;
          continue;
        }
        const budget = maxTokens === null ? Infinity : maxTokens - total;
        if (budget <= 0) {
          stop = 'budget';
          break;
        }
        const k = Math.min(row.length - t, buf.free, budget);
        buf.append(srcs, b * T + pad + t, k, row, t, batch[b].doc);
        t += k;
        produced += k;
        total += k;
        peak = Math.max(peak, buf.fill);
        if (buf.free === 0) {
          const atEnd = b === B - 1 && t === row.length;
          const final = maxTokens !== null && total >= maxTokens;
          flush(atEnd ? { row: batch[B - 1].doc + 1, skip: 0 } : { row: batch[0].doc, skip: produced }, final);
          if (final) stop = 'budget';
          if (stop) break;
        }
      }
    }
    if (maxTokens !== null && total >= maxTokens && !stop) stop = 'budget';
    opts.onProgress?.({ tokens: total, maxTokens, shards: manifest.shards.length, docs: docsRead });
  };

  let batch: Pending[] = [];
  let index = -1;
  for await (const raw of source.rows() as AsyncIterable<TokenRow>) {
    index++;
    if (index < startRow) continue;
    if (index > 0x7fffffff) throw new ProbityError('STORE_SOURCE', `harvest: more than 2^31 source rows (doc indices are stored as int32)`);
    docsRead = index + 1;
    const len = Math.min(raw.length, ctx);
    if (len - (skipBos ? 1 : 0) <= 0) continue;
    const row = new Array<number>(len);
    for (let i = 0; i < len; i++) row[i] = raw[i];
    batch.push({ doc: index, row });
    if (batch.length === batchRows) {
      await runBatch(batch);
      batch = [];
      if (stop) break;
    }
  }
  if (batch.length && !stop) await runBatch(batch);

  if (stop !== 'maxShards') {
    if (buf.fill > 0) flush(manifest.next, true);
    else if (!manifest.complete) {
      manifest.complete = true;
      writeManifest(out, manifest);
    }
  }
  return { manifest, complete: manifest.complete, resumed, shardsWritten, tokensWritten, peakBufferedTokens: peak };
}
