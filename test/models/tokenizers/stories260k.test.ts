// Real-data checks on the stories260K vocabulary (512 SentencePiece pieces with byte fallback), read through the GGUF
// loader. Skips, saying so, where ../shared is absent.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readGguf } from '../../../src/models/loaders/gguf.js';
import { tokenizerFromGgufMetadata } from '../../../src/models/tokenizers/gguf-vocab.js';
import { SentencePieceTokenizer } from '../../../src/models/tokenizers/sentencepiece.js';
import { createStreamDecoder } from '../../../src/models/tokenizers/stream.js';
import { randomStrings, ROUND_TRIP_STRINGS, STORIES_DIR } from './fixtures.js';

const GGUF = join(STORIES_DIR, 'stories260K.gguf');
const skip = existsSync(GGUF) ? false : `stories260K not found at ${GGUF} (test data lives beside the project)`;
if (skip) console.log(`skipping stories260K tokenizer tests: ${skip}`);

/** llama2.c's encode, written the slow obvious way, as an independent reference: dummy prefix, one token per
 *  character (or its bytes as <0xXX>, id byte+3), then merge the best-scoring adjacent pair until none is left. */
function llama2cEncode(tokens: string[], scores: number[], text: string): number[] {
  const lookup = new Map<string, number>();
  tokens.forEach((t, i) => lookup.has(t) || lookup.set(t, i));
  const ids: number[] = text === '' ? [] : [lookup.get('▁')!];
  for (const ch of text) {
    const id = lookup.get(ch === ' ' ? '▁' : ch);
    if (id !== undefined) ids.push(id);
    else for (const b of new TextEncoder().encode(ch)) ids.push(b + 3);
  }
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    let bestId = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = lookup.get(tokens[ids[i]] + tokens[ids[i + 1]]);
      if (id !== undefined && scores[id] > bestScore) [best, bestScore, bestId] = [i, scores[id], id];
    }
    if (best < 0) return ids;
    ids.splice(best, 2, bestId);
  }
}

describe('stories260K vocabulary', { skip }, () => {
  const metadata = skip ? {} : readGguf(GGUF).metadata;
  const tok = skip ? null! : tokenizerFromGgufMetadata(metadata, GGUF);

  test('is read as SentencePiece with BOS 1, EOS 2', () => {
    assert.ok(tok instanceof SentencePieceTokenizer);
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.bos, 1);
    assert.equal(tok.eos, 2);
    assert.equal(tok.addBos, true);
  });

  test('"Once upon a time" -> [403, 407, 261, 378] (README)', () => {
    assert.deepEqual(tok.encode('Once upon a time', { bos: false }), [403, 407, 261, 378]);
    assert.equal(tok.tokenText(403), '▁Once');
    assert.deepEqual(tok.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    assert.equal(new TextDecoder().decode(tok.decodeToken(403, 1)), 'Once');
  });

  test('decode(encode(s)) === s, non-ASCII going through byte fallback', () => {
    for (const s of [...ROUND_TRIP_STRINGS, ...randomStrings(1, 300)]) {
      assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
    }
    assert.deepEqual(tok.encode('\n', { bos: false }).map((i) => tok.tokenText(i)), ['▁', '<0x0A>']);
  });

  test('encode agrees with a naive llama2.c-style encode', () => {
    const tokens = metadata['tokenizer.ggml.tokens'] as string[];
    const scores = metadata['tokenizer.ggml.scores'] as number[];
    for (const s of [...ROUND_TRIP_STRINGS, ...randomStrings(2, 300, 60)]) {
      assert.deepEqual(tok.encode(s, { bos: false }), llama2cEncode(tokens, scores, s), JSON.stringify(s));
    }
  });

  test("llama2.c's reference output survives encode then streaming decode from BOS", () => {
    const expected = readFileSync(join(STORIES_DIR, 'expected_greedy_200.txt'), 'utf8').replace(/\n$/, '');
    const ids = tok.encode(expected, { bos: true });
    const stream = createStreamDecoder(tok, ids[0]);
    assert.equal(ids.slice(1).map((id) => stream.push(id)).join('') + stream.end(), expected);
    assert.equal(tok.decode(ids), expected);
  });
});
