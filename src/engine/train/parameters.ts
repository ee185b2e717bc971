// Trainable tensors and their optimizer state, owned as typed arrays. Each array has two buffers: a training step reads
// one and ORT writes the updated values straight into the other (no output copy), then they swap.
import { ProbityError, show } from '../../errors.js';
import { NDArray } from '../ndarray.js';

interface Slot {
  dims: number[];
  front: Float32Array;
  back: Float32Array | null;
}

export class Parameters {
  private slots = new Map<string, Slot>();

  /** Register a tensor. `init` gives its values (copied). */
  add(name: string, dims: number[], init?: Float32Array | ((n: number) => Float32Array)): this {
    if (this.slots.has(name)) throw new ProbityError('PARAM_DUPLICATE', `parameter "${name}" already exists`);
    const n = dims.reduce((a, b) => a * b, 1);
    const data = init === undefined ? new Float32Array(n) : typeof init === 'function' ? init(n) : init;
    if (data.length !== n) throw new ProbityError('PARAM_SIZE', `parameter "${name}": dims ${show(dims)} need ${n} values, got ${data.length}`);
    this.slots.set(name, { dims: [...dims], front: data, back: null });
    return this;
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  get names(): string[] {
    return [...this.slots.keys()];
  }

  dims(name: string): number[] {
    return this.slot(name).dims;
  }

  /** Current values (a view: it changes after a step swaps buffers, so re-read rather than keep). */
  get(name: string): NDArray<Float32Array> {
    const s = this.slot(name);
    return new NDArray(s.front, s.dims);
  }

  set(name: string, data: Float32Array): void {
    const s = this.slot(name);
    if (data.length !== s.front.length) throw new ProbityError('PARAM_SIZE', `parameter "${name}": expected ${s.front.length} values, got ${data.length}`);
    s.front.set(data);
  }

  /** The buffer a step should write the update of `name` into. */
  backBuffer(name: string): NDArray<Float32Array> {
    const s = this.slot(name);
    s.back ??= new Float32Array(s.front.length);
    return new NDArray(s.back, s.dims);
  }

  /** Make the freshly written back buffers current. */
  swap(names: readonly string[]): void {
    for (const n of names) {
      const s = this.slot(n);
      if (!s.back) continue;
      [s.front, s.back] = [s.back, s.front];
    }
  }

  get count(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.front.length;
    return n;
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new ProbityError('PARAM_UNKNOWN', `unknown parameter "${name}"; have ${this.names.slice(0, 20).join(', ')}`);
    return s;
  }

  /** Plain record of current values (for saving). */
  toRecord(): Record<string, { dims: number[]; data: Float32Array }> {
    const out: Record<string, { dims: number[]; data: Float32Array }> = {};
    for (const [k, s] of this.slots) out[k] = { dims: s.dims, data: s.front };
    return out;
  }
}
