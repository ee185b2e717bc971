// Writes the planted-truth fixtures in test/fixtures/logprobs/: traffic from a simulated endpoint (a seeded random
// "model" over a 300-token vocabulary) in OpenAI's exact response shapes, with one distortion planted per file.
// `node dist/test/logprobs/make-fixtures.js --write` rewrites them; fixtures.test.ts checks the committed files equal this
// script's output, so the planted truth is this code.
//
// Distortions, as a provider would apply them to the returned values (sampling always sees the true distribution):
//   none          exact logprobs, sent as float32 printed to 9 significant digits (as OpenAI does)
//   grid-1-16     every returned value becomes top + g round((lp - top)/g), g = 1/16 (rounded after normalisation)
//   round-before  logits rounded to multiples of 1/16, then log-softmax: exact logprobs of the rounded distribution
//   cap-8         top_logprobs truncated to min(N, 8)
//   noise-0.01    N(0, 0.01^2) added to each returned value, fresh per response (the sampled token's own logprob gets
//                 the same draw as its entry in top_logprobs)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/stats/rng.js';
import { fmix32 } from '../../src/util/random.js';

export type FixtureKind = 'none' | 'grid-1-16' | 'round-before' | 'cap-8' | 'noise-0.01';
export const FIXTURE_KINDS: FixtureKind[] = ['none', 'grid-1-16', 'round-before', 'cap-8', 'noise-0.01'];

const V = 300;
const GRID = 1 / 16;
const MAX_TOKENS = 6;
const EOS = 0;
const tokenText = (i: number) => (i === EOS ? '<eos>' : `w${i}`);

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = fmix32(h ^ s.charCodeAt(i));
  return h;
}

/** The simulated model: logits for a context, a pure function of the context. */
function logits(context: string): Float64Array {
  const rng = new Rng(hash(context));
  return Float64Array.from({ length: V }, (_, i) => 6 * rng.normal() - (i === EOS ? 6 : 0));
}

function logSoftmax(x: Float64Array): Float64Array {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
}

const f32 = (x: number) => Number(Math.fround(x).toPrecision(9));

interface Step {
  token: number;
  /** Returned logprob per token id for the ids returned at this position. */
  returned: Map<number, number>;
  order: number[];
}

/** One answer: sampled tokens and the returned (distorted) values for the top n alternatives at each position. */
function answer(kind: FixtureKind, prompt: string, seed: number, n: number, noiseSeed: number): Step[] {
  const sampler = new Rng(seed);
  const noise = new Rng(noiseSeed);
  const steps: Step[] = [];
  let context = prompt;
  for (let t = 0; t < MAX_TOKENS; t++) {
    const z = logits(context);
    const lp = logSoftmax(z);
    // Sample from the true distribution (temperature 1).
    let u = sampler.next();
    let token = V - 1;
    for (let i = 0; i < V; i++) {
      u -= Math.exp(lp[i]);
      if (u <= 0) {
        token = i;
        break;
      }
    }
    if (token === EOS) break;
    const shown = kind === 'round-before' ? logSoftmax(z.map((v) => GRID * Math.round(v / GRID))) : lp;
    const order = [...shown.keys()].sort((a, b) => shown[b] - shown[a] || a - b);
    const k = kind === 'cap-8' ? Math.min(n, 8) : n;
    const ids = [...new Set([...order.slice(0, k), token])];
    const top = shown[order[0]];
    const returned = new Map<number, number>();
    for (const id of ids) {
      let v = shown[id];
      if (kind === 'grid-1-16') v = top + GRID * Math.round((v - top) / GRID);
      if (kind === 'noise-0.01') v += 0.01 * noise.normal();
      returned.set(id, f32(v));
    }
    steps.push({ token, returned, order: order.slice(0, k) });
    context += ' ' + tokenText(token);
  }
  return steps;
}

const CREATED = 1730000000;

function chatLine(kind: FixtureKind, i: number, prompt: string, seed: number, n: number): string {
  const request = { model: 'sim-1', messages: [{ role: 'user', content: prompt }], max_tokens: MAX_TOKENS, temperature: 1, seed, logprobs: true, top_logprobs: n };
  const steps = answer(kind, `chat|${prompt}`, seed, n, 7000 + i);
  const content = steps.map((s) => ({
    token: tokenText(s.token),
    logprob: s.returned.get(s.token)!,
    bytes: null,
    top_logprobs: s.order.map((id) => ({ token: tokenText(id), logprob: s.returned.get(id)!, bytes: null })),
  }));
  const response = {
    id: `chatcmpl-sim${kind}${i}`,
    object: 'chat.completion',
    created: CREATED,
    model: 'sim-1',
    choices: [{ index: 0, message: { role: 'assistant', content: steps.map((s) => tokenText(s.token)).join(' '), refusal: null }, logprobs: { content, refusal: null }, finish_reason: steps.length < MAX_TOKENS ? 'stop' : 'length' }],
    usage: { prompt_tokens: 8, completion_tokens: steps.length, total_tokens: 8 + steps.length },
    system_fingerprint: 'fp_sim',
  };
  return JSON.stringify({ request, response });
}

function completionLine(kind: FixtureKind, i: number, prompt: string, seed: number, n: number): string {
  const request = { model: 'sim-1', prompt, max_tokens: MAX_TOKENS, temperature: 1, seed, logprobs: n };
  const steps = answer(kind, `completion|${prompt}`, seed, n, 9000 + i);
  let offset = prompt.length;
  const text_offset = steps.map((s) => {
    const o = offset;
    offset += tokenText(s.token).length + 1;
    return o;
  });
  const response = {
    id: `cmpl-sim${kind}${i}`,
    object: 'text_completion',
    created: CREATED,
    model: 'sim-1',
    choices: [
      {
        text: steps.map((s) => ' ' + tokenText(s.token)).join(''),
        index: 0,
        logprobs: {
          tokens: steps.map((s) => tokenText(s.token)),
          token_logprobs: steps.map((s) => s.returned.get(s.token)!),
          top_logprobs: steps.map((s) => Object.fromEntries([...new Set([...s.order, s.token])].map((id) => [tokenText(id), s.returned.get(id)!]))),
          text_offset,
        },
        finish_reason: steps.length < MAX_TOKENS ? 'stop' : 'length',
      },
    ],
    usage: { prompt_tokens: 8, completion_tokens: steps.length, total_tokens: 8 + steps.length },
  };
  return JSON.stringify({ request, response });
}

/** The probe's design (probe-plan.ts) in miniature: repeats, top-5 requests, varied requests, legacy completions. */
export function fixtureText(kind: FixtureKind): string {
  const lines: string[] = [];
  let i = 0;
  for (let r = 0; r < 6; r++) lines.push(chatLine(kind, i++, 'Tell me a story about a fox.', 1234, 20));
  for (let r = 0; r < 3; r++) lines.push(chatLine(kind, i++, `Question number ${r}?`, 100 + r, 5));
  for (let r = 0; r < 8; r++) lines.push(chatLine(kind, i++, `Write about topic ${r}.`, 200 + r, 20));
  for (let r = 0; r < 3; r++) lines.push(completionLine(kind, i++, 'User: Tell me a story about a fox. Assistant:', 1234, 5));
  return lines.join('\n') + '\n';
}

export const FIXTURE_DIR = 'test/fixtures/logprobs';

// `--write` is required: `node --test dist/test/` runs every file under test/, this one included, and must not write.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) && process.argv.includes('--write')) {
  for (const k of FIXTURE_KINDS) {
    const file = path.join(FIXTURE_DIR, `${k}.jsonl`);
    fs.writeFileSync(file, fixtureText(k));
    console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
  }
}
