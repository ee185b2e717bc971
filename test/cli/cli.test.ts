// The CLI as a user runs it: a real child process, stdout holds only the continuation, errors are clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BIN = path.resolve('bin/probity.js');
const GGUF = path.resolve('../shared/models/stories260K/stories260K.gguf');
const present = fs.existsSync(GGUF);
const why = `${GGUF} is absent: CLI tests on the real model skipped`;
if (!present) console.log(`# SKIP: ${why}`);

function probity(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('probity run prints only the greedy continuation on stdout', { skip: !present && why }, () => {
  const r = probity('run', GGUF, '--prompt', 'Once upon a time', '--max-tokens', '20', '--temperature', '0');
  assert.equal(r.status, 0, r.stderr);
  const expected = fs.readFileSync(path.join(path.dirname(GGUF), 'expected_greedy_200.txt'), 'utf8');
  // The reference starts from BOS alone; from "Once upon a time" greedy decoding follows the same story.
  assert.ok(expected.startsWith('Once upon a time' + r.stdout.replace(/\n$/, '').slice(0, 40)), `stdout: ${JSON.stringify(r.stdout)}`);
  assert.match(r.stderr, /20 tokens/);
});

test('probity run with a seed is reproducible, and other seeds differ', { skip: !present && why }, () => {
  const a = probity('run', GGUF, '--prompt', 'Lily', '--max-tokens', '30', '--temperature', '1', '--seed', '3');
  const b = probity('run', GGUF, '--prompt', 'Lily', '--max-tokens', '30', '--temperature', '1', '--seed', '3');
  const c = probity('run', GGUF, '--prompt', 'Lily', '--max-tokens', '30', '--temperature', '1', '--seed', '4');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.notEqual(a.stdout, c.stdout);
});

test('probity inspect --json lists the architecture and every hook', { skip: !present && why }, () => {
  const r = probity('inspect', GGUF, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.spec.arch, 'llama');
  assert.equal(info.spec.nLayers, 5);
  assert.ok(info.hooks.includes('blocks.4.hook_resid_post'));
  assert.ok(info.parameters > 250_000);
});

test('bad arguments and missing models give one clear error and exit code 2', () => {
  const missing = probity('run', 'no/such/model.gguf', '--prompt', 'x');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /model "no\/such\/model.gguf" is neither a file, a folder, nor a shipped model \(shipped: [^)]*\) \[MODEL_NOT_FOUND\]/);
  const badTopP = probity('run', 'organism', '--top-p', '3');
  assert.equal(badTopP.status, 2);
  assert.match(badTopP.stderr, /--top-p is "3", expected a number >= 0 and <= 1/);
  const junk = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'probity-cli-')), 'junk.gguf');
  fs.writeFileSync(junk, 'not a gguf file at all');
  const bad = probity('inspect', junk);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /GGUF/);
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/); // no stack trace for a user error
});
