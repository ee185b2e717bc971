// The helper thread of wasm.ts: instantiates the kernels over the shared memory and runs row_sum on the rows the
// mailbox names, forever (the thread is unref'd, so it never keeps the process alive).
import { workerData } from 'node:worker_threads';
import type { KernelExports } from './wasm.js';

const { module, memory } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
const box = new Int32Array(memory.buffer, 0, 16);
let seen = 0;
for (;;) {
  Atomics.wait(box, 0, seen);
  seen = Atomics.load(box, 0);
  const [out, src, seg, row, coef, t0, t1, D] = Array.from(box.subarray(2, 10));
  k.row_sum(out, src, seg, row, coef, t0, t1, D);
  Atomics.store(box, 1, seen);
  Atomics.notify(box, 1);
}
