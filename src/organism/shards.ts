// Streaming corpus writer and reader. Documents are generated one at a time and appended to a fixed-size shard
// buffer; a full shard is written out and the buffer reused, so memory stays bounded by the shard size whatever the
// corpus size. A document never straddles two shards.
//
// Directory layout:
//   manifest.json                 seeds, options, tokenizer hash, concept list, rates, shards, totals
//   tokenizer.json                the organism tokenizer (Tokenizer.fromJSON)
//   shard-00000.tokens.u16        token ids, uint16 little-endian: <bos> doc <eos> <bos> doc <eos> ...
//   shard-00000.labels.u32        concept mask per token, uint32 little-endian (bit i = manifest.concepts[i])
//   shard-00000.docs.jsonl        one line per document: {"index","genre","start","length","attrs"}
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { ProbityError, show } from '../errors.js';
import type { DocAttrs } from './attrs.js';
import { CONCEPTS, GENRES, type Genre } from './concepts.js';
import { GENRE_MIX, MAX_DOC_TOKENS, documents, type CorpusOptions } from './corpus.js';
import { CHAT_RATES } from './genres/chat.js';
import { REGEX_BASE_RATE } from './genres/code.js';
import { checkSeed } from './rng.js';
import { organismTokenizer } from './tokenizer.js';
import { DEFAULT_WORLD_SEED } from './world.js';

export const MANIFEST_FORMAT = 'probity-organism-corpus';

export interface ShardInfo {
  tokens: string;
  labels: string;
  docs: string;
  numTokens: number;
  numDocs: number;
  /** Index of the shard's first document. */
  firstDoc: number;
  sha256: { tokens: string; labels: string; docs: string };
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  seed: number;
  worldSeed: number;
  mix: Record<Genre, number>;
  maxDocTokens: number;
  tokenizer: { file: string; vocabSize: number; sha256: string };
  dtype: { tokens: 'uint16le'; labels: 'uint32le' };
  concepts: string[];
  rates: { regexBaseRate: number; chat: typeof CHAT_RATES };
  shardTokens: number;
  shards: ShardInfo[];
  totals: { docs: number; tokens: number; genreDocs: Record<Genre, number>; genreTokens: Record<Genre, number> };
}

export interface DocRecord {
  index: number;
  genre: Genre;
  /** Offset of the document's <bos> in the shard (tokens). */
  start: number;
  /** Tokens including <bos> and <eos>. */
  length: number;
  attrs: DocAttrs;
}

export interface WriteOptions extends CorpusOptions {
  /** Stop after this many documents. */
  docs?: number;
  /** Stop once at least this many tokens are written. (One of docs / tokens is required.) */
  tokens?: number;
  /** Capacity of a shard in tokens (default 2^20). */
  shardTokens?: number;
  /** Replace an existing corpus in the directory. */
  overwrite?: boolean;
  onProgress?: (p: { docs: number; tokens: number }) => void;
}

export interface WriteStats {
  manifest: Manifest;
  /** Most tokens held in memory at once (never more than shardTokens). */
  peakBufferedTokens: number;
}

const SHARD_FILE = /^shard-\d{5}\.(tokens\.u16|labels\.u32|docs\.jsonl)$/;

function prepareDir(dir: string, overwrite: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const existing = fs.readdirSync(dir).filter((f) => SHARD_FILE.test(f) || f === 'manifest.json' || f === 'tokenizer.json');
  if (existing.length && !overwrite) {
    throw new ProbityError('E_ORGANISM_OUTDIR', `${dir} already holds a corpus (${existing[0]}...); pass overwrite (--overwrite) to replace it`);
  }
  for (const f of existing) fs.rmSync(path.join(dir, f));
}

class HashedFile {
  private fd: number;
  private hash: Hash = createHash('sha256');
  private pending: string[] = [];
  private pendingLen = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  write(buf: Uint8Array): void {
    this.hash.update(buf);
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
  }

  /** Buffered text (flushed every 64 KiB). */
  writeText(s: string): void {
    this.pending.push(s);
    this.pendingLen += s.length;
    if (this.pendingLen >= 65536) this.flushText();
  }

  private flushText(): void {
    if (!this.pending.length) return;
    this.write(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingLen = 0;
  }

  close(): string {
    this.flushText();
    fs.closeSync(this.fd);
    return this.hash.digest('hex');
  }
}

function bytes(a: Uint16Array | Uint32Array, n: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, n * a.BYTES_PER_ELEMENT);
}

/** Generate and write a corpus; returns its manifest (also written to dir/manifest.json). */
export function writeCorpus(dir: string, seed: number, opts: WriteOptions): WriteStats {
  checkSeed(seed);
  if (endianness() !== 'LE') throw new ProbityError('E_ORGANISM_ENDIAN', 'the corpus writer needs a little-endian host');
  const shardTokens = opts.shardTokens ?? 1 << 20;
  if (!Number.isSafeInteger(shardTokens) || shardTokens < MAX_DOC_TOKENS) {
    throw new ProbityError('E_ORGANISM_SHARD', `shardTokens must be an integer >= ${MAX_DOC_TOKENS} (the longest document), got ${show(shardTokens)}`);
  }
  const maxDocs = opts.docs ?? Infinity;
  const maxTokens = opts.tokens ?? Infinity;
  if (maxDocs === Infinity && maxTokens === Infinity) throw new ProbityError('E_ORGANISM_SIZE', 'writeCorpus needs docs or tokens (the corpus is otherwise infinite)');
  for (const [k, v] of [['docs', opts.docs], ['tokens', opts.tokens]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new ProbityError('E_ORGANISM_SIZE', `${k} must be a positive integer, got ${show(v)}`);
  }
  prepareDir(dir, Boolean(opts.overwrite));

  const tok = organismTokenizer();
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok.toJSON()) + '\n');
  const zero = () => Object.fromEntries(GENRES.map((g) => [g, 0])) as Record<Genre, number>;
  const totals = { docs: 0, tokens: 0, genreDocs: zero(), genreTokens: zero() };
  const shards: ShardInfo[] = [];
  const tokBuf = new Uint16Array(shardTokens);
  const labBuf = new Uint32Array(shardTokens);
  let fill = 0;
  let peak = 0;
  let shardDocs = 0;
  let firstDoc = 0;
  let docsFile: HashedFile | null = null;

  const name = (i: number, ext: string) => `shard-${String(i).padStart(5, '0')}.${ext}`;
  const flush = () => {
    if (!docsFile) return;
    const i = shards.length;
    const t = new HashedFile(path.join(dir, name(i, 'tokens.u16')));
    t.write(bytes(tokBuf, fill));
    const l = new HashedFile(path.join(dir, name(i, 'labels.u32')));
    l.write(bytes(labBuf, fill));
    shards.push({
      tokens: name(i, 'tokens.u16'), labels: name(i, 'labels.u32'), docs: name(i, 'docs.jsonl'), numTokens: fill,
      numDocs: shardDocs, firstDoc, sha256: { tokens: t.close(), labels: l.close(), docs: docsFile.close() },
    });
    docsFile = null;
    fill = 0;
    shardDocs = 0;
  };

  for (const d of documents(seed, { worldSeed: opts.worldSeed, mix: opts.mix, start: opts.start })) {
    if (totals.docs >= maxDocs || totals.tokens >= maxTokens) break;
    const n = d.tokens.length;
    if (fill + n > shardTokens) flush();
    if (!docsFile) {
      docsFile = new HashedFile(path.join(dir, name(shards.length, 'docs.jsonl')));
      firstDoc = d.index;
    }
    tokBuf.set(d.tokens, fill);
    labBuf.set(d.labels, fill);
    const rec: DocRecord = { index: d.index, genre: d.genre, start: fill, length: n, attrs: d.attrs };
    docsFile.writeText(JSON.stringify(rec) + '\n');
    fill += n;
    peak = Math.max(peak, fill);
    shardDocs++;
    totals.docs++;
    totals.tokens += n;
    totals.genreDocs[d.genre]++;
    totals.genreTokens[d.genre] += n;
    if (opts.onProgress && totals.docs % 10000 === 0) opts.onProgress({ docs: totals.docs, tokens: totals.tokens });
  }
  flush();

  const mixW = { ...GENRE_MIX, ...(opts.mix ?? {}) } as Record<Genre, number>;
  const sum = Object.values(mixW).reduce((a, b) => a + b, 0);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    seed,
    worldSeed: opts.worldSeed ?? DEFAULT_WORLD_SEED,
    mix: Object.fromEntries(GENRES.map((g) => [g, mixW[g] / sum])) as Record<Genre, number>,
    maxDocTokens: MAX_DOC_TOKENS,
    tokenizer: { file: 'tokenizer.json', vocabSize: tok.size, sha256: tok.hash() },
    dtype: { tokens: 'uint16le', labels: 'uint32le' },
    concepts: [...CONCEPTS],
    rates: { regexBaseRate: REGEX_BASE_RATE, chat: CHAT_RATES },
    shardTokens,
    shards,
    totals,
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  opts.onProgress?.({ docs: totals.docs, tokens: totals.tokens });
  return { manifest, peakBufferedTokens: peak };
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new ProbityError('E_ORGANISM_MANIFEST', `cannot read ${file}: ${(e as Error).message}`);
  }
  if (m.format !== MANIFEST_FORMAT || m.version !== 1) {
    throw new ProbityError('E_ORGANISM_MANIFEST', `${file} is not a ${MANIFEST_FORMAT} v1 manifest (format ${show(m.format)}, version ${show(m.version)})`);
  }
  return m;
}

/** One shard in memory: tokens, labels and document records. */
export function readShard(dir: string, shard: number, manifest = readManifest(dir)): { tokens: Uint16Array; labels: Uint32Array; docs: DocRecord[] } {
  const s = manifest.shards[shard];
  if (!s) throw new ProbityError('E_ORGANISM_SHARD', `shard ${shard} does not exist in ${dir} (it has ${manifest.shards.length})`);
  const tb = fs.readFileSync(path.join(dir, s.tokens));
  const lb = fs.readFileSync(path.join(dir, s.labels));
  if (tb.length !== s.numTokens * 2 || lb.length !== s.numTokens * 4) {
    throw new ProbityError('E_ORGANISM_SHARD', `${path.join(dir, s.tokens)}: expected ${s.numTokens} tokens, files hold ${tb.length / 2} tokens and ${lb.length / 4} labels`);
  }
  const tokens = new Uint16Array(s.numTokens);
  new Uint8Array(tokens.buffer).set(tb);
  const labels = new Uint32Array(s.numTokens);
  new Uint8Array(labels.buffer).set(lb);
  const docs = fs
    .readFileSync(path.join(dir, s.docs), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as DocRecord);
  return { tokens, labels, docs };
}

/** Every document of a written corpus, shard by shard (one shard in memory at a time). */
export function* readDocs(dir: string): Generator<DocRecord & { tokens: Uint16Array; labels: Uint32Array }> {
  const m = readManifest(dir);
  for (let i = 0; i < m.shards.length; i++) {
    const s = readShard(dir, i, m);
    for (const d of s.docs) yield { ...d, tokens: s.tokens.subarray(d.start, d.start + d.length), labels: s.labels.subarray(d.start, d.start + d.length) };
  }
}
