import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bpeFromGgufVocab, type BpeVocab } from '../../../src/models/tokenizers/bpe.js';
import { hfTokenizerFromJson } from '../../../src/models/tokenizers/hf-tokenizer-json.js';
import { createStreamDecoder } from '../../../src/models/tokenizers/stream.js';
import { TokenType } from '../../../src/models/tokenizers/types.js';
import { BPE_MERGES, byteLevelBase, mergedPiece, randomStrings, ROUND_TRIP_STRINGS, throwsCode } from './fixtures.js';

// ids 0..255: bytes; 256..268: merges in rank order; 269: "ell", a piece no merge builds; 270: <|endoftext|> (control).
const tokens = [...byteLevelBase(), ...BPE_MERGES.map(mergedPiece), 'ell', '<|endoftext|>'];
const EOT = tokens.length - 1;
const vocab = (extra: Partial<BpeVocab> = {}): BpeVocab => ({
  tokens,
  merges: BPE_MERGES,
  tokenTypes: tokens.map((_, i) => (i === EOT ? TokenType.control : TokenType.normal)),
  bos: EOT,
  eos: EOT,
  ...extra,
});
const tok = bpeFromGgufVocab(vocab());
const id = (piece: string) => tokens.indexOf(piece);
const ch = (c: string) => c.charCodeAt(0); // an ASCII byte's id is the byte

/** The same vocabulary as a tokenizer.json, to cross-check against @huggingface/tokenizers. */
function asTokenizerJson(preTokenizer: object, ignoreMerges = false) {
  return {
    added_tokens: [{ id: EOT, content: '<|endoftext|>', special: true }],
    pre_tokenizer: preTokenizer,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges: BPE_MERGES, ignore_merges: ignoreMerges },
  };
}
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

describe('byte-level BPE, hand-made vocab', () => {
  test('merges apply in rank order', () => {
    // hello: h e l l o -> he l l o -> he ll o -> hell o -> hello; " world": Ġ w o r l d -> ... -> Ġworld.
    assert.deepEqual(tok.encode('hello world'), [id('hello'), id('Ġworld')]);
    // "ell": "l l" (rank 1) beats "e l" (rank 9).
    assert.deepEqual(tok.encode('ell'), [ch('e'), id('ll')]);
    // Equal pairs merge leftmost first.
    assert.deepEqual(tok.encode('lll'), [id('ll'), ch('l')]);
    // A space starts the next word, written Ġ; no merge joins Ġ and "hello".
    assert.deepEqual(tok.encode(' hello'), [32, id('hello')]);
  });

  test('pre-tokenizer choice: GPT-2 keeps digit runs whole, llama-bpe splits them in threes', () => {
    const llama3 = bpeFromGgufVocab(vocab({ pre: 'llama-bpe' }));
    // GPT-2: one word 1 2 3 4 -> 12 3 4 -> 12 34 ("3 4" outranks "12 3").
    assert.deepEqual(tok.encode('1234'), [id('12'), id('34')]);
    // Llama 3: "123" + "4" -> 123, 4.
    assert.deepEqual(llama3.encode('1234', { bos: false }), [id('123'), ch('4')]);
    // Llama 3 ignores merges for a word that is a piece itself, and adds BOS by default (llama.cpp).
    assert.deepEqual(llama3.encode('ell'), [EOT, id('ell')]);
    assert.deepEqual(llama3.encode('hello', { bos: false }), [id('hello')]);
    throwsCode(() => bpeFromGgufVocab(vocab({ pre: 'qwen2' })), 'TOKENIZER_UNSUPPORTED_PRE', ['"qwen2"', '"llama-bpe"']);
  });

  test('decode(encode(s)) === s', () => {
    for (const s of [...ROUND_TRIP_STRINGS, ...randomStrings(3, 200)]) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
  });

  test('control tokens are not matched in text and decode to nothing', () => {
    assert.ok(!tok.encode('<|endoftext|>').includes(EOT));
    assert.equal(tok.decode([EOT, id('hello'), EOT]), 'hello');
    assert.equal(tok.tokenText(EOT), '<|endoftext|>');
    assert.equal(tok.addBos, false);
    assert.deepEqual(tok.encode('hello', { bos: true }), [EOT, id('hello')]);
  });

  test('streaming decode assembles characters split across byte tokens', () => {
    const ids = tok.encode('a世');
    assert.deepEqual(ids, [ch('a'), 0xe4, 0xb8, 0x96]);
    const s = createStreamDecoder(tok);
    assert.deepEqual(ids.map((i) => s.push(i)), ['a', '', '', '世']);
  });

  test('agrees with @huggingface/tokenizers on the same vocab and merges', () => {
    const gpt2 = hfTokenizerFromJson(asTokenizerJson({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }));
    const llama3 = hfTokenizerFromJson(
      asTokenizerJson({
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      }, true),
    );
    const ours3 = bpeFromGgufVocab(vocab({ pre: 'llama-bpe' }));
    for (const s of [...ROUND_TRIP_STRINGS, "WE'LL 'S 'Re ell", ...randomStrings(4, 300, 40)]) {
      assert.deepEqual(tok.encode(s, { bos: false }), gpt2.encode(s, { bos: false }), `gpt-2 ${JSON.stringify(s)}`);
      assert.deepEqual(ours3.encode(s, { bos: false }), llama3.encode(s, { bos: false }), `llama-bpe ${JSON.stringify(s)}`);
    }
  });

  test('malformed vocabularies are refused', () => {
    throwsCode(() => bpeFromGgufVocab(vocab({ merges: ['he'] })), 'TOKENIZER_BAD_VOCAB', ['"he"']);
    throwsCode(() => bpeFromGgufVocab(vocab({ tokenTypes: [1] })), 'TOKENIZER_BAD_VOCAB', ['1 token types']);
    throwsCode(() => bpeFromGgufVocab(vocab({ tokens: tokens.slice(0, 32), tokenTypes: undefined })).encode('a'), 'TOKENIZER_UNENCODABLE');
  });
});
