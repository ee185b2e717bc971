// PyTorch beside probity in one run: bench/peers/torch_sae.py runs in a child /usr/bin/python3 (Debian's
// python3-torch) that waits on stdin, so the two engines alternate step by step (which goes first alternates too)
// and neither runs while the other is timed. Compared: the TopK SAE training step (768 -> 12288, k 32, batch 4096,
// Adam) against PyTorch's dense step and a sparsify-style sparse step; the GPT-2-small-shaped forward (batch 8 x 128,
// logits everywhere) of bench/models.ts; and the fp32 GEMM 4096 x 768 x 3072 of bench/engine.ts, which says whether
// the BLAS under torch is the one the anchor numbers assume. Debian's torch takes whatever libblas.so.3 the
// alternatives system points at: with only the reference BLAS it runs one slow thread, so no figure is reported then.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Graph } from '../../src/engine/graph/graph.js';
import * as op from '../../src/engine/ops/index.js';
import { compile } from '../../src/engine/session/session.js';
import { NDArray } from '../../src/engine/ndarray.js';
import { resolveSelection } from '../../src/dictionaries/architectures/topk-select.js';
import { topkSaeStep } from '../engine.js';
import { randomGpt2 } from '../models.js';
import { median, randn } from '../util.js';
import { PEER_THREADS, pause, type Absent } from './common.js';

/** Debian's python, whose python3-torch is the peer; PROBITY_PEER_PYTHON names another (a venv with its own torch). */
export const PYTHON = process.env.PROBITY_PEER_PYTHON || '/usr/bin/python3';
const SCRIPT = path.resolve('bench/peers/torch_sae.py');

type TorchOp = 'dense' | 'sparse' | 'gpt2' | 'gemm';

export interface TorchInfo {
  torch: string;
  torch_threads: number;
  blas: { kind: string; libraries: string[]; threads: number | null; config: string | null; core: string | null };
  [k: string]: unknown;
}

/** Why a torch figure would not be an anchor, or null: the reference BLAS (one thread, no SIMD kernels) or none found. */
export function torchRefusal(info: TorchInfo): string | null {
  const { kind, libraries } = info.blas;
  if (kind === 'reference') {
    return `torch runs on the reference BLAS (${libraries.join(', ')}): one thread at a few GFLOP/s, not an anchor; install libopenblas0-pthread (Debian) and rerun`;
  }
  if (kind === 'unknown') return `no known BLAS is mapped into the torch process (mapped: ${libraries.join(', ') || 'none'})`;
  return null;
}

class TorchPeer {
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private stderr = '';
  private exited: Error | null = null;

  private constructor(private child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(line));
    child.stderr.on('data', (c) => { this.stderr = (this.stderr + c).slice(-4000); });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`python exited (${code ?? signal}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  private next(): Promise<string> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** The peer and what it says of itself, or why there is none. */
  static async start(): Promise<{ peer: TorchPeer; info: TorchInfo } | Absent> {
    if (!fs.existsSync(PYTHON)) return { status: 'absent', reason: `${PYTHON} not found` };
    const threads = String(PEER_THREADS);
    const env = { ...process.env, PEER_THREADS: threads, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads, MKL_NUM_THREADS: threads };
    const peer = new TorchPeer(spawn(PYTHON, [SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      return { peer, info: JSON.parse(await peer.next()).info as TorchInfo };
    } catch (e) {
      const msg = (e as Error).message;
      return { status: 'absent', reason: /No module named 'torch'/.test(msg) ? `torch is not importable by ${PYTHON} (Debian: apt-get install python3-torch libopenblas0-pthread)` : msg };
    }
  }

  async run(name: TorchOp): Promise<number> {
    const answer = this.next();
    this.child.stdin.write(JSON.stringify({ op: name }) + '\n');
    return JSON.parse(await answer).ms as number;
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface Comparison {
  key: string;
  /** Work per run: tokens (throughput in tokens/s) or flop (GFLOP/s). */
  work: { tokens: number } | { flop: number };
  rounds: number;
  probity: Record<string, () => Promise<unknown>>;
  torch: TorchOp[];
  release: () => void;
}

async function saeComparison(rounds: number): Promise<Comparison> {
  const batch = 4096, dIn = 768, dSae = 12288, k = 32;
  const auto = resolveSelection('auto', dSae, k);
  const x = new NDArray(randn(batch * dIn, 5), [batch, dIn]);
  const steps = { [auto]: await topkSaeStep(auto, dIn, dSae, k), ...(auto === 'exact' ? {} : { exact: await topkSaeStep('exact', dIn, dSae, k) }) };
  return {
    key: 'topk_sae_step', work: { tokens: batch }, rounds, torch: ['dense', 'sparse'],
    probity: Object.fromEntries(Object.entries(steps).map(([sel, s]) => [sel === auto ? 'probity_auto' : `probity_${sel}`, () => s.step.step({ x }, 1e-4)])),
    release: () => Object.values(steps).forEach((s) => s.step.release()),
  };
}

function gpt2Comparison(rounds: number): Comparison {
  const model = randomGpt2();
  const rows = Array.from({ length: 8 }, (_, b) => Array.from({ length: 128 }, (_, t) => (b * 7919 + t * 104729) % 50000));
  return { key: 'gpt2_small_forward', work: { tokens: 8 * 128 }, rounds, torch: ['gpt2'], probity: { probity: () => model.forward(rows, { logits: 'all' }) }, release: () => {} };
}

async function gemmComparison(rounds: number): Promise<Comparison> {
  const M = 4096, K = 768, N = 3072;
  const g = new Graph('matmul');
  g.output(op.matmul(g.input('a', 'float32', [M, K]), g.input('b', 'float32', [K, N])), 'c');
  const sess = await compile(g);
  const feeds = { a: new NDArray(randn(M * K, 1), [M, K]), b: new NDArray(randn(K * N, 2), [K, N]) };
  return { key: 'gemm_4096x768x3072', work: { flop: 2 * M * K * N }, rounds, torch: ['gemm'], probity: { probity: () => sess.run(feeds) }, release: () => sess.release() };
}

/** Round 0 warms up; then every side once per round, the order reversed every other round. */
async function measure(c: Comparison, peer: TorchPeer) {
  const sides: [string, () => Promise<number>][] = [
    ...Object.entries(c.probity).map(([name, run]): [string, () => Promise<number>] => [name, async () => {
      const t0 = performance.now();
      await run();
      return performance.now() - t0;
    }]),
    ...c.torch.map((o): [string, () => Promise<number>] => [`torch_${o}`, () => peer.run(o)]),
  ];
  const ms: Record<string, number[]> = Object.fromEntries(sides.map(([n]) => [n, []]));
  for (let i = 0; i <= c.rounds; i++) {
    for (const [name, run] of i % 2 ? [...sides].reverse() : sides) {
      await pause();
      const t = await run();
      if (i > 0) ms[name].push(t);
    }
  }
  c.release();
  const med = Object.fromEntries(Object.entries(ms).map(([n, xs]) => [n, median(xs)]));
  const rateOf = (m: number) => ('tokens' in c.work ? c.work.tokens / (m / 1e3) : c.work.flop / (m / 1e3) / 1e9);
  const unit = 'tokens' in c.work ? 'tokens_per_s' : 'gflops';
  const ratios: Record<string, number> = {};
  for (const p of Object.keys(c.probity)) for (const t of c.torch) ratios[`${p}_over_torch_${t}`] = med[`torch_${t}`] / med[p];
  return {
    work: c.work,
    rounds_ms: ms,
    median_ms: med,
    [`median_${unit}`]: Object.fromEntries(Object.entries(med).map(([n, m]) => [n, rateOf(m)])),
    ratio_probity_over_torch: ratios,
  };
}

/** PyTorch vs probity; rounds per comparison (GEMM runs in well under a second, so it gets more). */
export async function benchTorchPeer(rounds = 5): Promise<Record<string, unknown>> {
  const started = await TorchPeer.start();
  if ('status' in started) return started;
  const { peer, info } = started;
  const refusal = torchRefusal(info);
  if (refusal) {
    peer.close();
    return { status: 'refused', reason: refusal, torch: info };
  }
  try {
    const out: Record<string, unknown> = { status: 'measured', torch: info, threads: { probity: Number(process.env.PROBITY_THREADS), torch: info.torch_threads, blas: info.blas.threads } };
    out.topk_sae_step = { config: { batch: 4096, d_in: 768, d_sae: 12288, k: 32, optimizer: 'adam', probity_auto_selection: resolveSelection('auto', 12288, 32), torch_dense: 'scatter codes into [B, S], dense decoder GEMM, autograd', torch_sparse: 'embedding_bag decoder with per_sample_weights, encoder backward by index_add into the k rows (as sparsify)' }, ...(await measure(await saeComparison(rounds), peer)) };
    out.gpt2_small_forward = { config: { batch: 8, seq: 128, logits: 'all positions', vocab: 50257 }, ...(await measure(gpt2Comparison(rounds), peer)) };
    out.gemm = await measure(await gemmComparison(2 * rounds + 1), peer);
    return out;
  } finally {
    peer.close();
  }
}
