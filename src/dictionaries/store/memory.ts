// Peak-memory probe for harvesting: runs a harvest of random token rows in a child process (a fresh heap, so the
// numbers are not polluted by the caller) and reports its peak resident set size. Tests compare N and 10N tokens
// (memory must stay flat); benchmarks can call it too.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProbityError } from '../../errors.js';
import type { StoreDType } from './format.js';

export interface RssProbeOptions {
  /** What loadModel takes (a checkpoint folder, GGUF file or shipped model name). */
  model: string;
  hooks: string[];
  /** Positions to harvest (maxTokens). */
  tokens: number;
  /** Length of each random row (default: the model's context). */
  rowLength?: number;
  batchRows?: number;
  shardTokens?: number;
  dtype?: StoreDType;
  seed?: number;
  /** Output folder (default: a temp folder, removed afterwards). */
  out?: string;
  /** Run a full garbage collection after every model batch (default true). V8 frees dead ArrayBuffers (the model's
   *  per-batch outputs) lazily, letting up to tens of MB of garbage pile up whatever the corpus size; forcing the
   *  collection makes the peak reflect the memory the harvest actually retains. */
  forceGc?: boolean;
  /** Child process time limit in ms (default 120000). */
  timeoutMs?: number;
}

export interface RssProbeResult {
  tokens: number;
  shards: number;
  /** Peak resident set size of the child process (process.resourceUsage().maxRSS), bytes. */
  maxRssBytes: number;
  /** RSS after loading the model, before harvesting (bytes). */
  baselineRssBytes: number;
  /** Bytes of the store on disk. */
  storeBytes: number;
  /** Harvest wall time. */
  seconds: number;
}

export const RSS_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-child.js');

/** Harvest in a child process and return its peak RSS. */
export function harvestPeakRss(opts: RssProbeOptions): Promise<RssProbeResult> {
  const out = opts.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'probity-rss-'));
  const cleanup = () => {
    if (!opts.out) fs.rmSync(out, { recursive: true, force: true });
  };
  return new Promise<RssProbeResult>((resolve, reject) => {
    const gc = opts.forceGc ?? true;
    const child = spawn(process.execPath, [...(gc ? ['--expose-gc'] : []), RSS_CHILD, JSON.stringify({ ...opts, forceGc: gc, out })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120000);
    child.on('error', (e) => {
      clearTimeout(timer);
      cleanup();
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      cleanup();
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new ProbityError('RSS_PROBE', `harvest child exited with ${signal ?? code}: ${stderr.trim().slice(-2000) || stdout.trim().slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as RssProbeResult);
    });
  });
}
