// `npm run bench -- serve`: `probity serve --openai` on the organism in a child process, loaded over loopback by the
// official openai client from this process: rounds of 32 concurrent clients x 3 requests (greedy chat, half of them
// streamed). Measured: requests/s and tokens/s per round, latency percentiles, and the server's own RSS
// (/proc/PID/status VmRSS, sampled every 50 ms: the client's memory is not in it) per round, so a leak shows as a
// peak that climbs round after round through the second half of the run. Every answer is checked against the first round's answer to the same request.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { median } from './util.js';
import { quantileSorted } from '../src/stats/describe.js';

const ROUNDS = 20;
const CLIENTS = 32;
const PER_CLIENT = 3;
const MAX_TOKENS = 16;
const ANIMALS = ['fox', 'cat', 'dog', 'owl', 'bear', 'frog', 'duck', 'deer'];
const TONES = ['happy', 'sad', 'angry', 'scared'];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const percentile = (xs: number[], q: number) => quantileSorted(Float64Array.from(xs).sort(), q);

async function startServer(): Promise<{ url: string; pid: number; stop: () => Promise<number | null> }> {
  const bin = path.resolve('bin/probity.js');
  const child = spawn(process.execPath, [bin, 'serve', '--openai', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PROBITY_SPIN: process.env.PROBITY_SPIN ?? '0' } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /(http:\/\/\S+\/v1)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`probity serve exited (${code}) before printing its URL`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () => new Promise((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

export async function benchServe(): Promise<Record<string, unknown>> {
  const server = await startServer();
  const client = new OpenAI({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
  const ask = async (c: number, i: number): Promise<{ text: string; tokens: number; ms: number }> => {
    const content = `Tell me a ${TONES[(c + i) % TONES.length]} story about a ${ANIMALS[(c * PER_CLIENT + i) % ANIMALS.length]}.`;
    const body = { model: 'organism', messages: [{ role: 'user' as const, content }], max_tokens: MAX_TOKENS, temperature: 0 };
    const t0 = performance.now();
    if ((c + i) % 2) {
      const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
      let text = '';
      let tokens = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
      return { text, tokens, ms: performance.now() - t0 };
    }
    const r = await client.chat.completions.create(body);
    return { text: r.choices[0].message.content ?? '', tokens: r.usage?.completion_tokens ?? 0, ms: performance.now() - t0 };
  };
  const idleMiB = rssMiB(server.pid);
  const rounds: Record<string, number>[] = [];
  const first = new Map<string, string>();
  let mismatches = 0;
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const samples: number[] = [];
    const timer = setInterval(() => samples.push(rssMiB(server.pid)), 50);
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      const out = [];
      for (let i = 0; i < PER_CLIENT; i++) out.push({ key: `${c}:${i}`, ...(await ask(c, i)) });
      return out;
    }));
    const wall = (performance.now() - t0) / 1000;
    clearInterval(timer);
    samples.push(rssMiB(server.pid));
    const flat = results.flat();
    for (const r of flat) {
      latencies.push(r.ms);
      const seen = first.get(r.key);
      if (seen === undefined) first.set(r.key, r.text);
      else if (seen !== r.text) mismatches++;
    }
    rounds.push({
      round: round + 1,
      requests_per_s: flat.length / wall,
      completion_tokens_per_s: flat.reduce((a, r) => a + r.tokens, 0) / wall,
      rss_peak_mib: Math.max(...samples),
      rss_end_mib: samples[samples.length - 1],
    });
  }
  const exitCode = await server.stop();
  const peaks = rounds.map((r) => r.rss_peak_mib);
  return {
    serve_openai_config: { model: 'organism', rounds: ROUNDS, clients: CLIENTS, requests_per_client: PER_CLIENT, max_tokens: MAX_TOKENS, temperature: 0, streamed: 'every other request', client: 'openai npm package, in the bench process; the server in a child process' },
    serve_openai_rounds: rounds,
    serve_openai_requests_per_s_median: median(rounds.map((r) => r.requests_per_s)),
    serve_openai_latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: Math.max(...latencies) },
    // A leak climbs with every round; allocator warm-up levels off. So: the peak of the first round, and the highest
    // peak of each half of the run (a flat second half is what "memory flat" means here).
    serve_openai_rss_mib: {
      idle_after_load: idleMiB,
      round_1_peak: peaks[0],
      first_half_max_peak: Math.max(...peaks.slice(0, ROUNDS / 2)),
      second_half_max_peak: Math.max(...peaks.slice(ROUNDS / 2)),
      second_half_growth: peaks[peaks.length - 1] - peaks[ROUNDS / 2],
    },
    serve_openai_answers_differing_from_round_1: mismatches,
    serve_openai_sigterm_exit_code: exitCode,
  };
}
