// Shared benchmark helpers: seeded data, medians, result files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';
import { ALLOCATOR_ENV } from '../src/util/allocator.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Gaussian noise from a seeded generator (xorshift + Box-Muller). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const u = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())) * scale;
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

export function machine() {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  // The allocator settings the probity CLI runs with (src/util/allocator.ts), as this process saw them.
  const allocator = Object.fromEntries(Object.keys(ALLOCATOR_ENV).map((k) => [k, process.env[k] ?? null]));
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, commit, date: new Date().toISOString(), allocator };
}

export function writeResult(name: string, result: Record<string, unknown>): void {
  const dir = path.resolve('bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const full = { ...result, machine: machine() };
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(full, null, 2) + '\n');
  console.log(JSON.stringify({ [name]: full }, null, 2));
}
