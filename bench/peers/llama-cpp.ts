// llama.cpp (through node-llama-cpp, a devDependency with a prebuilt CPU binary) beside probity on the same GGUF
// file: batch 1, greedy, a 128-token prompt then 64 new tokens, in alternating rounds (which engine goes first
// alternates, and each waits while the other runs). Prompt processing is prompt tokens / time to the first new token;
// decode is new tokens after the first / the time between the first and the last. llama.cpp runs with 2 threads, an
// F32 KV cache and flash attention off: the settings under which its logits agree with probity's (its defaults, an
// F16 cache, differ by ~1e-3). Each file runs in a child process (`node dist/bench/peers/llama-cpp.js llama-cpp-child
// FILE ROUNDS`): both engines' memory goes when it exits, and a crash in the native addon costs one file, not the run.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/models/load.js';
import { generate } from '../../src/models/generate.js';
import type { Model } from '../../src/models/model.js';
import { median } from '../util.js';
import { benchGgufFiles, BENCH_LLAMA, GGUF_KINDS, type GgufKind } from './gguf-files.js';
import { PEER_THREADS, pause, type Absent } from './common.js';

const PROMPT = 128;
const NEW_TOKENS = 64;

/** Prompt token ids: spread over the vocabulary past the 3 special and 256 byte tokens, the same for both engines. */
function promptTokens(vocab: number): number[] {
  return Array.from({ length: PROMPT }, (_, t) => 259 + ((t * 104729 + 7919) % (vocab - 259)));
}

interface GenRun {
  promptMs: number;
  decodeMs: number;
  decoded: number;
  tokens: number[];
}

/** probity's own generate(), with the end of every forward pass stamped (a view of the model whose forward times). */
async function probityRun(model: Model, prompt: number[]): Promise<GenRun> {
  const stamps: number[] = [];
  const timed: Model = Object.create(model);
  timed.forward = async (rows, opts) => {
    const r = await model.forward(rows, opts);
    stamps.push(performance.now());
    return r;
  };
  const t0 = performance.now();
  const [g] = await generate(timed, [prompt], { maxTokens: NEW_TOKENS + 1, temperature: 0, stop: [] });
  return { promptMs: stamps[0] - t0, decodeMs: stamps.at(-1)! - stamps[0], decoded: stamps.length - 1, tokens: g.tokens };
}

type LlamaSequence = import('node-llama-cpp').LlamaContextSequence;

async function llamaRun(seq: LlamaSequence, prompt: number[]): Promise<GenRun> {
  await seq.clearHistory();
  const stamps: number[] = [];
  const tokens: number[] = [];
  const t0 = performance.now();
  for await (const tok of seq.evaluate(prompt as never[], { temperature: 0 })) {
    stamps.push(performance.now());
    tokens.push(tok as number);
    if (tokens.length === NEW_TOKENS + 1) break;
  }
  return { promptMs: stamps[0] - t0, decodeMs: stamps.at(-1)! - stamps[0], decoded: stamps.length - 1, tokens };
}

/**
 * Max |difference| of the logits for the first new token, each side centred on its mean over the vocabulary:
 * node-llama-cpp 3.21 hands out the softmax of the logits (float32), not the logits, so they are known up to the
 * constant softmax removes; log p minus its mean is the logit minus its mean.
 */
async function logitsParity(model: Model, seq: LlamaSequence, prompt: number[]) {
  const V = model.spec.vocab;
  const r = await model.forward([prompt], { logits: 'last' });
  const ours = Float64Array.from(r.logits!.data.subarray(0, V));
  await seq.clearHistory();
  const out = await seq.controlledEvaluate([...prompt.slice(0, -1), [prompt.at(-1)!, { generateNext: { probabilities: true } }]] as never);
  const probs = (out.at(-1) as { next: { probabilities?: Map<number, number> } } | undefined)?.next.probabilities;
  await seq.clearHistory();
  if (!probs || probs.size !== V) return { status: 'failed', reason: `llama.cpp returned ${probs?.size ?? 0} of ${V} probabilities` };
  const theirs = new Float64Array(V);
  for (const [tok, p] of probs) theirs[tok] = Math.log(p);
  const centre = (a: Float64Array) => {
    const m = a.reduce((s, x) => s + x, 0) / a.length;
    return a.map((x) => x - m);
  };
  const a = centre(ours), b = centre(theirs);
  let maxAbsDiff = 0, maxAbs = 0, argA = 0, argB = 0;
  for (let i = 0; i < V; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    if (a[i] > a[argA]) argA = i;
    if (b[i] > b[argB]) argB = i;
  }
  return { status: 'measured', max_abs_diff: maxAbsDiff, max_abs_logit_centred: maxAbs, same_argmax: argA === argB, compared: 'logits minus their mean over the vocabulary (llama.cpp: log of its float32 probabilities)' };
}

const rate = (tokens: number, ms: number) => tokens / (ms / 1e3);

async function child(file: string, rounds: number): Promise<void> {
  const { getLlama, LlamaLogLevel, GgmlType } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: PEER_THREADS, logLevel: LlamaLogLevel.error, progressLogs: false });
  const lmodel = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await lmodel.createContext({
    contextSize: 512, batchSize: 512, sequences: 1, threads: { ideal: PEER_THREADS, min: PEER_THREADS }, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  const seq = ctx.getSequence();
  const model = await loadModel(file);
  const prompt = promptTokens(model.spec.vocab);
  const parity = await logitsParity(model, seq, prompt);
  const runs: { probity: GenRun[]; llama_cpp: GenRun[] } = { probity: [], llama_cpp: [] };
  // Round 0 is a warm-up (graph compilation, first-touch of the weights), not counted.
  for (let i = 0; i <= rounds; i++) {
    const order = i % 2 ? (['llama_cpp', 'probity'] as const) : (['probity', 'llama_cpp'] as const);
    for (const who of order) {
      await pause();
      const r = who === 'probity' ? await probityRun(model, prompt) : await llamaRun(seq, prompt);
      if (i > 0) runs[who].push(r);
    }
  }
  const summary = (rs: GenRun[]) => ({
    prompt_tokens_per_s: rs.map((r) => rate(PROMPT, r.promptMs)),
    decode_tokens_per_s: rs.map((r) => rate(r.decoded, r.decodeMs)),
    decoded_tokens: rs.map((r) => r.decoded),
  });
  const p = summary(runs.probity), l = summary(runs.llama_cpp);
  const med = { probity: { prompt: median(p.prompt_tokens_per_s), decode: median(p.decode_tokens_per_s) }, llama_cpp: { prompt: median(l.prompt_tokens_per_s), decode: median(l.decode_tokens_per_s) } };
  const ours = runs.probity[0].tokens, theirs = runs.llama_cpp[0].tokens;
  let agree = 0;
  while (agree < Math.min(ours.length, theirs.length) && ours[agree] === theirs[agree]) agree++;
  const result = {
    rounds: { probity: p, llama_cpp: l },
    median_tokens_per_s: med,
    ratio_probity_over_llama_cpp: { prompt: med.probity.prompt / med.llama_cpp.prompt, decode: med.probity.decode / med.llama_cpp.decode },
    logits_parity: parity,
    greedy_tokens_agreeing_from_the_start: { agree, of: Math.min(ours.length, theirs.length) },
    llama_cpp_context: { threads: ctx.currentThreads, flash_attention: ctx.flashAttention, kv_cache_key_type: GgmlType[ctx.kvCacheKeyType], kv_cache_value_type: GgmlType[ctx.kvCacheValueType], context_size: ctx.contextSize, batch_size: ctx.batchSize },
    llama_cpp_system_info: llama.systemInfo,
    llama_cpp_release: llama.llamaCppRelease,
    llama_cpp_build: llama.buildType,
    peak_rss_mib_both_engines: process.resourceUsage().maxRSS / 1024,
  };
  await ctx.dispose();
  await lmodel.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function nodeLlamaCppVersion(): Promise<string | Absent> {
  try {
    return await (await import('node-llama-cpp')).getModuleVersion();
  } catch (e) {
    return { status: 'absent', reason: `node-llama-cpp is not installed (npm ci installs it as a devDependency): ${(e as Error).message.split('\n')[0]}` };
  }
}

/** llama.cpp vs probity on each GGUF kind, one child process per file. */
export async function benchLlamaCppPeer(rounds = 5, kinds: readonly GgufKind[] = GGUF_KINDS): Promise<Record<string, unknown>> {
  const version = await nodeLlamaCppVersion();
  if (typeof version !== 'string') return version;
  const t0 = performance.now();
  const files = benchGgufFiles(kinds);
  const filesMs = performance.now() - t0;
  const script = fileURLToPath(import.meta.url);
  const perFile: Record<string, unknown> = {};
  for (const f of files) {
    const r = spawnSync(process.execPath, [script, 'llama-cpp-child', f.path, String(rounds)], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PROBITY_THREADS: process.env.PROBITY_THREADS ?? String(PEER_THREADS) } });
    const last = r.stdout?.trim().split('\n').pop();
    const file = { path: f.path, bytes: f.bytes, made_by_this_run: f.made };
    if (r.status !== 0 || !last) {
      perFile[f.kind] = { status: 'failed', reason: `child exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`, file };
    } else {
      perFile[f.kind] = { status: 'measured', file, ...JSON.parse(last) };
    }
  }
  return {
    status: 'measured',
    node_llama_cpp: version,
    model: { ...BENCH_LLAMA, weights: 'random', written_by: "probity's writeGguf (src/models/loaders/gguf.ts); Q8_0 by src/models/loaders/quant/" },
    config: { batch: 1, prompt_tokens: PROMPT, new_tokens: NEW_TOKENS, sampling: 'greedy', threads: PEER_THREADS, rounds_timed: rounds, warmup_rounds: 1, order: 'alternating, each engine idle while the other runs' },
    files_ms: filesMs,
    files: perFile,
  };
}

if (process.argv[2] === 'llama-cpp-child') await child(process.argv[3], Number(process.argv[4]));
