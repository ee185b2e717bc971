import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadHfTokenizer } from '../../../src/models/tokenizers/hf-tokenizer-json.js';
import { createStreamDecoder } from '../../../src/models/tokenizers/stream.js';
import type { Tokenizer } from '../../../src/models/tokenizers/types.js';
import { BPE_MERGES, byteLevelBase, byteTokenName, mergedPiece, randomStrings, ROUND_TRIP_STRINGS, tempDir, throwsCode } from './fixtures.js';

const dir = tempDir('tokenizers');
let n = 0;
/** Writes tokenizer.json (and tokenizer_config.json if given) into a fresh folder; returns the tokenizer.json path. */
function write(json: unknown, config?: object): string {
  const d = join(dir, String(n++));
  mkdirSync(d);
  writeFileSync(join(d, 'tokenizer.json'), typeof json === 'string' ? json : JSON.stringify(json));
  if (config) writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(config));
  return join(d, 'tokenizer.json');
}
const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

// GPT-2 style: byte-level BPE; ids 0..255 bytes, 256.. the merges of BPE_MERGES, then <|endoftext|>.
const gpt2Tokens = [...byteLevelBase(), ...BPE_MERGES.map(mergedPiece)];
const EOT = gpt2Tokens.length;
const gpt2Json = {
  version: '1.0',
  added_tokens: [special(EOT, '<|endoftext|>')],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, vocab: Object.fromEntries(gpt2Tokens.map((t, i) => [t, i])), merges: BPE_MERGES },
};

// Llama style: <unk> <s> </s>, byte tokens 3..258, then single characters and merges; "▁" for spaces, a prepended
// dummy prefix, byte fallback for anything else, BOS added by the template, the prefix stripped again on decode.
const llamaVocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
for (let b = 0; b < 256; b++) llamaVocab[byteTokenName(b)] = 3 + b;
const LLAMA_CHARS = ['▁', 'a', 'b', 'c', 'h', 'i', 'é']; // 259..265
const LLAMA_MERGES = ['▁ h', '▁h i', 'a b', 'ab c', '▁ ab']; // 266..270: ▁h ▁hi ab abc ▁ab
[...LLAMA_CHARS, ...LLAMA_MERGES.map(mergedPiece)].forEach((p, i) => (llamaVocab[p] = 259 + i));
const llamaJson = {
  version: '1.0',
  added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
  normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
  pre_tokenizer: null,
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  },
  model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: true, byte_fallback: true, vocab: llamaVocab, merges: LLAMA_MERGES },
};

const text = (b: Uint8Array) => new TextDecoder().decode(b);
// Hugging Face turns added tokens written in the text into their ids (and decode drops specials), so texts
// containing "<s>" do not round-trip; the GGUF tokenizers keep such strings as text.
const PLAIN_STRINGS = ROUND_TRIP_STRINGS.filter((s) => !s.includes('<s>'));
function streamed(tok: Tokenizer, ids: number[]): string {
  const s = createStreamDecoder(tok);
  return ids.map((i) => s.push(i)).join('') + s.end();
}

describe('tokenizer.json, GPT-2 style byte-level BPE', () => {
  const tok = loadHfTokenizer(write(gpt2Json));

  test('encodes by merge rank (same answers as the hand-checked GGUF BPE)', () => {
    assert.deepEqual(tok.encode('hello world'), [gpt2Tokens.indexOf('hello'), gpt2Tokens.indexOf('Ġworld')]);
    assert.deepEqual(tok.encode('lll'), [gpt2Tokens.indexOf('ll'), 'l'.charCodeAt(0)]);
    assert.equal(tok.vocabSize, EOT + 1);
  });

  test('no template: no BOS by default; <|endoftext|> serves as BOS and EOS by name', () => {
    assert.equal(tok.addBos, false);
    assert.equal(tok.bos, EOT);
    assert.equal(tok.eos, EOT);
    assert.deepEqual(tok.encode('hello', { bos: true }), [EOT, gpt2Tokens.indexOf('hello')]);
  });

  test('decode and streaming decode round-trip, specials dropped', () => {
    for (const s of [...PLAIN_STRINGS, ...randomStrings(5, 100)]) {
      const ids = tok.encode(s);
      assert.equal(tok.decode(ids), s, JSON.stringify(s));
      assert.equal(streamed(tok, ids), s, JSON.stringify(s));
    }
    assert.equal(tok.decode([EOT, gpt2Tokens.indexOf('hello')]), 'hello');
    assert.equal(tok.decode([]), '');
    assert.equal(tok.tokenText(gpt2Tokens.indexOf('Ġworld')), 'Ġworld');
  });
});

describe('tokenizer.json, Llama style BPE with byte fallback', () => {
  const tok = loadHfTokenizer(write(llamaJson));
  const id = (p: string) => llamaVocab[p];

  test('encodes by merge rank with byte fallback', () => {
    // "▁abc▁hi": ▁h (rank 0), ▁hi (1), ab (2), then abc (3) beats ▁ab (4): ▁ abc ▁hi.
    assert.deepEqual(tok.encode('abc hi', { bos: false }), [id('▁'), id('abc'), id('▁hi')]);
    // x and \n have no piece: byte tokens.
    assert.deepEqual(tok.encode('hé x\n', { bos: false }), [id('▁h'), id('é'), id('▁'), id('<0x78>'), id('<0x0A>')]);
  });

  test('added tokens written in the text become their ids, as in Hugging Face', () => {
    assert.deepEqual(tok.encode('hi</s>', { bos: false }), [id('▁hi'), 2]);
  });

  test('BOS from the template, EOS by name', () => {
    assert.equal(tok.bos, 1);
    assert.equal(tok.eos, 2);
    assert.equal(tok.addBos, true);
    assert.deepEqual(tok.encode('hi'), [1, id('▁hi')]);
    assert.deepEqual(tok.encode('hi', { bos: false }), [id('▁hi')]);
  });

  test('decode strips the dummy prefix; decodeToken drops the space only after BOS', () => {
    assert.equal(tok.decode([1, id('▁hi'), id('▁'), id('abc'), 2]), 'hi abc');
    assert.equal(text(tok.decodeToken(id('▁hi'), 1)), 'hi');
    assert.equal(text(tok.decodeToken(id('▁hi'), id('abc'))), ' hi');
    assert.deepEqual([...tok.decodeToken(id('<0x0A>'), null)], [0x0a]);
    for (const s of [...PLAIN_STRINGS, ...randomStrings(6, 100)]) {
      const ids = tok.encode(s);
      assert.equal(tok.decode(ids), s, JSON.stringify(s));
      assert.equal(streamed(tok, ids), s, JSON.stringify(s));
    }
  });

  test('tokenizer_config.json beside the file names BOS/EOS and add_bos_token', () => {
    const t = loadHfTokenizer(write(llamaJson, { bos_token: { content: '</s>' }, eos_token: '<s>', add_bos_token: false }));
    assert.deepEqual([t.bos, t.eos, t.addBos], [2, 1, false]);
    throwsCode(() => loadHfTokenizer(write(llamaJson, { bos_token: '<nope>' })), 'TOKENIZER_BAD_FIELD', ['"<nope>"', 'tokenizer.json']);
  });
});

describe('tokenizer.json errors name the file and field', () => {
  const without = (key: string) => ({ ...gpt2Json, model: Object.fromEntries(Object.entries(gpt2Json.model).filter(([k]) => k !== key)) });

  test('missing or malformed fields', () => {
    let p = write(without('vocab'));
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_MISSING_FIELD', [p, 'model.vocab']);
    p = write(without('merges'));
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_MISSING_FIELD', [p, 'model.merges']);
    p = write({ version: '1.0' });
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_MISSING_FIELD', [p, 'model']);
    p = write({ ...gpt2Json, model: { ...gpt2Json.model, vocab: { a: 'zero' } } });
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_BAD_FIELD', [p, 'model.vocab']);
    p = write({ ...gpt2Json, added_tokens: 'none' });
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_BAD_FIELD', [p, 'added_tokens']);
    p = write('[1, 2]');
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_BAD_JSON', [p]);
    p = write('{"model": ');
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_BAD_JSON', [p]);
    throwsCode(() => loadHfTokenizer(join(dir, 'absent.json')), 'TOKENIZER_READ_FAILED', ['absent.json']);
  });

  test('unsupported model type or component', () => {
    let p = write({ ...gpt2Json, model: { type: 'Unigram', vocab: [['a', 0]] } });
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_UNSUPPORTED_MODEL', [p, 'model.type', '"Unigram"']);
    p = write({ ...gpt2Json, decoder: { type: 'Mystery' } });
    throwsCode(() => loadHfTokenizer(p), 'TOKENIZER_UNSUPPORTED_COMPONENT', [p, 'Mystery']);
  });

  test('bad ids', () => {
    const tok = loadHfTokenizer(write(gpt2Json));
    throwsCode(() => tok.decode([EOT + 1]), 'TOKENIZER_BAD_ID', [String(EOT + 1)]);
    throwsCode(() => tok.decodeToken(-1, null), 'TOKENIZER_BAD_ID');
  });
});
