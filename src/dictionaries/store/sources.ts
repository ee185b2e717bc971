// Token sources for harvesting: anything that yields rows of token ids (documents), plus a description that goes into
// the store's manifest and must match when a harvest is resumed. `rows()` starts a fresh pass each time it is called
// (a resumed harvest, or each epoch of the on-the-fly source, calls it again).
import { createHash } from 'node:crypto';
import { ProbityError, show } from '../../errors.js';
import { displayPath } from '../../util/paths.js';
import type { Model } from '../../models/model.js';
import type { Tokenizer } from '../../models/tokenizers/types.js';
import { readDocs, readManifest } from '../../organism/shards.js';
import type { SourceDescription } from './format.js';

export type TokenRow = ArrayLike<number>;
export type RowIterable = Iterable<TokenRow> | AsyncIterable<TokenRow>;

export interface TokenSource {
  description: SourceDescription;
  rows(): RowIterable;
}

/** A TokenSource, an array of rows (hashed for its description), or any other (async) iterable of rows (described
 *  only as "iterable": a resumed harvest cannot check that it is the same stream, and it must be re-creatable). */
export type TokenInput = TokenSource | readonly TokenRow[] | RowIterable;

function isTokenSource(x: unknown): x is TokenSource {
  return !!x && typeof x === 'object' && typeof (x as TokenSource).rows === 'function' && typeof (x as TokenSource).description === 'object';
}

export function toTokenSource(input: TokenInput): TokenSource {
  if (isTokenSource(input)) return input;
  if (Array.isArray(input)) return rowsSource(input);
  if (input && (typeof (input as Iterable<TokenRow>)[Symbol.iterator] === 'function' || typeof (input as AsyncIterable<TokenRow>)[Symbol.asyncIterator] === 'function')) {
    // A generator / iterator is its own iterable and can be read only once; a second pass would silently be empty.
    const oneShot = typeof (input as unknown as Iterator<TokenRow>).next === 'function';
    let used = false;
    return {
      description: { kind: 'iterable' },
      rows: () => {
        if (used && oneShot) {
          throw new ProbityError('STORE_SOURCE', 'token source: a plain iterable can be read only once; pass a TokenSource whose rows() starts a new pass');
        }
        used = true;
        return input as RowIterable;
      },
    };
  }
  throw new ProbityError('STORE_SOURCE', `token source must be a TokenSource, an array of token rows or an (async) iterable of rows, got ${show(typeof input)}`);
}

/** Rows held in memory. The description carries their count and a sha256 of the ids. */
export function rowsSource(rows: readonly TokenRow[], name?: string): TokenSource {
  const h = createHash('sha256');
  let tokens = 0;
  for (const r of rows) {
    const a = Int32Array.from(r as ArrayLike<number>);
    h.update(new Uint8Array(a.buffer));
    h.update('\n');
    tokens += a.length;
  }
  return { description: { kind: 'rows', name, rows: rows.length, tokens, sha256: h.digest('hex') }, rows: () => rows };
}

/** Texts through a tokenizer (the model's by default), one row per text. `bos` defaults to the tokenizer's addBos. */
export function textSource(tok: Tokenizer | Model, texts: readonly string[], opts: { bos?: boolean; name?: string } = {}): TokenSource {
  const tokenizer = 'tokenizer' in tok ? tok.tokenizer : tok;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw new ProbityError('STORE_SOURCE', 'textSource: texts must be an array of strings');
  const bos = opts.bos ?? tokenizer.addBos;
  const h = createHash('sha256');
  for (const t of texts) h.update(`${t.length}:${t}`);
  return {
    description: { kind: 'texts', name: opts.name, texts: texts.length, bos, vocabSize: tokenizer.vocabSize, sha256: h.digest('hex') },
    *rows() {
      for (const t of texts) yield tokenizer.encode(t, { bos });
    },
  };
}

/** Documents of a TinyWorld corpus folder (src/organism/shards.ts), in order, one corpus shard in memory at a time.
 *  Each document is `<bos> ... <eos>`. */
export function organismCorpusSource(dir: string, opts: { maxDocs?: number } = {}): TokenSource {
  const m = readManifest(dir);
  const h = createHash('sha256');
  for (const s of m.shards) h.update(`${s.sha256.tokens}:${s.numTokens}\n`);
  const maxDocs = opts.maxDocs ?? Infinity;
  if (maxDocs !== Infinity && !(Number.isSafeInteger(maxDocs) && maxDocs > 0)) throw new ProbityError('STORE_SOURCE', `organismCorpusSource: maxDocs must be a positive integer, got ${show(maxDocs)}`);
  return {
    description: {
      kind: 'organism-corpus',
      path: displayPath(dir),
      seed: m.seed,
      worldSeed: m.worldSeed,
      docs: m.totals.docs,
      tokens: m.totals.tokens,
      tokenizerSha256: m.tokenizer.sha256,
      shardsSha256: h.digest('hex'),
      maxDocs: opts.maxDocs,
    },
    *rows() {
      let n = 0;
      for (const d of readDocs(dir)) {
        if (n++ >= maxDocs) return;
        yield d.tokens;
      }
    },
  };
}

/** Seeded random rows (for benchmarks and tests): `count` rows of `length` ids in [lo, vocab), row 0 of each = `bos`
 *  when given. Generated lazily, so a huge stream costs no memory. */
export function randomSource(opts: { count: number; length: number; vocab: number; seed: number; bos?: number; lo?: number }): TokenSource {
  const { count, length, vocab, seed } = opts;
  const lo = opts.lo ?? 0;
  return {
    description: { kind: 'random', count, length, vocab, seed, bos: opts.bos, lo },
    *rows() {
      let a = seed >>> 0;
      const r = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      for (let i = 0; i < count; i++) {
        const row = new Array<number>(length);
        for (let j = 0; j < length; j++) row[j] = lo + Math.floor(r() * (vocab - lo));
        if (opts.bos !== undefined && length > 0) row[0] = opts.bos;
        yield row;
      }
    },
  };
}

/** The description as compared on resume: the source's own fields, without its `path` (a moved corpus is the same). */
export function sourceIdentity(d: SourceDescription): SourceDescription {
  const { path: _p, ...rest } = d;
  return rest as SourceDescription;
}
