// The traffic reader on OpenAI's exact shapes (hand-written lines: chat, legacy completions with and without echo,
// a chat stream as chunk lines, a streamed completion inside {request, response}, no logprobs, failed requests) and
// on malformed lines, each of which must be skipped with an error naming file:line, the field and what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseTraffic, readTraffic } from '../../src/logprobs/read-traffic.js';
import { analyzeTraffic } from '../../src/logprobs/analyze.js';
import { ProbityError } from '../../src/errors.js';

const FIX = 'test/fixtures/logprobs';

test('OpenAI response shapes: every line read, values kept exactly, streams joined, failures counted', () => {
  const t = readTraffic(path.join(FIX, 'openai-shapes.jsonl'));
  assert.equal(t.lines, 12);
  assert.deepEqual(t.skipped, []);
  assert.equal(t.sequences.length, 6);
  const [chat, legacy, echo, stream, legacyStream, none] = t.sequences;
  assert.equal(chat.api, 'chat');
  assert.equal(chat.fingerprint, 'fp_a1b2c3d4e5');
  assert.deepEqual(chat.tokens[1], { token: '!', logprob: -0.02380986, top: [{ token: '!', logprob: -0.02380986 }, { token: ' there', logprob: -3.787621 }] });
  assert.deepEqual(legacy.tokens[0].top, [{ token: ' Paris', logprob: -0.0048623 }, { token: ' paris', logprob: -5.962413 }]);
  // echo: the first prompt token has no logprob and no alternatives
  assert.deepEqual(echo.tokens[0], { token: 'The', logprob: null, top: null });
  assert.equal(echo.tokens[2].logprob, -0.8207);
  // the chat stream: four chunk lines of one id (role chunk, two tokens, finish) plus a usage chunk
  assert.match(stream.where, /openai-shapes\.jsonl:4 \(stream chatcmpl-S1\)/);
  assert.deepEqual(stream.tokens.map((o) => [o.token, o.logprob]), [['Hi', -0.12], ['!', -0.5]]);
  assert.deepEqual(legacyStream.tokens.map((o) => o.token), [' Hi', '!']);
  assert.equal(legacyStream.request?.requested, 1);
  assert.equal(legacyStream.request?.seed, 3);
  assert.doesNotMatch(legacyStream.request!.key, /stream/); // transport fields do not split identical requests
  assert.equal(none.hasLogprobs, false);
  assert.equal(none.request?.requested, null);
  assert.deepEqual(
    t.failed.map((f) => [f.status, f.message.slice(0, 24)]),
    [
      [null, "Invalid 'top_logprobs': "],
      [429, 'HTTP 429: Rate limit rea'],
    ],
  );
  const r = analyzeTraffic(t);
  assert.equal(r.source.failed_requests, 2);
  assert.equal(r.logprobs_returned, 0.8333); // 5 of 6 answers, to 4 decimals
  assert.equal(r.sampled_consistency, 'consistent');
});

test('malformed lines are skipped, each with file:line, the field and what was expected; good lines still read', () => {
  const t = readTraffic(path.join(FIX, 'malformed.jsonl'));
  const expected: [number, RegExp][] = [
    [1, /choices\[0\]\.logprobs\.content\[0\]\.logprob: expected a number, got "high"/],
    [2, /not valid JSON .*expected one JSON object per line/],
    [3, /line: expected a JSON object.*got 42/],
    [4, /object: expected "chat.completion", "chat.completion.chunk" or "text_completion", got "embedding"/],
    [5, /choices\[0\]\.logprobs\.token_logprobs: expected 2 entries \(one per token\), got an array of 1/],
    [6, /request\.top_logprobs: expected an integer >= 0 or null, got -1/],
    [7, /response: expected a completions response \(the request is a completions request\), got "chat"/],
    [8, /top_logprobs\[1\]\.token: expected a string, got nothing/],
    [9, /id: expected a string \(chunk lines are joined by id\)/],
    [10, /top_logprobs\[0\]\[" a"\]: expected a number, got "-0.5"/],
    [12, /response: expected a response object, got null/],
    [13, /bytes\[0\]: expected an integer 0\.\.255, got 300/],
  ];
  assert.deepEqual(
    t.skipped.map((s) => s.line),
    expected.map((e) => e[0]),
  );
  for (const [i, [line, re]] of expected.entries()) {
    assert.ok(t.skipped[i].message.startsWith(`${path.join(FIX, 'malformed.jsonl')}:${line}: `), t.skipped[i].message);
    assert.match(t.skipped[i].message, re);
  }
  assert.equal(t.sequences.length, 1); // line 11 is valid
  assert.equal(t.sequences[0].tokens[0].logprob, -0.25);
  const r = analyzeTraffic(t);
  assert.equal(r.source.skipped_lines, 12);
  assert.equal(r.source.lines, 13);
});

test('blank lines are not lines; a missing file is one clear error', () => {
  const t = parseTraffic('\n\n   \n', 'empty.jsonl');
  assert.equal(t.lines, 0);
  assert.deepEqual(t.skipped, []);
  assert.throws(
    () => readTraffic('no/such/traffic.jsonl'),
    (e: unknown) => e instanceof ProbityError && e.code === 'LOGPROBS_FILE' && /no\/such\/traffic\.jsonl/.test(e.message),
  );
});

test('identical requests share a group whatever their key order; choices of an n > 1 request do not', () => {
  const resp = (id: string, n: number) =>
    JSON.stringify({
      object: 'chat.completion',
      id,
      choices: Array.from({ length: n }, (_, i) => ({ index: i, message: {}, logprobs: { content: [{ token: 'a', logprob: -0.1, top_logprobs: [] }] } })),
    });
  const line = (req: object, id: string, n = 1) => `{"request": ${JSON.stringify(req)}, "response": ${resp(id, n)}}`;
  const text = [
    line({ model: 'm', messages: [{ role: 'user', content: 'x' }], seed: 1, logprobs: true, top_logprobs: 2 }, 'a'),
    line({ top_logprobs: 2, logprobs: true, seed: 1, messages: [{ content: 'x', role: 'user' }], model: 'm', stream: false }, 'b'),
    line({ model: 'm', messages: [{ role: 'user', content: 'x' }], seed: 2, logprobs: true, top_logprobs: 2 }, 'c', 2),
  ].join('\n');
  const t = parseTraffic(text, 'groups.jsonl');
  const keys = t.sequences.map((s) => s.groupKey);
  assert.equal(keys[0], keys[1]);
  assert.notEqual(keys[2], keys[3]);
  assert.notEqual(keys[0], keys[2]);
});
