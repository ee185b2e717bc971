// Allocator settings for the probity process, applied by relaunching once with them in the environment.
//
// Why: onnxruntime-node copies every graph output into a fresh ArrayBuffer (its binding has no zero-copy path for CPU
// outputs, even for preallocated ones). glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh
// mmap pages, so each large output costs page faults and kernel zeroing on top of the copy, and the freed block goes
// straight back to the kernel. A training step of a 768 -> 12288 SAE returns six 37.7 MB tensors (parameters and Adam
// state); a GPT-2-small forward returns 206 MB of logits. Serving large blocks from the heap and not trimming it
// makes those copies reuse warm memory. `npm run bench` measures the effect on an SAE step in child processes with
// and without these settings (bench/results/engine.json: allocator_*).
// glibc reads these variables only at process start, hence the relaunch. Elsewhere (musl, macOS) they are inert.
import { spawn } from 'node:child_process';
import os from 'node:os';

export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30), // blocks below 1 GiB come from the heap (reused, no fresh pages)
  MALLOC_TRIM_THRESHOLD_: String(2 ** 32), // and freed heap memory is kept for the next step
};

/** Whether this process runs without the allocator settings and may relaunch (PROBITY_RELAUNCH=0 opts out). */
export function shouldRelaunch(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.PROBITY_RELAUNCH === '0' || process.platform !== 'linux') return false;
  return Object.keys(ALLOCATOR_ENV).some((k) => env[k] === undefined);
}

const RELAUNCHED = 'PROBITY_RELAUNCHED';

/**
 * In a relaunched child: die with the parent. Signals a user sends to the parent are forwarded, but SIGKILL cannot
 * be, and an orphaned child would go on writing into the run folder a resumed run is now using (it did, in CI). The
 * parent holds an IPC channel open to us for exactly this: when it closes, the parent is gone, and we end the same
 * way. The channel is unref'd so it never keeps this process alive by itself.
 */
function exitWithParent(): void {
  if (process.env[RELAUNCHED] !== '1') return;
  delete process.env[RELAUNCHED]; // not inherited by processes we start
  if (!process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

/**
 * Relaunch this script (same node, flags and arguments) with ALLOCATOR_ENV added, inheriting stdio; signals sent to
 * this process are passed on, and the child dies if this process is killed outright. Resolves with the exit code to
 * use; null when no relaunch is needed (then, in a relaunched child, arranges to die with the parent). Variables the
 * user already set are kept.
 */
export function relaunchWithAllocatorEnv(): Promise<number> | null {
  if (!shouldRelaunch()) {
    exitWithParent();
    return null;
  }
  const env = { ...ALLOCATOR_ENV, ...process.env, [RELAUNCHED]: '1' };
  const argv = [...process.execArgv, ...process.argv.slice(1)];
  const child = spawn(process.execPath, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (s: NodeJS.Signals) => child.kill(s);
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal) {
        process.kill(process.pid, signal); // die the same way the child did
        resolve(128 + (os.constants.signals[signal] ?? 1));
      } else resolve(code ?? 1);
    });
  });
}
