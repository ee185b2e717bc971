// The command line around the server, as child processes: an intervention through the API's `probity` field
// changes the output exactly as the same spec does in `probity run --intervene`; `probity serve` prints its URL,
// and on SIGTERM finishes the request in flight and exits 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { loadModel } from '../../src/models/load.js';
import { PACKAGE_ROOT } from '../../src/models/load.js';
import { chatPrompt } from '../../src/organism/prompts.js';
import { startOpenAiServer } from '../../src/serve/openai/server.js';
import { tempDir } from '../models/tiny-models.js';

const BIN = join(PACKAGE_ROOT, 'bin/probity.js');
const ENV = { ...process.env, PROBITY_SPIN: '0' };
const PROMPT = chatPrompt('Tell me a sad story about a fox.');
const SAE = 'topk-k32-blocks.2.hook_resid_post';
const run = promisify(execFile);

let server: Awaited<ReturnType<typeof startOpenAiServer>>;
let client: OpenAI;
before(async () => {
  server = await startOpenAiServer({ model: await loadModel('organism'), modelRef: 'organism' });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

async function probityRun(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, 'run', 'organism', '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '24', ...args], { env: ENV });
  return stdout.replace(/\n$/, '');
}

async function api(interventions?: unknown[]): Promise<string> {
  const r = await client.completions.create({
    model: 'organism', prompt: PROMPT, max_tokens: 24, temperature: 0,
    ...(interventions ? { probity: { interventions } } : {}),
  } as OpenAI.CompletionCreateParamsNonStreaming);
  return r.choices[0].text;
}

describe('probity run --intervene and the probity field', () => {
  test('unsteered, a clamp_latent spec from @file, and an SAE-direction add inline: the CLI and the API agree exactly', async () => {
    const clamp = [{ kind: 'clamp_latent', sae: SAE, latent: 5, value: 20 }];
    const add = [{ hook: 'blocks.2.hook_resid_post', kind: 'add', direction: { sae: SAE, latent: 100 }, scale: 6 }];
    const file = join(tempDir('serve-cli'), 'clamp.json');
    writeFileSync(file, JSON.stringify({ interventions: clamp }));
    const [cliPlain, cliClamp, cliAdd] = await Promise.all([probityRun([]), probityRun(['--intervene', `@${file}`]), probityRun(['--intervene', JSON.stringify(add)])]);
    assert.equal(await api(), cliPlain);
    assert.equal(await api(clamp), cliClamp);
    assert.equal(await api(add), cliAdd);
    assert.notEqual(cliClamp, cliPlain, 'the clamp changes the output');
    assert.notEqual(cliAdd, cliPlain, 'the add changes the output');
  });

  test('a bad --intervene is a CLI error naming the field (exit 2)', async () => {
    await assert.rejects(probityRun(['--intervene', '[{"kind":"clamp_latent","sae":"topk-k32-blocks.2.hook_resid_post","latent":-1,"value":1}]']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /--intervene\[0\]\.latent: expected an integer latent index/);
      return true;
    });
    await assert.rejects(probityRun(['--intervene', '{not json']), (e: { code: number; stderr: string }) => e.code === 2 && /not valid JSON/.test(e.stderr));
  });
});

describe('probity serve', () => {
  test('prints its URL; SIGTERM mid-request: the request completes, new connections are refused, exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--openai', '--port', '0'], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.on('exit', () => reject(new Error(`serve exited before printing its URL: ${stderr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const c = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    // A long request (the clamp makes the organism repeat itself instead of ending its story).
    const stream = await c.completions.create({
      model: 'organism', prompt: PROMPT, max_tokens: 200, temperature: 0, stream: true,
      probity: { interventions: [{ kind: 'clamp_latent', sae: SAE, latent: 5, value: 20 }] },
    } as OpenAI.CompletionCreateParamsStreaming);
    let chunks = 0;
    let finish: string | null = null;
    let text = '';
    for await (const ch of stream) {
      if (chunks++ === 2) child.kill('SIGTERM');
      text += ch.choices[0]?.text ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'length', 'the request in flight ran to its end');
    assert.ok(chunks > 150, `${chunks} chunks`);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: no new connections; finishing 1 request/);
    await assert.rejects(fetch(`${url}/models`));
  });
});
