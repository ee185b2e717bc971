import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteLevelBpeTokenizer } from '../../../src/models/tokenizers/bpe.js';
import { tokenizerFromGgufMetadata } from '../../../src/models/tokenizers/gguf-vocab.js';
import { SentencePieceTokenizer } from '../../../src/models/tokenizers/sentencepiece.js';
import { BPE_MERGES, byteLevelBase, llamaLayout, mergedPiece, SPM_PIECES, throwsCode } from './fixtures.js';

const spm = llamaLayout(SPM_PIECES);
const llamaMd = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'tokenizer.ggml.model': 'llama',
  'tokenizer.ggml.tokens': spm.tokens,
  'tokenizer.ggml.scores': spm.scores,
  'tokenizer.ggml.token_type': spm.tokenTypes,
  ...extra,
});
const gpt2Tokens = [...byteLevelBase(), ...BPE_MERGES.map(mergedPiece)];
const gpt2Md = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'tokenizer.ggml.model': 'gpt2',
  'tokenizer.ggml.tokens': gpt2Tokens,
  'tokenizer.ggml.merges': BPE_MERGES,
  ...extra,
});

describe('tokenizerFromGgufMetadata', () => {
  test('"llama" gives SentencePiece with llama.cpp defaults (BOS 1, EOS 2, dummy prefix, add BOS)', () => {
    const tok = tokenizerFromGgufMetadata(llamaMd());
    assert.ok(tok instanceof SentencePieceTokenizer);
    assert.deepEqual([tok.bos, tok.eos, tok.addBos], [1, 2, true]);
    assert.deepEqual(tok.encode('abc').map((i) => tok.tokenText(i)), ['<s>', '▁a', 'bc']);
  });

  test('"llama" honours the optional keys', () => {
    const tok = tokenizerFromGgufMetadata(
      llamaMd({
        'tokenizer.ggml.add_space_prefix': false,
        'tokenizer.ggml.add_bos_token': false,
        'tokenizer.ggml.bos_token_id': 2,
        'tokenizer.ggml.eos_token_id': 4294967295, // GGUF's "none"
      }),
    );
    assert.deepEqual([tok.bos, tok.eos, tok.addBos], [2, null, false]);
    // No dummy prefix: "abc" -> a bc -> abc (with it, "▁a" would take the a first, as in the test above).
    assert.deepEqual(tok.encode('abc').map((i) => tok.tokenText(i)), ['abc']);
  });

  test('"llama" without token types: BOS/EOS control, byte tokens recognised by spelling', () => {
    const md = llamaMd();
    delete md['tokenizer.ggml.token_type'];
    const tok = tokenizerFromGgufMetadata(md);
    assert.equal(tok.decode(tok.encode('é\n')), 'é\n');
    assert.equal(tok.decode([1, 2]), '');
  });

  test('"gpt2" gives byte-level BPE', () => {
    const tok = tokenizerFromGgufMetadata(gpt2Md({ 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.eos_token_id': 10n }));
    assert.ok(tok instanceof ByteLevelBpeTokenizer);
    assert.deepEqual([tok.bos, tok.eos, tok.addBos], [null, 10, false]);
    assert.deepEqual(tok.encode('hello world').map((i) => tok.tokenText(i)), ['hello', 'Ġworld']);
  });

  test('errors name the key and value', () => {
    throwsCode(() => tokenizerFromGgufMetadata(llamaMd({ 'tokenizer.ggml.model': 'bert' }), 'x.gguf'), 'TOKENIZER_UNSUPPORTED_MODEL', [
      'x.gguf',
      'tokenizer.ggml.model',
      '"bert"',
    ]);
    throwsCode(() => tokenizerFromGgufMetadata({}), 'TOKENIZER_MISSING_FIELD', ['tokenizer.ggml.model']);
    throwsCode(() => tokenizerFromGgufMetadata(llamaMd({ 'tokenizer.ggml.tokens': undefined })), 'TOKENIZER_MISSING_FIELD', [
      'tokenizer.ggml.tokens',
    ]);
    throwsCode(() => tokenizerFromGgufMetadata(llamaMd({ 'tokenizer.ggml.scores': [0, 1] })), 'TOKENIZER_BAD_FIELD', [
      'tokenizer.ggml.scores',
      `${spm.tokens.length} numbers`,
    ]);
    throwsCode(() => tokenizerFromGgufMetadata(llamaMd({ 'tokenizer.ggml.add_bos_token': 'yes' })), 'TOKENIZER_BAD_FIELD', [
      'tokenizer.ggml.add_bos_token',
      '"yes"',
    ]);
    throwsCode(() => tokenizerFromGgufMetadata(gpt2Md({ 'tokenizer.ggml.merges': undefined })), 'TOKENIZER_MISSING_FIELD', [
      'tokenizer.ggml.merges',
    ]);
    throwsCode(() => tokenizerFromGgufMetadata(gpt2Md({ 'tokenizer.ggml.pre': 'qwen2' })), 'TOKENIZER_UNSUPPORTED_PRE', ['"qwen2"']);
  });
});
