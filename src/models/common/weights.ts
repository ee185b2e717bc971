// Canonical weights from checkpoint files. Each architecture gives a table from our names to the file's names and
// the matrix layout; here the table is applied to any tensor source (GGUF or safetensors), checking every shape.
// F32 tensors stay zero-copy views of the file buffer; F16/BF16 are converted once.
import { ProbityError, show } from '../../errors.js';
import { NDArray } from '../../engine/ndarray.js';
import type { GgufFile } from '../loaders/gguf.js';
import type { SafetensorsFile } from '../loaders/safetensors.js';
import type { Layout, WeightStore } from './context.js';

export interface TensorSource {
  readonly path: string;
  has(name: string): boolean;
  dims(name: string): number[];
  float32(name: string): Float32Array;
}

export function ggufSource(f: GgufFile): TensorSource {
  return { path: f.path, has: (n) => f.has(n), dims: (n) => [...f.tensor(n).shape], float32: (n) => f.tensorData(n) };
}

export function safetensorsSource(f: SafetensorsFile): TensorSource {
  return { path: f.path, has: (n) => f.has(n), dims: (n) => [...f.info(n).shape], float32: (n) => f.float32(n) };
}

export interface WeightEntry {
  /** Our name, e.g. blocks.0.attn.W_Q. */
  name: string;
  /** Candidate names in the file (first found wins), e.g. with and without a "transformer." prefix. */
  file: string[];
  /** Expected dims in our layout. */
  dims: number[];
  layout?: Layout;
  optional?: boolean;
}

export class MapWeightStore implements WeightStore {
  private arrays = new Map<string, NDArray<Float32Array>>();
  private layouts = new Map<string, Layout>();

  static fromSource(src: TensorSource, table: WeightEntry[]): MapWeightStore {
    const store = new MapWeightStore();
    for (const e of table) {
      const found = e.file.find((n) => src.has(n));
      if (!found) {
        if (e.optional) continue;
        throw new ProbityError('WEIGHT_MISSING', `${src.path}: missing tensor ${show(e.file[0])} (for ${e.name}, dims ${show(e.dims)})`);
      }
      const dims = src.dims(found);
      if (dims.length !== e.dims.length || dims.some((d, i) => d !== e.dims[i])) {
        throw new ProbityError('WEIGHT_SHAPE', `${src.path}: tensor ${show(found)} has dims ${show(dims)}, expected ${show(e.dims)} for ${e.name}`);
      }
      store.set(e.name, new NDArray(src.float32(found), dims), e.layout ?? 'out_in');
    }
    return store;
  }

  set(name: string, a: NDArray<Float32Array>, layout: Layout = 'out_in'): void {
    this.arrays.set(name, a);
    this.layouts.set(name, layout);
  }
  get(name: string): NDArray<Float32Array> {
    const a = this.arrays.get(name);
    if (!a) throw new ProbityError('WEIGHT_MISSING', `no weight "${name}"`);
    return a;
  }
  has(name: string): boolean {
    return this.arrays.has(name);
  }
  layout(name: string): Layout {
    return this.layouts.get(name) ?? 'out_in';
  }
  names(): string[] {
    return [...this.arrays.keys()];
  }
  get paramCount(): number {
    let n = 0;
    for (const a of this.arrays.values()) n += a.size;
    return n;
  }
}
