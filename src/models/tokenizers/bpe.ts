// GPT-2 byte-level BPE over a GGUF "gpt2" vocabulary (tokenizer.ggml.tokens + tokenizer.ggml.merges): split the text
// with the pre-tokenizer regex, write each piece's UTF-8 bytes as GPT-2's printable stand-in characters ("Ġ" for a
// space), then apply merges in rank order (lowest rank first, leftmost on ties), as HF tokenizers and llama.cpp do.
import { ProbityError, show } from '../../errors.js';
import { bosPrefix, bytesToText, checkId, EMPTY, utf8 } from './bytes.js';
import { TokenType, type Tokenizer } from './types.js';

export interface BpeVocab {
  /** Pieces in byte-level form ("Ġworld"); user-defined (type 4) pieces are raw text. */
  tokens: string[];
  /** "left right" pairs, highest priority first. */
  merges: string[];
  /** GGUF token types (TokenType); defaults to all normal. */
  tokenTypes?: number[];
  bos: number | null;
  eos: number | null;
  /** Defaults to the pre-tokenizer's custom, as in llama.cpp: false for GPT-2, true for Llama 3. */
  addBos?: boolean;
  /** GGUF tokenizer.ggml.pre: which pre-tokenizer regex; see PRE_TOKENIZERS. Defaults to GPT-2's. */
  pre?: string;
}

/** Pre-tokenizers by llama.cpp's tokenizer.ggml.pre name (llama-vocab.cpp): the split regex, whether a word that
 *  is itself a vocabulary piece skips the merges (HF's ignore_merges), and whether a BOS is added by default.
 *  Node 20 lacks (?i:...), hence the spelled-out contractions in Llama 3's pattern. */
interface PreTokenizer {
  regex: RegExp;
  ignoreMerges: boolean;
  addBos: boolean;
}
const GPT2_PRE: PreTokenizer = {
  regex: /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu,
  ignoreMerges: false,
  addBos: false,
};
const LLAMA3_PRE: PreTokenizer = {
  regex:
    /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu,
  ignoreMerges: true,
  addBos: true,
};
const PRE_TOKENIZERS: Record<string, PreTokenizer> = {
  default: GPT2_PRE,
  'gpt-2': GPT2_PRE,
  'llama-bpe': LLAMA3_PRE,
  llama3: LLAMA3_PRE,
  'llama-v3': LLAMA3_PRE,
};

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards, so that
 *  every byte has a visible, non-space character. */
export function byteToUnicode(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : next++);
  }
  return table;
}

const BYTE_CHAR = byteToUnicode();
const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));

export function bpeFromGgufVocab(v: BpeVocab): Tokenizer {
  return new ByteLevelBpeTokenizer(v);
}

export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | null;
  readonly eos: number | null;
  readonly addBos: boolean;
  private readonly pre: PreTokenizer;
  /** "left right" -> rank. */
  private readonly ranks = new Map<string, number>();
  /** Pieces that may match text (normal and user-defined; never control tokens such as <|endoftext|>). */
  private readonly pieceIds = new Map<string, number>();
  private readonly pieceBytes: Uint8Array[];
  /** Pre-tokenised words repeat a lot in natural text; remember their ids. */
  private readonly cache = new Map<string, number[]>();

  constructor(private readonly v: BpeVocab) {
    const types = v.tokenTypes ?? v.tokens.map(() => TokenType.normal);
    if (types.length !== v.tokens.length) {
      throw new ProbityError(
        'TOKENIZER_BAD_VOCAB',
        `BPE vocabulary has ${v.tokens.length} tokens but ${types.length} token types; expected one per token`,
      );
    }
    const pre = PRE_TOKENIZERS[v.pre ?? 'default'];
    if (pre === undefined) {
      throw new ProbityError(
        'TOKENIZER_UNSUPPORTED_PRE',
        `BPE pre-tokenizer ${show(v.pre)} is not supported; expected one of ${Object.keys(PRE_TOKENIZERS).map(show).join(', ')}`,
      );
    }
    this.pre = pre;
    this.vocabSize = v.tokens.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos ?? pre.addBos;
    v.merges.forEach((m, rank) => {
      const space = m.indexOf(' ', 1);
      if (space < 0) {
        throw new ProbityError('TOKENIZER_BAD_VOCAB', `BPE merge ${rank} is ${show(m)}; expected "left right"`);
      }
      if (!this.ranks.has(m)) this.ranks.set(m, rank);
    });
    this.pieceBytes = v.tokens.map((piece, id) => {
      const type = types[id];
      if ((type === TokenType.normal || type === TokenType.userDefined) && !this.pieceIds.has(piece)) {
        this.pieceIds.set(piece, id);
      }
      if (type === TokenType.control) return EMPTY;
      if (type === TokenType.userDefined) return utf8(piece);
      return Uint8Array.from([...piece].flatMap((c) => CHAR_BYTE.get(c) ?? [...utf8(c)]));
    });
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = bosPrefix(this.bos, opts.bos ?? this.addBos);
    for (const [word] of text.matchAll(this.pre.regex)) {
      let wordIds = this.cache.get(word);
      if (wordIds === undefined) {
        wordIds = this.encodeWord(word);
        if (this.cache.size >= 10000) this.cache.clear();
        this.cache.set(word, wordIds);
      }
      ids.push(...wordIds);
    }
    return ids;
  }

  private encodeWord(word: string): number[] {
    const syms = Array.from(utf8(word), (b) => BYTE_CHAR[b]);
    const whole = this.pre.ignoreMerges ? this.pieceIds.get(syms.join('')) : undefined;
    if (whole !== undefined) return [whole];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const rank = this.ranks.get(syms[i] + ' ' + syms[i + 1]);
        if (rank !== undefined && rank < bestRank) {
          best = i;
          bestRank = rank;
        }
      }
      if (best < 0) break;
      syms.splice(best, 2, syms[best] + syms[best + 1]);
    }
    return syms.flatMap((sym) => {
      const id = this.pieceIds.get(sym);
      if (id !== undefined) return [id];
      // A merge result missing from the vocabulary (a malformed vocab): fall back to its single bytes.
      return [...sym].map((c) => {
        const byteId = this.pieceIds.get(c);
        if (byteId !== undefined) return byteId;
        throw new ProbityError(
          'TOKENIZER_UNENCODABLE',
          `cannot encode ${show(word)}: byte piece ${show(c)} is not in the vocabulary`,
        );
      });
    });
  }

  decode(ids: readonly number[]): string {
    return bytesToText(ids.map((id) => this.decodeToken(id, null)));
  }

  decodeToken(id: number, _prev: number | null): Uint8Array {
    checkId(id, this.vocabSize);
    return this.pieceBytes[id]; // byte-level BPE adds no prefix space, so there is none to drop after BOS
  }

  tokenText(id: number): string {
    checkId(id, this.vocabSize);
    return this.v.tokens[id];
  }
}
