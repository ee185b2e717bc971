// Builds the tokenizer a GGUF file describes, from its tokenizer.ggml.* metadata. Defaults follow llama.cpp
// (llama-vocab.cpp) for keys older files omit.
import { ProbityError, show } from '../../errors.js';
import { bpeFromGgufVocab } from './bpe.js';
import { parseByteToken } from './bytes.js';
import { fromGgufVocab } from './sentencepiece.js';
import { TokenType, type Tokenizer } from './types.js';

/** `source` (e.g. the file path) only serves error messages. */
export function tokenizerFromGgufMetadata(metadata: Record<string, unknown>, source = 'GGUF metadata'): Tokenizer {
  const md = new Fields(metadata, source);
  const model = metadata['tokenizer.ggml.model'];
  switch (model) {
    case 'llama': {
      const tokens = md.strings('tokenizer.ggml.tokens');
      const bos = md.id('tokenizer.ggml.bos_token_id', tokens.length, 1);
      const eos = md.id('tokenizer.ggml.eos_token_id', tokens.length, 2);
      const unk = md.id('tokenizer.ggml.unknown_token_id', tokens.length, null);
      return fromGgufVocab({
        tokens,
        scores: md.numbers('tokenizer.ggml.scores', tokens.length) ?? tokens.map(() => 0),
        tokenTypes: md.numbers('tokenizer.ggml.token_type', tokens.length) ?? guessTypes(tokens, [bos, eos], unk),
        bos,
        eos,
        unk,
        addSpacePrefix: md.bool('tokenizer.ggml.add_space_prefix') ?? true,
        addBos: md.bool('tokenizer.ggml.add_bos_token') ?? true,
      });
    }
    case 'gpt2': {
      const tokens = md.strings('tokenizer.ggml.tokens');
      const pre = metadata['tokenizer.ggml.pre'];
      return bpeFromGgufVocab({
        tokens,
        merges: md.strings('tokenizer.ggml.merges'),
        tokenTypes: md.numbers('tokenizer.ggml.token_type', tokens.length) ?? undefined,
        bos: md.id('tokenizer.ggml.bos_token_id', tokens.length, null),
        eos: md.id('tokenizer.ggml.eos_token_id', tokens.length, null),
        addBos: md.bool('tokenizer.ggml.add_bos_token'), // absent: the pre-tokenizer's default
        pre: typeof pre === 'string' ? pre : undefined,
      });
    }
    case undefined:
      throw new ProbityError('TOKENIZER_MISSING_FIELD', `${source}: no tokenizer.ggml.model; expected "llama" or "gpt2"`);
    default:
      throw new ProbityError(
        'TOKENIZER_UNSUPPORTED_MODEL',
        `${source}: tokenizer.ggml.model is ${show(model)}; probity supports "llama" (SentencePiece) and "gpt2" (byte-level BPE)`,
      );
  }
}

/** Files without token types: BOS/EOS are control, byte tokens are recognised by their spelling, the rest normal. */
function guessTypes(tokens: string[], control: (number | null)[], unk: number | null): number[] {
  return tokens.map((t, id) => {
    if (control.includes(id)) return TokenType.control;
    if (id === unk) return TokenType.unknown;
    return parseByteToken(t) !== null ? TokenType.byte : TokenType.normal;
  });
}

/** Typed reads of metadata values with errors that name the key. */
class Fields {
  constructor(
    private readonly md: Record<string, unknown>,
    private readonly source: string,
  ) {}

  private fail(key: string, expected: string, value: unknown): never {
    if (value === undefined) throw new ProbityError('TOKENIZER_MISSING_FIELD', `${this.source}: no ${key}; expected ${expected}`);
    const shown = Array.isArray(value) ? `an array of ${value.length}` : show(value);
    throw new ProbityError('TOKENIZER_BAD_FIELD', `${this.source}: ${key} is ${shown}; expected ${expected}`);
  }

  strings(key: string): string[] {
    const v = this.md[key];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.fail(key, 'an array of strings', v);
    return v;
  }

  /** Optional numeric array of a given length (typed arrays accepted). */
  numbers(key: string, length: number): number[] | null {
    const v = this.md[key];
    if (v === undefined) return null;
    const a = ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v;
    if (!Array.isArray(a) || a.length !== length || !a.every((x) => typeof x === 'number')) {
      this.fail(key, `an array of ${length} numbers (one per token)`, v);
    }
    return a;
  }

  /** A token id, or `fallback` when absent; out-of-range values (GGUF writes 0xFFFFFFFF for "none") mean none. */
  id(key: string, vocabSize: number, fallback: number | null): number | null {
    const raw = this.md[key];
    if (raw === undefined) return fallback;
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, 'an integer token id', raw);
    return v >= 0 && v < vocabSize ? v : null;
  }

  bool(key: string): boolean | undefined {
    const v = this.md[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', v);
    return v;
  }
}
