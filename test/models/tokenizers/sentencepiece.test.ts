import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromGgufVocab } from '../../../src/models/tokenizers/sentencepiece.js';
import { createStreamDecoder } from '../../../src/models/tokenizers/stream.js';
import { TokenType } from '../../../src/models/tokenizers/types.js';
import { byteTokenName, llamaLayout, ROUND_TRIP_STRINGS, SPM_PIECES, throwsCode } from './fixtures.js';

const tok = fromGgufVocab(llamaLayout(SPM_PIECES));
const id = (piece: string) => 259 + SPM_PIECES.findIndex(([p]) => p === piece);
const byteId = (b: number) => 3 + b;
const pieces = (ids: number[]) => ids.map((i) => tok.tokenText(i));

describe('SentencePiece tokenizer, hand-made vocab', () => {
  test('merges the highest-scoring pair first', () => {
    // "▁abc": bc (-0.5) beats ab (-1) and ▁a (-2); then ab is stale, ▁a merges, "▁abc" is no piece.
    assert.deepEqual(pieces(tok.encode('abc', { bos: false })), ['▁a', 'bc']);
    assert.deepEqual(tok.encode('abc', { bos: false }), [id('▁a'), id('bc')]);
  });

  test('equal scores merge leftmost first', () => {
    // "▁aaa": both "aa" pairs score -1; the left one wins, leaving "▁ aa a" (rightmost first would give "▁a aa").
    assert.deepEqual(pieces(tok.encode('aaa', { bos: false })), ['▁', 'aa', 'a']);
  });

  test('spaces become ▁ and the dummy prefix is added once', () => {
    assert.deepEqual(pieces(tok.encode('b c', { bos: false })), ['▁', 'b', '▁', 'c']);
    assert.deepEqual(tok.encode('', { bos: false }), []);
  });

  test('BOS follows addBos unless asked', () => {
    assert.equal(tok.addBos, true);
    assert.deepEqual(tok.encode('abc'), [1, id('▁a'), id('bc')]);
    assert.deepEqual(tok.encode('', { bos: true }), [1]);
  });

  test('characters without a piece fall back to UTF-8 byte tokens', () => {
    assert.deepEqual(tok.encode('é', { bos: false }), [id('▁'), byteId(0xc3), byteId(0xa9)]);
    assert.deepEqual(pieces(tok.encode('a\n', { bos: false })), ['▁a', byteTokenName(0x0a)]);
    assert.deepEqual(tok.encode('🙂', { bos: false }).slice(1), [0xf0, 0x9f, 0x99, 0x82].map(byteId));
  });

  test('control and byte pieces never match plain text', () => {
    const v = llamaLayout([...SPM_PIECES, ['<', 0], ['s', 0], ['>', 0], ['<s', 0]]);
    const t = fromGgufVocab(v);
    const ids = t.encode('<s>', { bos: false });
    assert.ok(!ids.includes(1), `"<s>" as text must not become BOS: ${ids}`);
    assert.equal(t.decode(ids), '<s>');
  });

  test('decode: ▁ -> space, bytes assembled, control tokens dropped, dummy prefix removed', () => {
    assert.equal(tok.decode([1, id('▁a'), id('bc'), 2]), 'abc');
    assert.equal(tok.decode([id('▁'), byteId(0xc3), byteId(0xa9)]), 'é');
    assert.equal(tok.decode([]), '');
    for (const s of ROUND_TRIP_STRINGS) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
  });

  test('decodeToken drops the leading space only right after BOS (llama2.c)', () => {
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.equal(text(tok.decodeToken(id('▁a'), 1)), 'a');
    assert.equal(text(tok.decodeToken(id('▁a'), id('bc'))), ' a');
    assert.equal(text(tok.decodeToken(id('▁a'), null)), ' a');
    assert.deepEqual([...tok.decodeToken(byteId(0xc3), null)], [0xc3]);
    assert.equal(tok.decodeToken(2, id('a')).length, 0);
  });

  test('streaming decode yields whole characters and equals decode', () => {
    const s = createStreamDecoder(tok);
    assert.equal(s.push(id('▁')), ' ');
    assert.equal(s.push(byteId(0xc3)), '', 'half a character waits');
    assert.equal(s.push(byteId(0xa9)), 'é');
    assert.equal(s.end(), '');
    for (const str of ROUND_TRIP_STRINGS) {
      const ids = tok.encode(str, { bos: true });
      const d = createStreamDecoder(tok, ids[0]);
      const streamed = ids.slice(1).map((i) => d.push(i)).join('') + d.end();
      assert.equal(streamed, tok.decode(ids), JSON.stringify(str));
    }
  });

  test('no byte tokens: one unknown token per character; no unknown either: an error', () => {
    const v = llamaLayout(SPM_PIECES);
    v.tokenTypes = v.tokenTypes.map((t) => (t === TokenType.byte ? TokenType.unused : t));
    assert.deepEqual(fromGgufVocab(v).encode('aé', { bos: false }), [id('▁a'), 0]);
    v.tokenTypes[0] = TokenType.normal;
    throwsCode(() => fromGgufVocab(v).encode('é'), 'TOKENIZER_UNENCODABLE', ['"é"']);
  });

  test('bad ids, bad vocab, missing BOS', () => {
    throwsCode(() => tok.decode([tok.vocabSize]), 'TOKENIZER_BAD_ID', [String(tok.vocabSize)]);
    throwsCode(() => tok.tokenText(-1), 'TOKENIZER_BAD_ID');
    throwsCode(() => tok.decodeToken(1.5, null), 'TOKENIZER_BAD_ID');
    throwsCode(() => fromGgufVocab({ ...llamaLayout(SPM_PIECES), scores: [0] }), 'TOKENIZER_BAD_VOCAB', ['1 scores']);
    const noBos = fromGgufVocab({ ...llamaLayout(SPM_PIECES), bos: null });
    assert.equal(noBos.addBos, false);
    throwsCode(() => noBos.encode('a', { bos: true }), 'TOKENIZER_NO_BOS');
  });
});
