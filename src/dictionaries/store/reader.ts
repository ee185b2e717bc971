// Reading an activation store (format.ts): open and check it, stream shuffled batches for training (batches.ts), or
// walk its shards in order with token ids and (doc, position) for analysis. float16 stores are converted to float32.
import fs from 'node:fs';
import path from 'node:path';
import { endianness } from 'node:os';
import { ProbityError, show } from '../../errors.js';
import { NDArray } from '../../engine/ndarray.js';
import {
  BYTES, MANIFEST_FILE, STORE_DTYPES, STORE_FORMAT, STORE_VERSION, f16Into, mix32, permutation, sha256, type HookInfo, type ShardFile,
  type StoreManifest, type StoreShard,
} from './format.js';
import { resolveBatchOptions, shuffledBatches, type ActivationBatch, type ActivationSource, type BatchOptions, type Window } from './batches.js';

/** Parse and check manifest.json (format, version, field types); does not look at the shard files. */
export function readManifestFile(dir: string): StoreManifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) throw new ProbityError('STORE_MISSING', `${dir} is not an activation store: ${MANIFEST_FILE} is missing`);
  let m: StoreManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as StoreManifest;
  } catch (e) {
    throw new ProbityError('STORE_MANIFEST', `cannot read ${file}: ${(e as Error).message}`);
  }
  const bad = (what: string) => new ProbityError('STORE_MANIFEST', `${file}: ${what}`);
  if (!m || typeof m !== 'object') throw bad('not a JSON object');
  if (m.format !== STORE_FORMAT) throw bad(`format is ${show(m.format)}, expected ${show(STORE_FORMAT)}`);
  if (m.version !== STORE_VERSION) throw bad(`version ${show(m.version)} is not supported (this probity reads version ${STORE_VERSION})`);
  if (!STORE_DTYPES.includes(m.dtype)) throw bad(`dtype ${show(m.dtype)}, expected one of ${STORE_DTYPES.join(', ')}`);
  if (!Array.isArray(m.hooks) || !m.hooks.length || m.hooks.some((h) => typeof h?.name !== 'string' || !Number.isSafeInteger(h.d) || h.d <= 0 || typeof h.file !== 'string')) {
    throw bad('hooks must be a non-empty list of {name, d, file}');
  }
  if (!Array.isArray(m.shards)) throw bad('shards must be a list');
  const files = (s: StoreShard): ShardFile[] => [...m.hooks.map((h) => s.acts?.[h.file]), s.ids, s.where];
  let total = 0;
  m.shards.forEach((s, i) => {
    if (!s || !Number.isSafeInteger(s.tokens) || s.tokens <= 0) throw bad(`shards[${i}].tokens must be a positive integer, got ${show(s?.tokens)}`);
    for (const f of files(s)) {
      if (!f || typeof f.file !== 'string' || !Number.isSafeInteger(f.bytes) || typeof f.sha256 !== 'string') throw bad(`shards[${i}] lacks a file entry {file, bytes, sha256} for every hook, ids and where`);
      if (f.file.includes('/') || f.file.includes('\\') || f.file.startsWith('.')) throw bad(`shards[${i}] names the file ${show(f.file)} outside the store folder`);
    }
    const want = [...m.hooks.map((h) => s.tokens * h.d * BYTES[m.dtype]), s.tokens * 4, s.tokens * 8];
    files(s).forEach((f, j) => {
      if (f.bytes !== want[j]) throw bad(`shards[${i}]: ${f.file} is listed with ${f.bytes} bytes, but ${s.tokens} positions need ${want[j]}`);
    });
    total += s.tokens;
  });
  if (total !== m.tokens) throw bad(`tokens is ${show(m.tokens)}, but the shards hold ${total}`);
  return m;
}

export interface ShardData {
  shard: number;
  /** Positions in the shard. */
  n: number;
  /** Token id of each position [n]. */
  tokens: Int32Array;
  /** Source row (document) index and position in it, per position [n]. */
  docs: Int32Array;
  positions: Int32Array;
  /** float32 [n, d] per hook name asked for. */
  acts: Record<string, NDArray<Float32Array>>;
}

export interface OpenOptions {
  /** Check every file's sha256 the first time this store object reads it (default true; sizes are always checked
   *  when opening). Training streams the same shards every epoch: hashing them again each time cost ~40% of
   *  reading a window. */
  verify?: boolean;
}

export class ActivationStore implements ActivationSource {
  readonly hooks: readonly HookInfo[];
  private readonly verify: boolean;
  /** Files whose sha256 matched the manifest when this object first read them. */
  private readonly verified = new Set<string>();

  constructor(
    readonly dir: string,
    readonly manifest: StoreManifest,
    opts: OpenOptions = {},
  ) {
    this.hooks = manifest.hooks;
    this.verify = opts.verify ?? true;
  }

  get tokens(): number {
    return this.manifest.tokens;
  }
  get numShards(): number {
    return this.manifest.shards.length;
  }
  get complete(): boolean {
    return this.manifest.complete;
  }
  hook(name: string): HookInfo {
    const h = this.hooks.find((x) => x.name === name);
    if (!h) throw new ProbityError('STORE_HOOK', `${this.dir}: hook ${show(name)} is not in this store; it has ${this.hooks.map((x) => x.name).join(', ')}`);
    return h;
  }
  d(name: string): number {
    return this.hook(name).d;
  }

  private async readFileAsync(f: ShardFile): Promise<Buffer> {
    const p = path.join(this.dir, f.file);
    let b: Buffer;
    try {
      b = await fs.promises.readFile(p);
    } catch (e) {
      throw new ProbityError('STORE_MISSING', `${p}: cannot read the shard file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    this.checkBytes(p, f, b);
    return b;
  }
  private readFileSync(f: ShardFile): Buffer {
    const p = path.join(this.dir, f.file);
    let b: Buffer;
    try {
      b = fs.readFileSync(p);
    } catch (e) {
      throw new ProbityError('STORE_MISSING', `${p}: cannot read the shard file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    this.checkBytes(p, f, b);
    return b;
  }
  private checkBytes(p: string, f: ShardFile, b: Uint8Array): void {
    if (b.length !== f.bytes) throw new ProbityError('STORE_SHARD', `${p} holds ${b.length} bytes, the manifest says ${f.bytes} (truncated or overwritten?)`);
    if (this.verify && !this.verified.has(f.file)) {
      const h = sha256(b);
      if (h !== f.sha256) throw new ProbityError('STORE_CHECKSUM', `${p}: sha256 ${h.slice(0, 16)}... does not match the manifest's ${f.sha256.slice(0, 16)}... (the file is corrupt)`);
      this.verified.add(f.file);
    }
  }

  /** Activations of one shard file as float32 into `out` at element `at`: float32 files are read straight into it. */
  private async readActs(f: ShardFile, out: Float32Array, at: number): Promise<void> {
    if (this.manifest.dtype !== 'float32') return this.decode(await this.readFileAsync(f), out, at);
    const p = path.join(this.dir, f.file);
    const view = new Uint8Array(out.buffer, out.byteOffset + at * 4, Math.min(f.bytes, out.byteLength - at * 4));
    let got = 0;
    try {
      const fh = await fs.promises.open(p, 'r');
      try {
        for (;;) {
          const { bytesRead } = await fh.read(view, got, view.length - got, got);
          if (bytesRead === 0) break;
          got += bytesRead;
          if (got === view.length) break;
        }
        if (got === view.length && (await fh.stat()).size !== f.bytes) got = -1;
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw new ProbityError('STORE_MISSING', `${p}: cannot read the shard file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (got !== f.bytes) throw new ProbityError('STORE_SHARD', `${p}: could not read the ${f.bytes} bytes the manifest lists (truncated or overwritten?)`);
    this.checkBytes(p, f, view);
  }

  /** Stored activation bytes as float32, written into `out` at element `at`. */
  private decode(buf: Buffer, out: Float32Array, at: number): void {
    if (this.manifest.dtype === 'float32') {
      // Copy via bytes: the Buffer may not be 4-byte aligned.
      new Uint8Array(out.buffer, out.byteOffset + at * 4, buf.length).set(buf);
    } else {
      const bits = buf.byteOffset % 2 === 0 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2) : new Uint16Array(Uint8Array.from(buf).buffer);
      f16Into(bits, out, at);
    }
  }

  private shardInfo(i: number): StoreShard {
    const s = this.manifest.shards[i];
    if (!Number.isSafeInteger(i) || !s) throw new ProbityError('STORE_SHARD', `${this.dir}: shard ${show(i)} does not exist (the store has ${this.numShards})`);
    return s;
  }

  /** One shard in memory: ids, (doc, position) and the activations of the hooks asked for (default all). */
  readShard(i: number, hooks: readonly string[] = this.hooks.map((h) => h.name)): ShardData {
    const s = this.shardInfo(i);
    const infos = hooks.map((n) => this.hook(n));
    const ids = this.readFileSync(s.ids);
    const where = this.readFileSync(s.where);
    const tokens = new Int32Array(s.tokens);
    new Uint8Array(tokens.buffer).set(ids);
    const w = new Int32Array(2 * s.tokens);
    new Uint8Array(w.buffer).set(where);
    const docs = new Int32Array(s.tokens);
    const positions = new Int32Array(s.tokens);
    for (let j = 0; j < s.tokens; j++) {
      docs[j] = w[2 * j];
      positions[j] = w[2 * j + 1];
    }
    const acts: Record<string, NDArray<Float32Array>> = {};
    for (const h of infos) {
      const out = new Float32Array(s.tokens * h.d);
      this.decode(this.readFileSync(s.acts[h.file]), out, 0);
      acts[h.name] = new NDArray(out, [s.tokens, h.d]);
    }
    return { shard: i, n: s.tokens, tokens, docs, positions, acts };
  }

  /** Every shard in stored order (one in memory at a time), with token ids, (doc, position) and activations. */
  *tokensWithActivations(opts: { hooks?: readonly string[] } = {}): Generator<ShardData> {
    for (let i = 0; i < this.numShards; i++) yield this.readShard(i, opts.hooks);
  }

  /** Shards of each window of an epoch: shards in a seeded random order (stored order without shuffle), grouped
   *  greedily into windows of at most `buffer` positions (at least one shard each). */
  windowPlan(epoch: number, seed: number, buffer: number, shuffle: boolean): number[][] {
    const n = this.numShards;
    const order = shuffle ? Array.from(permutation(n, mix32(seed, epoch, 0x5a4d))) : Array.from({ length: n }, (_, i) => i);
    const windows: number[][] = [];
    let cur: number[] = [];
    let fill = 0;
    for (const i of order) {
      const t = this.manifest.shards[i].tokens;
      if (cur.length && fill + t > buffer) {
        windows.push(cur);
        cur = [];
        fill = 0;
      }
      cur.push(i);
      fill += t;
    }
    if (cur.length) windows.push(cur);
    return windows;
  }

  /** Shuffled batches (see batches.ts); default shuffleBuffer: 4 shards' worth of positions. */
  batches(opts: BatchOptions): AsyncGenerator<ActivationBatch> {
    const o = resolveBatchOptions(opts, this.hooks, 4 * this.manifest.shardTokens);
    if (this.tokens === 0) throw new ProbityError('STORE_EMPTY', `${this.dir}: the store holds no positions yet`);
    let plan: { epoch: number; windows: number[][] } | null = null;
    const starts: number[] = [];
    let acc = 0;
    for (const s of this.manifest.shards) {
      starts.push(acc);
      acc += s.tokens;
    }
    let spare: Float32Array[] = [];
    const provider = {
      window: async (epoch: number, w: number): Promise<Window | null> => {
        if (!plan || plan.epoch !== epoch) plan = { epoch, windows: this.windowPlan(epoch, o.seed, o.shuffleBuffer, o.shuffle) };
        const shards = plan.windows[w];
        if (!shards) return null;
        const rows = shards.reduce((a, i) => a + this.manifest.shards[i].tokens, 0);
        // The previous window is done with when the next is asked for: reuse its arrays (100 MB fresh and zeroed per
        // window was a measured cost).
        const acts = o.hooks.map((h, j) => (spare[j]?.length === rows * h.d ? spare[j] : new Float32Array(rows * h.d)));
        spare = acts;
        const index = new Float64Array(rows);
        let at = 0;
        for (const i of shards) {
          const s = this.manifest.shards[i];
          for (let h = 0; h < o.hooks.length; h++) await this.readActs(s.acts[o.hooks[h].file], acts[h], at * o.hooks[h].d);
          for (let j = 0; j < s.tokens; j++) index[at + j] = starts[i] + j;
          at += s.tokens;
        }
        return { rows, acts, index };
      },
    };
    return shuffledBatches(provider, o);
  }
}

/** Open a store: reads and checks the manifest, and checks that every listed file exists with the listed size. */
export function openStore(dir: string, opts: OpenOptions = {}): ActivationStore {
  if (endianness() !== 'LE') throw new ProbityError('STORE_ENDIAN', 'the activation store needs a little-endian host');
  const m = readManifestFile(dir);
  for (const s of m.shards) {
    for (const f of [...m.hooks.map((h) => s.acts[h.file]), s.ids, s.where]) {
      const p = path.join(dir, f.file);
      if (!fs.existsSync(p)) throw new ProbityError('STORE_MISSING', `${dir}: the manifest lists ${f.file} (shard ${s.index}), which is missing`);
      const size = fs.statSync(p).size;
      if (size !== f.bytes) throw new ProbityError('STORE_SHARD', `${p} holds ${size} bytes, the manifest says ${f.bytes} (truncated or overwritten?)`);
    }
  }
  return new ActivationStore(dir, m, opts);
}
