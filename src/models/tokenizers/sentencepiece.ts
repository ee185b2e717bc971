// SentencePiece-style (BPE-by-score) tokenizer over a GGUF "llama" vocabulary, matching llama.cpp's SPM tokenizer and
// llama2.c's encode/decode: start from single characters and repeatedly merge the adjacent pair whose concatenation
// is a vocabulary piece with the highest score (ties: leftmost); characters left without a piece fall back to
// byte tokens <0xXX>.
import { ProbityError } from '../../errors.js';
import { bosPrefix, bytesToText, checkId, EMPTY, parseByteToken, utf8 } from './bytes.js';
import { PriorityQueue } from './priority-queue.js';
import { TokenType, type Tokenizer } from './types.js';

export interface SpmVocab {
  tokens: string[];
  scores: number[];
  /** GGUF token types (TokenType); byte tokens must be typed 6 to decode as bytes. */
  tokenTypes: number[];
  bos: number | null;
  eos: number | null;
  /** Fallback for characters with neither a piece nor a byte token; defaults to the first token of type unknown. */
  unk?: number | null;
  /** SentencePiece's "dummy prefix": encode prepends U+2581, so a text's first word is tokenised like any other. */
  addSpacePrefix: boolean;
  /** Defaults to true when there is a BOS id (llama.cpp's default for SPM vocabularies). */
  addBos?: boolean;
}

/** U+2581 LOWER ONE EIGHTH BLOCK: how SentencePiece writes a space inside pieces. */
const SPACE = '\u2581';

export function fromGgufVocab(v: SpmVocab): Tokenizer {
  return new SentencePieceTokenizer(v);
}

/** A span [start, end) of the escaped text; merged-away symbols become empty. prev/next link the live symbols. */
interface Sym {
  start: number;
  end: number;
  prev: number;
  next: number;
}

/** A candidate merge of symbols left and right; len is the merged length when queued, to detect stale entries. */
interface Bigram {
  left: number;
  right: number;
  score: number;
  len: number;
}

const mergesFirst = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

export class SentencePieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly addBos: boolean;
  /** Pieces that may match text: normal and user-defined. Control, byte, unknown and unused pieces never match text
   *  (as in SentencePiece), so a literal "<s>" or "<0x41>" in the input stays plain text. */
  private readonly pieceIds = new Map<string, number>();
  private readonly byteIds = new Map<number, number>();
  private readonly unk: number | null;
  /** What each id decodes to. */
  private readonly pieceBytes: Uint8Array[];

  constructor(private readonly v: SpmVocab) {
    const n = v.tokens.length;
    if (v.scores.length !== n || v.tokenTypes.length !== n) {
      throw new ProbityError(
        'TOKENIZER_BAD_VOCAB',
        `SentencePiece vocabulary has ${n} tokens but ${v.scores.length} scores and ${v.tokenTypes.length} token types; expected one of each per token`,
      );
    }
    this.vocabSize = n;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos ?? v.bos !== null;
    let firstUnk: number | null = null;
    this.pieceBytes = v.tokens.map((piece, id) => {
      const type = v.tokenTypes[id];
      if (type === TokenType.normal || type === TokenType.userDefined) {
        if (!this.pieceIds.has(piece)) this.pieceIds.set(piece, id);
      }
      if (type === TokenType.unknown && firstUnk === null) firstUnk = id;
      if (type === TokenType.control) return EMPTY;
      const byte = type === TokenType.byte ? parseByteToken(piece) : null;
      if (byte !== null) {
        this.byteIds.set(byte, id);
        return Uint8Array.of(byte);
      }
      // Unknown and unused pieces decode as their text ("<unk>", as llama2.c prints it) rather than vanish.
      return utf8(piece.replaceAll(SPACE, ' '));
    });
    this.unk = v.unk ?? firstUnk;
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = bosPrefix(this.bos, opts.bos ?? this.addBos);
    if (text === '') return ids; // llama.cpp adds no dummy prefix to empty text either
    const s = (this.v.addSpacePrefix ? SPACE : '') + text.replaceAll(' ', SPACE);

    // One symbol per Unicode code point (a surrogate pair is one symbol).
    const syms: Sym[] = [];
    for (let i = 0; i < s.length; ) {
      const width = s.codePointAt(i)! > 0xffff ? 2 : 1;
      syms.push({ start: i, end: i + width, prev: syms.length - 1, next: syms.length + 1 });
      i += width;
    }
    syms[syms.length - 1].next = -1;

    const queue = new PriorityQueue<Bigram>(mergesFirst);
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const piece = s.slice(syms[left].start, syms[right].end);
      const id = this.pieceIds.get(piece);
      if (id !== undefined) queue.push({ left, right, score: this.v.scores[id], len: piece.length });
    };
    for (let i = 1; i < syms.length; i++) tryAdd(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const l = syms[b.left];
      const r = syms[b.right];
      // Skip entries made stale by an earlier merge that emptied or grew one side.
      if (l.start === l.end || r.start === r.end || l.next !== b.right || r.end - l.start !== b.len) continue;
      l.end = r.end;
      r.end = r.start;
      l.next = r.next;
      if (r.next >= 0) syms[r.next].prev = b.left;
      tryAdd(l.prev, b.left);
      tryAdd(b.left, l.next);
    }

    for (let i = 0; i >= 0; i = syms[i].next) {
      const piece = s.slice(syms[i].start, syms[i].end);
      const id = this.pieceIds.get(piece);
      if (id !== undefined) ids.push(id);
      else ids.push(...this.byteFallback(piece));
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    const text = bytesToText(ids.map((id) => this.bytesOf(id)));
    // Undo the dummy prefix, as HF's Strip decoder and llama.cpp's detokenizer do.
    return this.v.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
  }

  decodeToken(id: number, prev: number | null): Uint8Array {
    const bytes = this.bytesOf(id);
    // llama2.c: "following BOS token, sentencepiece decoder strips any leading whitespace".
    if (this.v.addSpacePrefix && prev !== null && prev === this.bos && bytes[0] === 0x20) return bytes.subarray(1);
    return bytes;
  }

  tokenText(id: number): string {
    checkId(id, this.vocabSize);
    return this.v.tokens[id];
  }

  private bytesOf(id: number): Uint8Array {
    checkId(id, this.vocabSize);
    return this.pieceBytes[id];
  }

  /** A character with no piece of its own: its UTF-8 bytes as byte tokens, else one unknown token. */
  private byteFallback(piece: string): number[] {
    const ids: number[] = [];
    for (const byte of utf8(piece)) {
      const id = this.byteIds.get(byte);
      if (id === undefined) {
        if (this.unk !== null) return [this.unk];
        throw new ProbityError(
          'TOKENIZER_UNENCODABLE',
          `cannot encode ${JSON.stringify(piece)}: no vocabulary piece, no byte token for 0x${byte.toString(16)} and no unknown token`,
        );
      }
      ids.push(id);
    }
    return ids;
  }
}
