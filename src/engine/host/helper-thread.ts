// The helper thread of wasm.ts: instantiates the kernels over the shared memory and runs the kernel the mailbox
// names on the range it names, forever (the thread is unref'd, so it never keeps the process alive).
import { workerData } from 'node:worker_threads';
import type { KernelExports, KernelName } from './wasm.js';

// Keep in step with KERNEL_IDS in wasm.ts (not imported: this thread loads nothing but the kernels).
const KERNELS: KernelName[] = ['row_sum', 'row_dot'];

const { module, memory } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
const box = new Int32Array(memory.buffer, 0, 16);
let seen = 0;
for (;;) {
  Atomics.wait(box, 0, seen);
  seen = Atomics.load(box, 0);
  const [id, p0, p1, p2, p3, p4, from, to, D] = Array.from(box.subarray(2, 11));
  k[KERNELS[id]](p0, p1, p2, p3, p4, from, to, D);
  Atomics.store(box, 1, seen);
  Atomics.notify(box, 1);
}
