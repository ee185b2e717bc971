// Harvest benchmark (issue: speed II, item 4): activations of a GPT-2-small-sized model (random weights, 12 layers,
// d_model 768, vocab 50257) to the on-disk store, one hook (`blocks.8.hook_resid_pre`, where GPT-2-small SAEs are
// usually trained), rows of 128 tokens, batch 16 rows, float32 shards of 65,536 positions. The harvest runs in a
// child process (`node dist/bench/harvest.js harvest-child TOKENS...`) so that its peak resident memory (VmHWM from
// /proc) is the harvest's own and not the bench process's; the child prints one JSON line at each checkpoint
// (1M and 4M stored positions by default). "Flat memory" is the peak at the last checkpoint over the peak at the
// first: the store keeps one shard per hook in memory whatever the corpus size, so it should stay near 1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomGpt2 } from './models.js';
import { harvest, DEFAULT_BATCH_ROWS, DEFAULT_SHARD_TOKENS } from '../src/dictionaries/store/harvest.js';
import { randomSource } from '../src/dictionaries/store/sources.js';

const HOOK = 'blocks.8.hook_resid_pre';
const ROW = 128;
export const HARVEST_CHECKPOINTS = [1_000_000, 4_000_000];

interface Checkpoint {
  tokens: number;
  seconds: number;
  tokens_per_s: number;
  peak_rss_mib: number;
  rss_mib: number;
  store_bytes: number;
}

/** VmHWM (peak resident set) and VmRSS of this process, in MiB, from /proc/self/status. */
function procMemory(): { peak: number; rss: number } {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
}

/** The child: one harvest to the last checkpoint, printing a line as each checkpoint's shards are on disk. */
async function child(checkpoints: number[]): Promise<void> {
  const model = randomGpt2();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-bench-harvest-'));
  try {
    const last = checkpoints[checkpoints.length - 1];
    // Enough rows for the last checkpoint (127 stored positions per row: BOS position left out).
    const rows = Math.ceil(last / (ROW - 1)) + 1;
    const source = randomSource({ count: rows, length: ROW, vocab: 50257, seed: 1 });
    const t0 = performance.now();
    let next = 0;
    const report = (tokens: number) => {
      const seconds = (performance.now() - t0) / 1000;
      const m = procMemory();
      const line: Checkpoint = { tokens, seconds, tokens_per_s: tokens / seconds, peak_rss_mib: m.peak, rss_mib: m.rss, store_bytes: dirBytes(dir) };
      process.stdout.write(JSON.stringify(line) + '\n');
    };
    // Each checkpoint is a harvest call with that budget on the same folder: the call resumes the store and stops
    // with every shard on disk, so the time at a checkpoint includes writing it. The budget of the last call is the
    // last checkpoint; the store's identity (maxTokens included) is the last one's, so earlier calls use maxShards.
    for (const target of checkpoints) {
      const shards = Math.ceil(target / DEFAULT_SHARD_TOKENS);
      const done = await harvest({ model, hooks: [HOOK], tokens: source, out: dir, maxTokens: last, maxShards: shards - next });
      next = shards;
      report(done.manifest.tokens);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchHarvest(checkpoints = HARVEST_CHECKPOINTS) {
  const script = fileURLToPath(import.meta.url);
  const lines: Checkpoint[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(process.execPath, [script, 'harvest-child', ...checkpoints.map(String)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(JSON.parse(l) as Checkpoint);
        console.log(`harvest: ${l}`);
      }
    });
    p.on('error', reject);
    p.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`the harvest child exited with ${code}`);
  const first = lines[0], last = lines[lines.length - 1];
  return {
    harvest_config: {
      model: 'random GPT-2 small (12 layers, d_model 768, vocab 50257)', hook: HOOK, row_tokens: ROW, batch_rows: DEFAULT_BATCH_ROWS,
      shard_tokens: DEFAULT_SHARD_TOKENS, dtype: 'float32', skip_bos: true, process: 'child process; peak RSS is its VmHWM',
      env: { PROBITY_SPIN: process.env.PROBITY_SPIN ?? null, PROBITY_THREADS: process.env.PROBITY_THREADS ?? null },
    },
    harvest_checkpoints: lines,
    harvest_tokens_per_s: last.tokens / last.seconds,
    harvest_peak_rss_growth: last.peak_rss_mib / first.peak_rss_mib,
  };
}

if (process.argv[2] === 'harvest-child') await child(process.argv.slice(3).map(Number));
