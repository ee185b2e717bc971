// Word-level tokenizer with a closed vocabulary. Text is pre-split into pieces: a newline, an optional space plus a
// run of ASCII letters, an optional space plus one digit or one other character, or a run of spaces. A piece in the
// vocabulary is one token; any other piece is split greedily into the longest vocabulary prefixes (every printable
// ASCII character, with and without a leading space, is in the vocabulary), so every ASCII text round-trips. Other
// characters become <unk>. Every generated document uses only whole-word pieces (a test checks it).
import { createHash } from 'node:crypto';
import { ProbityError, show } from '../errors.js';
import { CHAT_WORDS } from './genres/chat.js';
import { CODE_WORDS } from './genres/code.js';
import { FACT_WORDS } from './genres/fact.js';
import { QUIRK_WORDS_TEXT } from './genres/quirk.js';
import { STORY_WORDS } from './genres/story.js';
import { lexiconWords } from './vocab.js';

export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>'] as const;
export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const UNK = 3;

const PIECE_RE = /\n| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]| +|[\s\S]/guy;

export interface TokenizerJSON {
  format: 'probity-organism-tokenizer';
  version: 1;
  pretokenizer: string;
  vocab: string[];
}

export class Tokenizer {
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;
  private readonly maxPiece: number;

  constructor(vocab: readonly string[]) {
    for (let i = 0; i < SPECIAL_TOKENS.length; i++) {
      if (vocab[i] !== SPECIAL_TOKENS[i]) {
        throw new ProbityError('E_ORGANISM_VOCAB', `tokenizer vocab[${i}] must be ${show(SPECIAL_TOKENS[i])}, got ${show(vocab[i])}`);
      }
    }
    this.vocab = vocab;
    this.ids = new Map();
    let maxPiece = 1;
    vocab.forEach((p, i) => {
      if (this.ids.has(p)) throw new ProbityError('E_ORGANISM_VOCAB', `tokenizer vocab has ${show(p)} twice (ids ${this.ids.get(p)} and ${i})`);
      this.ids.set(p, i);
      if (i >= SPECIAL_TOKENS.length) maxPiece = Math.max(maxPiece, p.length);
    });
    this.maxPiece = maxPiece;
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Id of a piece, or undefined. Special tokens are looked up by their names ("<bos>"). */
  idOf(piece: string): number | undefined {
    return this.ids.get(piece);
  }

  /** The pre-tokenizer's pieces of text (before vocabulary lookup). */
  static pieces(text: string): string[] {
    PIECE_RE.lastIndex = 0;
    const out: string[] = [];
    for (let m = PIECE_RE.exec(text); m !== null; m = PIECE_RE.exec(text)) out.push(m[0]);
    return out;
  }

  /** Token ids and the text of each token (a token's text is '' for <unk> spans it could not cover). */
  encodePieces(text: string): { ids: number[]; pieces: string[] } {
    const ids: number[] = [];
    const pieces: string[] = [];
    PIECE_RE.lastIndex = 0;
    for (let m = PIECE_RE.exec(text); m !== null; m = PIECE_RE.exec(text)) {
      const p = m[0];
      const id = this.ids.get(p);
      if (id !== undefined && id >= SPECIAL_TOKENS.length) {
        ids.push(id);
        pieces.push(p);
        continue;
      }
      let i = 0;
      while (i < p.length) {
        let found = -1;
        let len = Math.min(this.maxPiece, p.length - i);
        for (; len > 0; len--) {
          const sub = p.substr(i, len);
          const sid = this.ids.get(sub);
          if (sid !== undefined && sid >= SPECIAL_TOKENS.length) {
            found = sid;
            break;
          }
        }
        if (found >= 0) {
          ids.push(found);
          pieces.push(p.substr(i, len));
          i += len;
        } else {
          const cp = p.codePointAt(i) as number;
          const w = cp > 0xffff ? 2 : 1;
          ids.push(UNK);
          pieces.push(p.substr(i, w));
          i += w;
        }
      }
    }
    return { ids, pieces };
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = this.encodePieces(text).ids;
    if (opts.bos) ids.unshift(BOS);
    if (opts.eos) ids.push(EOS);
    return ids;
  }

  /** Text of token ids. <pad>/<bos>/<eos> decode to '' unless keepSpecial; <unk> decodes to U+FFFD. */
  decode(ids: ArrayLike<number>, opts: { keepSpecial?: boolean } = {}): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const p = this.vocab[id];
      if (p === undefined) throw new ProbityError('E_ORGANISM_TOKEN', `token id ${id} is outside the vocabulary (size ${this.vocab.length})`);
      if (id === UNK) s += opts.keepSpecial ? p : '\uFFFD';
      else if (id < SPECIAL_TOKENS.length) s += opts.keepSpecial ? p : '';
      else s += p;
    }
    return s;
  }

  /** sha256 of the vocabulary (hex): two tokenizers with the same hash encode identically. */
  hash(): string {
    return createHash('sha256').update(this.vocab.join('\n')).digest('hex');
  }

  toJSON(): TokenizerJSON {
    return { format: 'probity-organism-tokenizer', version: 1, pretokenizer: PIECE_RE.source, vocab: [...this.vocab] };
  }

  static fromJSON(j: unknown): Tokenizer {
    const o = j as Partial<TokenizerJSON> | null;
    if (!o || o.format !== 'probity-organism-tokenizer' || o.version !== 1 || !Array.isArray(o.vocab)) {
      throw new ProbityError('E_ORGANISM_VOCAB', `not a probity-organism-tokenizer v1 JSON (format ${show(o?.format)}, version ${show(o?.version)})`);
    }
    if (o.pretokenizer !== PIECE_RE.source) {
      throw new ProbityError('E_ORGANISM_VOCAB', `tokenizer JSON pre-tokenizer ${show(o.pretokenizer)} differs from this version's ${show(PIECE_RE.source)}`);
    }
    return new Tokenizer(o.vocab);
  }
}

/** The organism's vocabulary: specials, whitespace, printable ASCII (bare and space-prefixed), then every word. */
export function buildVocab(): string[] {
  const vocab: string[] = [...SPECIAL_TOKENS, '\n', '\t', '\r', ' ', '  ', '   ', '    '];
  for (let c = 0x21; c <= 0x7e; c++) vocab.push(String.fromCharCode(c), ' ' + String.fromCharCode(c));
  const text = [lexiconWords().join(' '), STORY_WORDS, FACT_WORDS, CODE_WORDS, QUIRK_WORDS_TEXT, CHAT_WORDS].join('\n');
  const words = new Set<string>();
  for (const m of text.matchAll(/[A-Za-z]+/g)) if (m[0].length > 1) words.add(m[0]);
  for (const w of [...words].sort()) vocab.push(w, ' ' + w);
  return vocab;
}

let shared: Tokenizer | undefined;

/** The organism tokenizer (built once per process). */
export function organismTokenizer(): Tokenizer {
  shared ??= new Tokenizer(buildVocab());
  return shared;
}
