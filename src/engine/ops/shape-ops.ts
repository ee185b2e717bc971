// Ops that move data without arithmetic: Reshape, Transpose, (Un)Squeeze, Expand, Concat, Split, Slice, Pad, and the
// shape plumbing (Shape, Range, ConstantOfShape) that lets symbolic dims be resolved at run time.
import type { Tensor } from '../graph/graph.js';
import { broadcastShapes, isStatic, mulDims, normAxis, numel, ShapeError, type Dim, type Shape } from '../graph/shape.js';
import type { DType } from '../graph/dtype.js';
import { allocate } from '../graph/dtype.js';
import { show } from '../../errors.js';
import { emit, type OpDef } from './def.js';
import { gather } from './indexing.js';
import { cast } from './unary.js';
import { constInts } from './util.js';
import { add, sub, unbroadcast } from './elementwise.js';

const BIG = 2 ** 62; // "to the end" for Slice ends

/** An op whose output shape the caller declares (the shape is carried by a runtime tensor). */
function declared(def: OpDef, dtype: DType, shape: Shape): OpDef {
  return { ...def, infer: () => [{ dtype, shape }] };
}

// ---- Shape, dims as tensors -------------------------------------------------------------------------------------
export const ShapeOp: OpDef = { infer: (ins) => [{ dtype: 'int64', shape: [ins[0]!.rank] }], vjp: 'none', onnxOp: 'Shape' };
export const shapeOf = (x: Tensor): Tensor => emit('Shape', ShapeOp, [x])[0];

/** A 1-element int64 tensor holding dim `d`, found among `x`'s dims (products of symbols are multiplied). */
export function dimTensor(x: Tensor, d: Dim): Tensor {
  if (typeof d === 'number') return x.graph.ints([d]);
  const i = x.shape.indexOf(d);
  if (i >= 0) return gather(shapeOf(x), x.graph.ints([i]));
  const factors = d.split('*');
  if (factors.length > 1) return factors.map((f) => dimTensor(x, /^\d+$/.test(f) ? Number(f) : f)).reduce((p, q) => mulInt(p, q));
  throw new ShapeError(`cannot resolve dim ${show(d)} from ${x.name} ${show(x.shape)}`);
}
export const MulInt: OpDef = { infer: (ins) => [{ dtype: 'int64', shape: ins[0]!.shape }], vjp: 'none', onnxOp: 'Mul' };
const mulInt = (a: Tensor, b: Tensor): Tensor => emit('MulInt', MulInt, [a, b])[0];

/** int64 shape vector for `dims`, taking symbols from `x`'s shape. */
function shapeVector(x: Tensor, dims: Shape): Tensor {
  if (isStatic(dims)) return x.graph.ints(dims);
  return concat(dims.map((d) => dimTensor(x, d)), 0);
}

// ---- Reshape ------------------------------------------------------------------------------------------------------
export const Reshape: OpDef = {
  infer: (ins) => {
    const [x, s] = ins as Tensor[];
    const v = constInts(s);
    if (!v) throw new ShapeError('Reshape: runtime shapes must be declared (use reshapeLike)');
    return [{ dtype: x.dtype, shape: v }];
  },
  vjp: (n, [d]) => [reshapeLike(d!, n.inputs[0] as Tensor), null],
};

/** Reshape to `dims` (numbers or symbols of x's shape; at most one unknown symbol needs no run-time shape). */
export function reshape(x: Tensor, dims: Shape): Tensor {
  if (isStatic(x.shape) && isStatic(dims) && numel(x.shape) !== numel(dims)) {
    throw new ShapeError(`Reshape: ${x.name} ${show(x.shape)} has ${numel(x.shape)} elements, target ${show(dims)} has ${numel(dims)}`);
  }
  if (dims.length === x.rank && dims.every((d, i) => d === x.shape[i])) return x;
  // ONNX Reshape: 0 copies the input dim at that index, -1 is inferred.
  const spec: number[] = [];
  let unknown = 0;
  dims.forEach((d, i) => {
    if (typeof d === 'number') spec.push(d);
    else if (x.shape[i] === d) spec.push(0);
    else {
      spec.push(-1);
      unknown++;
    }
  });
  const shapeT = unknown <= 1 ? x.graph.ints(spec) : shapeVector(x, dims);
  return emit('Reshape', declared(Reshape, x.dtype, dims), [x, shapeT])[0];
}

/** Reshape to the (possibly symbolic) shape of `ref`. */
export function reshapeLike(x: Tensor, ref: Tensor): Tensor {
  if (x.rank === ref.rank && x.shape.every((d, i) => d === ref.shape[i])) return x;
  if (isStatic(ref.shape)) return reshape(x, ref.shape);
  return emit('Reshape', declared(Reshape, x.dtype, ref.shape), [x, shapeOf(ref)])[0];
}

// ---- Transpose ----------------------------------------------------------------------------------------------------
export const Transpose: OpDef = {
  infer: (ins, attrs) => {
    const x = ins[0]!;
    const perm = attrs.perm as number[];
    if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
      throw new ShapeError(`Transpose: perm ${show(perm)} is not a permutation of rank ${x.rank} (${x.name} ${show(x.shape)})`);
    }
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  vjp: (n, [d]) => {
    const perm = n.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(d!, inv)];
  },
};
export const transpose = (x: Tensor, perm: number[]): Tensor => emit('Transpose', Transpose, [x], { perm })[0];

// ---- Unsqueeze / Squeeze ------------------------------------------------------------------------------------------
export const Unsqueeze: OpDef = {
  infer: (ins) => {
    const [x, a] = ins as Tensor[];
    const rank = x.rank + constInts(a)!.length;
    const axes = constInts(a)!.map((v) => normAxis(v, rank, 'Unsqueeze'));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x.shape[j++]);
    return [{ dtype: x.dtype, shape: out }];
  },
  vjp: (n, [d]) => [squeeze(d!, constInts(n.inputs[1])!), null],
};
export const Squeeze: OpDef = {
  infer: (ins) => {
    const [x, a] = ins as Tensor[];
    const axes = constInts(a)!.map((v) => normAxis(v, x.rank, 'Squeeze'));
    for (const ax of axes) {
      if (x.shape[ax] !== 1) throw new ShapeError(`Squeeze: axis ${ax} of ${x.name} ${show(x.shape)} is not 1`);
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
  vjp: (n, [d]) => [unsqueeze(d!, constInts(n.inputs[1])!.map((v) => normAxis(v, (n.inputs[0] as Tensor).rank, 'Squeeze'))), null],
};
export const unsqueeze = (x: Tensor, axes: number | number[]): Tensor =>
  emit('Unsqueeze', Unsqueeze, [x, x.graph.ints(typeof axes === 'number' ? [axes] : axes)])[0];
export const squeeze = (x: Tensor, axes: number | number[]): Tensor =>
  emit('Squeeze', Squeeze, [x, x.graph.ints(typeof axes === 'number' ? [axes] : axes)])[0];

// ---- Expand -------------------------------------------------------------------------------------------------------
export const Expand: OpDef = {
  infer: () => {
    throw new ShapeError('Expand: use expandLike or expandTo');
  },
  vjp: (n, [d]) => [unbroadcast(d!, n.inputs[0] as Tensor), null],
};
/** Broadcast x to the shape of `ref` (numpy rules). */
export function expandLike(x: Tensor, ref: Tensor): Tensor {
  const shape = broadcastShapes('Expand', x.shape, ref.shape);
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return emit('Expand', declared(Expand, x.dtype, shape), [x, isStatic(ref.shape) ? x.graph.ints(ref.shape) : shapeOf(ref)])[0];
}
export function expandTo(x: Tensor, dims: Shape): Tensor {
  const shape = broadcastShapes('Expand', x.shape, dims);
  return emit('Expand', declared(Expand, x.dtype, shape), [x, shapeVector(x, dims)])[0];
}

// ---- Concat / Split -----------------------------------------------------------------------------------------------
export const Concat: OpDef = {
  infer: (ins, attrs) => {
    const xs = ins as Tensor[];
    const axis = normAxis(attrs.axis as number, xs[0].rank, 'Concat');
    for (const x of xs) {
      const ok = x.rank === xs[0].rank && x.dtype === xs[0].dtype && x.shape.every((d, i) => i === axis || d === xs[0].shape[i]);
      if (!ok) throw new ShapeError(`Concat: ${x.name} ${x.dtype}${show(x.shape)} does not match ${xs[0].name} ${xs[0].dtype}${show(xs[0].shape)} off axis ${axis}`);
    }
    const sizes = xs.map((x) => x.shape[axis]);
    const total: Dim = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : sizes.join('+');
    const shape = [...xs[0].shape];
    shape[axis] = total;
    return [{ dtype: xs[0].dtype, shape }];
  },
  vjp: (n, [d], needs) => {
    const xs = n.inputs as Tensor[];
    const axis = normAxis(n.attrs.axis as number, xs[0].rank, 'Concat');
    const parts = split(d!, xs.map((x) => x.shape[axis]), axis, xs);
    return parts.map((p, i) => (needs[i] ? p : null));
  },
};
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 1) return xs[0];
  return emit('Concat', Concat, xs, { axis })[0];
}

export const Split: OpDef = {
  infer: () => {
    throw new ShapeError('Split: use split()');
  },
  vjp: (n, ds) => {
    const axis = n.attrs.axis as number;
    const parts = ds.map((d, i) => d ?? zerosLike(n.outputs[i]));
    return [concat(parts, axis), null];
  },
};
/** Split along `axis` into pieces of the given sizes; symbolic sizes are read from `likes` at run time. */
export function split(x: Tensor, sizes: Dim[], axis: number, likes?: Tensor[]): Tensor[] {
  const ax = normAxis(axis, x.rank, 'Split');
  const sizesT = sizes.every((s) => typeof s === 'number')
    ? x.graph.ints(sizes as number[])
    : concat(sizes.map((s, i) => (typeof s === 'number' ? x.graph.ints([s]) : dimTensor(likes![i], s))), 0);
  const outs = sizes.map((s) => {
    const shape = [...x.shape];
    shape[ax] = s;
    return { dtype: x.dtype, shape };
  });
  return x.graph.apply('Split', [x, sizesT], { axis: ax }, () => outs, 'Split');
}

// ---- Slice / Pad --------------------------------------------------------------------------------------------------
export const Slice: OpDef = {
  infer: () => {
    throw new ShapeError('Slice: use slice()');
  },
  vjp: (n, [d]) => {
    const x = n.inputs[0] as Tensor;
    const [starts, ends, axes] = n.inputs.slice(1, 4).map((t) => constInts(t)!);
    const steps = constInts(n.inputs[4]);
    if (steps && steps.some((s) => s !== 1)) throw new ShapeError('Slice: gradient only for step 1');
    // Pad the gradient back: `begin` zeros before, `end` zeros after, on each sliced axis.
    const begin: Tensor[] = [];
    const end: Tensor[] = [];
    for (let i = 0; i < x.rank; i++) {
      const k = axes.map((a) => normAxis(a, x.rank, 'Slice')).indexOf(i);
      if (k < 0) {
        begin.push(x.graph.ints([0]));
        end.push(x.graph.ints([0]));
        continue;
      }
      const dim = x.shape[i];
      const dimT = dimTensor(x, dim);
      const s = starts[k];
      const e = ends[k];
      if (typeof dim === 'number') {
        const cs = Math.min(Math.max(s < 0 ? s + dim : s, 0), dim);
        const ce = Math.min(Math.max(e < 0 ? e + dim : e, cs), dim);
        begin.push(x.graph.ints([cs]));
        end.push(x.graph.ints([dim - ce]));
      } else {
        begin.push(s >= 0 ? x.graph.ints([s]) : add(dimT, x.graph.ints([s])));
        end.push(e >= BIG / 2 ? x.graph.ints([0]) : e < 0 ? x.graph.ints([-e]) : sub(dimT, x.graph.ints([e])));
      }
    }
    return [pad(d!, concat([...begin, ...end], 0), x.shape), null, null, null, null];
  },
};

/** x[starts:ends] along `axes` (step 1). Ends beyond the dim clamp; use Infinity for "to the end". */
export function slice(x: Tensor, starts: number[], ends: number[], axes: number[]): Tensor {
  const shape = [...x.shape];
  const e2 = ends.map((e) => (e === Infinity ? BIG : e));
  axes.forEach((a0, k) => {
    const a = normAxis(a0, x.rank, 'Slice');
    const dim = x.shape[a];
    const s = starts[k];
    const e = e2[k];
    if (typeof dim === 'number') {
      const cs = Math.min(Math.max(s < 0 ? s + dim : s, 0), dim);
      const ce = Math.min(Math.max(e < 0 ? e + dim : e, cs), dim);
      shape[a] = ce - cs;
    } else if (s === 0 && e >= BIG / 2) shape[a] = dim;
    else if (s < 0 && e >= BIG / 2) shape[a] = -s; // the last -s positions (assumes dim >= -s)
    else if (s >= 0 && e >= 0 && e < BIG / 2) shape[a] = e - s; // assumes dim >= e
    else shape[a] = `${dim}[${s}:${e >= BIG / 2 ? '' : e}]`;
  });
  const ins = [x, x.graph.ints(starts), x.graph.ints(e2), x.graph.ints(axes)];
  return emit('Slice', declared(Slice, x.dtype, shape), ins)[0];
}

export const Pad: OpDef = {
  infer: () => {
    throw new ShapeError('Pad: use pad()');
  },
  vjp: (n, [d]) => {
    const pads = constInts(n.inputs[1]);
    if (!pads) throw new ShapeError('Pad: gradient only for constant pads');
    const r = d!.rank;
    const axes = [...Array(r).keys()];
    return [slice(d!, pads.slice(0, r), pads.slice(r).map((p) => (p === 0 ? Infinity : -p)), axes), null];
  },
};
/** Zero-pad x; `pads` = [begin_0..begin_r, end_0..end_r] (constant or int64 tensor); `outShape` declares the result. */
export function pad(x: Tensor, pads: Tensor | number[], outShape: Shape): Tensor {
  const p = Array.isArray(pads) ? x.graph.ints(pads) : pads;
  return emit('Pad', declared(Pad, x.dtype, outShape), [x, p])[0];
}

// ---- Range / ConstantOfShape ---------------------------------------------------------------------------------------
export const Range: OpDef = { infer: () => [], vjp: 'none' };
/** [0, 1, ..., n-1] where n is dim `axis` of x, in `dtype`; the output's dim is that same symbol. */
export function arange(x: Tensor, axis: number, dtype: 'int64' | 'float32' | 'float64' = 'int64'): Tensor {
  const a = normAxis(axis, x.rank, 'arange');
  const n = gather(shapeOf(x), x.graph.ints([a]));
  const nScalar = squeeze(n, 0);
  const start = x.graph.scalar(0, 'int64');
  const step = x.graph.scalar(1, 'int64');
  const r = emit('Range', declared(Range, 'int64', [x.shape[a]]), [start, nScalar, step])[0];
  return cast(r, dtype);
}

export const ConstantOfShape: OpDef = { infer: () => [], vjp: 'none' };
export function zerosLike(x: Tensor): Tensor {
  const value = { tensor: allocate(x.dtype, 1), dtype: x.dtype };
  const s = isStatic(x.shape) ? x.graph.ints(x.shape) : shapeOf(x);
  return emit('ConstantOfShape', declared(ConstantOfShape, x.dtype, x.shape), [s], { value })[0];
}
