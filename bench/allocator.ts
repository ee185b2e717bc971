// What the allocator relaunch (src/util/allocator.ts) buys: the same TopK SAE training step timed in child processes
// with glibc's default allocator settings and with probity's, alternating A B A B so machine drift hits both.
// `node dist/bench/allocator.js child` is the child: it prints the median step time of a few steps as JSON.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ALLOCATOR_ENV } from '../src/util/allocator.js';
import { NDArray } from '../src/engine/ndarray.js';
import { topkSaeStep } from './engine.js';
import { median, randn } from './util.js';

async function child(): Promise<void> {
  const { step } = await topkSaeStep('int8');
  const x = new NDArray(randn(4096 * 768, 5), [4096, 768]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await step.step({ x }, 1e-4);
    if (i >= 2) times.push(performance.now() - t0);
  }
  step.release();
  process.stdout.write(JSON.stringify({ ms: median(times) }) + '\n');
}

export function benchAllocator(pairs = 2) {
  const script = fileURLToPath(import.meta.url);
  const base: NodeJS.ProcessEnv = { ...process.env, PROBITY_RELAUNCH: '0' };
  for (const k of Object.keys(ALLOCATOR_ENV)) delete base[k];
  const run = (env: NodeJS.ProcessEnv): number => {
    const r = spawnSync(process.execPath, [script, 'child'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`allocator bench child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!).ms;
  };
  const glibc: number[] = [], probity: number[] = [];
  for (let i = 0; i < pairs; i++) {
    glibc.push(run(base));
    probity.push(run({ ...base, ...ALLOCATOR_ENV }));
  }
  return {
    allocator_topk_step_ms_glibc_default: median(glibc),
    allocator_topk_step_ms_probity: median(probity),
    allocator_speedup: median(glibc) / median(probity),
    allocator_runs: { glibc, probity, step: 'TopK SAE 768 -> 12288, k 32, batch 4096, int8 selection, Adam' },
  };
}

if (process.argv[2] === 'child') await child();
