// End to end: probity's own OpenAI-compatible server (the shipped organism) with each simulated distortion and with
// none, probed over real HTTP on loopback, analyzed: the analyzer recovers what the server was told to do. One
// probe runs through the CLI as a child process (`node bin/probity.js logprobs probe <url> --json`), one analyze too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { loadModel } from '../../src/models/load.js';
import type { Model } from '../../src/models/model.js';
import { startOpenAiServer, type Distortions } from '../../src/serve/openai/server.js';
import { probe } from '../../src/logprobs/probe.js';
import { readTraffic } from '../../src/logprobs/read-traffic.js';
import { analyzeTraffic, type LogprobsReport } from '../../src/logprobs/analyze.js';

process.env.PROBITY_SPIN ??= '0';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-lp-e2e-'));
// 24 requests x 16 tokens: enough positions for the rounding-order test to have power on the organism, ~1 s a probe.
const REQUESTS = 24;
const MAX_TOKENS = 16;
let model: Model;

before(async () => {
  model = await loadModel('organism');
});

async function withServer<T>(distortions: Distortions, f: (url: string) => Promise<T>): Promise<T> {
  const s = await startOpenAiServer({ model, modelRef: 'organism', port: 0, distortions });
  try {
    return await f(s.url);
  } finally {
    await s.close();
  }
}

async function probed(name: string, distortions: Distortions): Promise<LogprobsReport> {
  return withServer(distortions, async (url) => {
    const out = path.join(tmp, `${name}.jsonl`);
    const r = await probe({ baseUrl: url, requests: REQUESTS, maxTokens: MAX_TOKENS, apiKey: null, out, timeoutMs: 30_000, retries: 1, concurrency: 4 });
    assert.equal(r.failed, 0);
    return analyzeTraffic(readTraffic(out));
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/probity.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROBITY_SPIN: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('no distortion: no grid, no cap, no noise, deterministic under seed, consistent, never past 1', async () => {
  const r = await probed('none', {});
  assert.equal(r.grid, null);
  assert.equal(r.top_logprobs_cap, null);
  assert.equal(r.noise_detected, false);
  assert.equal(r.seed_determinism, 'deterministic');
  assert.equal(r.sampled_consistency, 'consistent');
  assert.equal((r.evidence.rounding as { past_one: number }).past_one, 0);
});

test('--logprob-grid 1/16 (through the CLI as a child process): grid 1/16 on the differences, rounded after normalisation', async () => {
  await withServer({ logprobGrid: 0.0625 }, async (url) => {
    const out = path.join(tmp, 'grid-cli.jsonl');
    const res = await run(['logprobs', 'probe', url, '--json', '--requests', String(REQUESTS), '--max-tokens', String(MAX_TOKENS), '--out', out]);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as LogprobsReport & { probe: { answered: number; model: string } };
    assert.equal(r.probe.model, 'organism');
    assert.equal(r.probe.answered, REQUESTS);
    assert.equal(r.grid, 0.0625);
    assert.equal(r.grid_applies_to, 'differences_from_top');
    assert.equal(r.rounding, 'after_normalisation');
    assert.equal(r.noise_detected, false);
    assert.equal(r.top_logprobs_cap, null);
    // and `analyze` on the same log, as text: the finding and the residual histogram
    const text = await run(['logprobs', 'analyze', out]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^grid \[confidence [\d.]+\]: grid 1\/16: 100\.0% of \d+ distinct differences/m);
    assert.match(text.stdout, /residuals of the differences from the top against the grid found, 1\/16/);
  });
});

test('--round-before-normalise: the same grid, told apart from rounding after', async () => {
  const r = await probed('before', { logprobGrid: 0.0625, roundBeforeNormalise: true });
  assert.equal(r.grid, 0.0625);
  assert.equal(r.grid_applies_to, 'differences_from_top');
  assert.equal(r.rounding, 'before_normalisation');
});

test('--top-logprobs-cap 8: cap 8 found (asked 20 got 8, asked 5 got 5)', async () => {
  const r = await probed('cap', { topLogprobsCap: 8 });
  assert.equal(r.top_logprobs_cap, 8);
  assert.equal(r.grid, null);
  assert.equal(r.noise_detected, false);
});

test('--logprob-noise 0.01: noise detected, sd near 0.01; sampling unchanged (deterministic)', async () => {
  const r = await probed('noise', { logprobNoise: 0.01 });
  assert.equal(r.noise_detected, true);
  // The server draws its noise from Math.random, so a 95% interval would miss 0.01 in 1 run of 20; with ~400 degrees
  // of freedom the estimate's relative error is ~3.5%, and +-25% is seven of those.
  const ev = r.evidence.noise as { sd: number; df: number; sd_ci95: [number, number] };
  assert.ok(ev.df >= 200, `df ${ev.df}`);
  assert.ok(Math.abs(ev.sd / 0.01 - 1) < 0.25, `sd ${ev.sd} (95% ${ev.sd_ci95})`);
  assert.equal(r.seed_determinism, 'deterministic');
  assert.equal(r.grid, null);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));
