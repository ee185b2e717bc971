// Concrete tensors: a typed array with dims. This is what flows in and out of compiled graphs.
import { ProbityError, show } from '../errors.js';
import { allocate, dtypeOf, type DType, type TypedArray } from './graph/dtype.js';

export class NDArray<T extends TypedArray = TypedArray> {
  constructor(
    readonly data: T,
    readonly dims: readonly number[],
    readonly dtype: DType = dtypeOf(data),
  ) {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new ProbityError('NDARRAY_SIZE', `NDArray: dims ${show(dims)} hold ${n} elements, data has ${data.length}`);
  }
  get size(): number {
    return this.data.length;
  }
  static zeros(dtype: DType, dims: readonly number[]): NDArray {
    return new NDArray(allocate(dtype, dims.reduce((a, b) => a * b, 1)), dims, dtype);
  }
  static f32(data: ArrayLike<number>, dims: readonly number[]): NDArray<Float32Array> {
    return new NDArray(Float32Array.from(data), dims);
  }
  static f64(data: ArrayLike<number>, dims: readonly number[]): NDArray<Float64Array> {
    return new NDArray(Float64Array.from(data), dims);
  }
  static i64(data: ArrayLike<number>, dims: readonly number[]): NDArray<BigInt64Array> {
    return new NDArray(BigInt64Array.from(Array.from(data, (v) => BigInt(v))), dims);
  }
  static scalar(v: number, dtype: DType = 'float32'): NDArray {
    const a = NDArray.zeros(dtype, []);
    (a.data as Float32Array)[0] = v;
    return a;
  }
  /** Values as plain numbers (int64 converted). */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }
  /** Element at a multi-index. */
  at(...idx: number[]): number {
    let off = 0;
    for (let i = 0; i < this.dims.length; i++) off = off * this.dims[i] + idx[i];
    return Number(this.data[off]);
  }
}
