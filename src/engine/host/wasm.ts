// The WebAssembly host kernels (kernels.wat, assembled into kernels.wasm beside this file by scripts/build-wasm.mjs),
// their shared memory, an arena over it, and one helper thread that runs a kernel on part of the rows.
// The memory is a SharedArrayBuffer: growing it never detaches views, but views made before a growth do not see the
// new bytes, so users keep offsets (`Slice`) and make views when they read.
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { ProbityError } from '../../errors.js';

export type KernelName = 'row_sum' | 'row_dot';

/** Every kernel takes five pointers, then the range [from, to) of rows (row_sum) or entries (row_dot), then D. */
export type KernelFn = (p0: number, p1: number, p2: number, p3: number, p4: number, from: number, to: number, D: number) => void;

export type KernelExports = Record<KernelName, KernelFn>;

export interface Kernels {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  exports: KernelExports;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, WebAssembly's 32-bit limit

let loaded: Kernels | undefined;

export function kernels(): Kernels {
  if (!loaded) {
    const file = fileURLToPath(new URL('./kernels.wasm', import.meta.url));
    if (!fs.existsSync(file)) throw new ProbityError('HOST_KERNELS', `${file} is missing: \`npm run build\` assembles src/engine/host/kernels.wat`);
    const module = new WebAssembly.Module(fs.readFileSync(file));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
    loaded = { memory, module, exports };
  }
  return loaded;
}

/** float32 values at a byte offset of the kernels' memory. */
export interface Slice {
  offset: number;
  length: number;
}

// The first bytes of the memory are the helper thread's mailbox (see Helper); the arena starts after them.
const MAILBOX_BYTES = 64;

/** Bump allocator over the kernels' memory: alloc during a run, reset when its results have been read. */
export class Arena {
  private top = MAILBOX_BYTES;
  private copies = new Map<Float32Array, number>();
  private memos = new Map<object, Map<string, unknown>>();
  constructor(private readonly k: Kernels = kernels()) {}

  reset(): void {
    this.top = MAILBOX_BYTES;
    this.copies.clear();
    this.memos.clear();
  }

  /** `make()` once per run for (array, key): index conversions and sorts that several host ops of a step share. */
  memo<T>(of: object, key: string, make: () => T): T {
    let m = this.memos.get(of);
    if (!m) this.memos.set(of, (m = new Map()));
    if (!m.has(key)) m.set(key, make());
    return m.get(key) as T;
  }

  /** Offset of a copy of `a` in the arena; an array copied earlier in the same run is not copied again (a weight
   *  matrix read by several host ops of one step). */
  copyIn(a: Float32Array): number {
    if (a.buffer === this.k.memory.buffer) return a.byteOffset; // already in the arena (a host result)
    let at = this.copies.get(a);
    if (at === undefined) {
      at = this.alloc(a.length * 4);
      this.f32(at, a.length).set(a);
      this.copies.set(a, at);
    }
    return at;
  }

  /** Byte offset of `bytes` fresh bytes (16-aligned for SIMD loads); may grow the memory. */
  alloc(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16;
    this.top = at + bytes;
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) {
      if (this.top > MAX_PAGES * PAGE) throw new ProbityError('HOST_MEMORY', `host kernels need ${this.top} bytes, more than WebAssembly's 4 GiB`);
      this.k.memory.grow(Math.ceil((this.top - have) / PAGE));
    }
    return at;
  }

  f32(at: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, at, n);
  }
  i32(at: number, n: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, at, n);
  }
}

// Mailbox (Int32 slots): 0 request sequence number, 1 done sequence number, 2 kernel, 3..10 its arguments.
const SEQ = 0;
const DONE = 1;
const KERNEL = 2;
export const KERNEL_IDS: readonly KernelName[] = ['row_sum', 'row_dot'];

/**
 * One helper thread for the row kernels: the caller runs part of the range while the helper runs the rest, on the same
 * buffers (each output row or entry written by one thread, so results do not depend on the split). Host kernels run between
 * onnxruntime calls, when its threads are idle. PROBITY_HOST_THREADS=1 (or a one-core machine) runs everything on the
 * calling thread.
 */
export class Helper {
  private seq = 0;
  private constructor(
    private readonly k: Kernels,
    private readonly worker: Worker,
  ) {}

  private static made: Helper | null | undefined;

  static get(): Helper | null {
    if (Helper.made !== undefined) return Helper.made;
    const threads = Number(process.env.PROBITY_HOST_THREADS) || Math.min(2, os.availableParallelism());
    if (threads < 2) return (Helper.made = null);
    const k = kernels();
    const worker = new Worker(new URL('./helper-thread.js', import.meta.url), { workerData: { module: k.module, memory: k.memory } });
    worker.unref(); // never keeps the process alive
    worker.on('error', (e) => {
      Helper.made = null;
      failure = e;
    });
    return (Helper.made = new Helper(k, worker));
  }

  /** `kernel` over [from, to): the helper takes [mid, to), this thread [from, mid). */
  run(kernel: KernelName, ptrs: [number, number, number, number, number], from: number, mid: number, to: number, D: number): void {
    const box = new Int32Array(this.k.memory.buffer, 0, MAILBOX_BYTES / 4);
    box[KERNEL] = KERNEL_IDS.indexOf(kernel);
    box.set([...ptrs, mid, to, D], KERNEL + 1);
    const seq = ++this.seq;
    Atomics.store(box, SEQ, seq);
    Atomics.notify(box, SEQ);
    this.k.exports[kernel](...ptrs, from, mid, D);
    // Blocking here also blocks the event loop, so a crashed helper cannot be noticed by its 'error' event: give up
    // after a minute (half of a GPT-2-width SAE step's sum takes ~20 ms).
    while (Atomics.load(box, DONE) !== seq) {
      if (Atomics.wait(box, DONE, seq - 1, 60_000) === 'timed-out') {
        Helper.made = null;
        throw new ProbityError('HOST_THREAD', `the host kernel thread did not answer in 60 s${failure ? ` (${failure.message})` : ''}`);
      }
    }
  }
}

let failure: Error | undefined;
