// What the peer benchmarks share: the thread count every engine gets, the pause between engines, the record of a
// peer that is not there, and the machine facts that decide which kernels win (CPU flags, load from other jobs).
import fs from 'node:fs';
import os from 'node:os';

/** Threads for every engine in a peer comparison: probity (PROBITY_THREADS), PyTorch + its BLAS, llama.cpp. */
export const PEER_THREADS = 2;

/** A peer that did not run is recorded with the reason, never as a number. */
export type Absent = {
  status: 'absent' | 'refused' | 'failed';
  reason: string;
};

/**
 * Between two engines' runs: a thread pool that just finished may spin for a while before it sleeps (onnxruntime's,
 * OpenMP's, ggml's), and would otherwise take cycles from the engine that runs next.
 */
export function pause(ms = 150): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const FLAGS = ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_int8'] as const;

/** CPU model and the SIMD flags /proc/cpuinfo lists (true / false per flag; null where there is no /proc/cpuinfo). */
export function cpuFacts() {
  let flags: Set<string> | null = null;
  let model: string | undefined = os.cpus()[0]?.model;
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    flags = new Set(/^flags\s*:\s*(.*)$/m.exec(info)?.[1].split(/\s+/) ?? []);
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return {
    model,
    logical_cpus: os.cpus().length,
    available_parallelism: os.availableParallelism(),
    memory_gib: os.totalmem() / 2 ** 30,
    flags: Object.fromEntries(FLAGS.map((f) => [f, flags ? flags.has(f) : null])),
  };
}

/** 1-, 5- and 15-minute load averages: other jobs share the machine, and these say how much. */
export function loadAverage(): { at: string; '1m': number; '5m': number; '15m': number } {
  const [a, b, c] = os.loadavg();
  return { at: new Date().toISOString(), '1m': a, '5m': b, '15m': c };
}
