// Fuzz of the JSONL reader: valid lines of every shape, randomly truncated and mutated (characters replaced,
// inserted, deleted; JSON values swapped for other types). parseLine must either return a record or throw the
// named TrafficFormatError (never a TypeError, RangeError or anything else), and the whole run stays fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseLine, parseTraffic } from '../../src/logprobs/read-traffic.js';
import { TrafficFormatError } from '../../src/logprobs/format-error.js';
import { Rng } from '../../src/stats/rng.js';

const FIX = 'test/fixtures/logprobs';
const seeds = [
  ...fs.readFileSync(path.join(FIX, 'openai-shapes.jsonl'), 'utf8').split('\n'),
  ...fs.readFileSync(path.join(FIX, 'none.jsonl'), 'utf8').split('\n').slice(0, 2),
  fs.readFileSync(path.join(FIX, 'none.jsonl'), 'utf8').split('\n')[18],
].filter((l) => l.trim());

const ALPHABET = ['{', '}', '[', ']', ',', ':', '"', '0', '-', '.', 'e', 'n', 'null', 'true', '1e999', '\\', 'x', ' '];
const REPLACEMENTS = ['null', '0', '-1', '"s"', '[]', '{}', 'true', '1e308', '-9999', '[null]', '{"a":1}', '""'];

function mutate(line: string, rng: Rng): string {
  const kind = rng.int(5);
  const at = rng.int(line.length + 1);
  if (kind === 0) return line.slice(0, at); // truncation
  if (kind === 1) return line.slice(0, at) + ALPHABET[rng.int(ALPHABET.length)] + line.slice(at + 1); // replace
  if (kind === 2) return line.slice(0, at) + ALPHABET[rng.int(ALPHABET.length)] + line.slice(at); // insert
  if (kind === 3) return line.slice(0, at) + line.slice(at + 1 + rng.int(8)); // delete
  // swap one JSON value (after a colon) for a value of another type, so the line stays valid JSON more often
  const colons = [...line.matchAll(/:/g)].map((m) => m.index!);
  if (colons.length === 0) return line;
  const c = colons[rng.int(colons.length)];
  let end = c + 1;
  let depth = 0;
  let inStr = false;
  for (; end < line.length; end++) {
    const ch = line[end];
    if (inStr) {
      if (ch === '\\') end++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) break;
      depth--;
    } else if (ch === ',' && depth === 0) break;
  }
  return line.slice(0, c + 1) + REPLACEMENTS[rng.int(REPLACEMENTS.length)] + line.slice(end);
}

test('mutated and truncated lines give a record or the named error, nothing else', () => {
  const rng = new Rng(20250101);
  const t0 = Date.now();
  let named = 0;
  let parsed = 0;
  const N = 6000;
  for (let i = 0; i < N; i++) {
    let line = seeds[rng.int(seeds.length)];
    const rounds = 1 + rng.int(3);
    for (let r = 0; r < rounds; r++) line = mutate(line, rng);
    try {
      parseLine(line, 'fuzz.jsonl', i + 1);
      parsed++;
    } catch (e) {
      if (!(e instanceof TrafficFormatError)) assert.fail(`line ${JSON.stringify(line.slice(0, 300))} threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.match(e.message, new RegExp(`^fuzz\\.jsonl:${i + 1}: .*(expected|not valid JSON)`));
      named++;
    }
  }
  const ms = Date.now() - t0;
  console.log(`# ${N} mutated lines: ${parsed} parsed, ${named} named errors, ${ms} ms`);
  // both outcomes occur, so the mutations reach the validators rather than only the JSON parser
  assert.ok(parsed > N / 20 && named > N / 20, `parsed ${parsed}, named ${named}`);
  assert.ok(ms < 20_000, `${ms} ms`);
});

test('a whole file of mutated lines is read with every bad line counted, and the analyzer runs on what is left', async () => {
  const rng = new Rng(7);
  const lines = Array.from({ length: 400 }, () => mutate(seeds[rng.int(seeds.length)], rng));
  const t = parseTraffic(lines.join('\n'), 'fuzz-file.jsonl');
  assert.equal(t.lines, lines.filter((l) => l.trim()).length);
  // every non-blank line is accounted for: read as an exchange / chunk / failure, or skipped with its message
  assert.ok(t.skipped.length > 0 && t.skipped.every((s) => s.message.startsWith(`fuzz-file.jsonl:${s.line}: `)));
  const { analyzeTraffic } = await import('../../src/logprobs/analyze.js');
  const r = analyzeTraffic(t);
  assert.equal(r.source.skipped_lines, t.skipped.length);
});
