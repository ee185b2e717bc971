// Shapes are checked while a graph is built. A dimension is a number, or a symbol (a string such as 'B' or 'T') that is
// fixed only when the graph runs; a product of symbols is written 'B*T'. Symbols let one compiled session serve every
// batch size and sequence length (creating ORT sessions is slow and leaks memory, so we must not build one per length).
import { ProbityError, show } from '../../errors.js';

export type Dim = number | string;
export type Shape = readonly Dim[];

export class ShapeError extends ProbityError {
  constructor(message: string) {
    super('SHAPE', message);
  }
}

export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}

/** Number of elements; only for static shapes. */
export function numel(s: Shape): number {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') throw new ShapeError(`numel of symbolic shape ${show(s)}`);
    n *= d;
  }
  return n;
}

/** Product of dims as a Dim: numbers multiply, symbols join canonically ('B*T', sorted), so equal products compare equal. */
export function mulDims(dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(...d.split('*'));
  }
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  syms.sort();
  if (n !== 1) syms.unshift(String(n));
  return syms.join('*');
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Numpy broadcasting of two shapes; a symbol broadcasts only against 1 or itself. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new ShapeError(`${op}: shapes ${show(a)} and ${show(b)} do not broadcast (dim ${i}: ${show(da)} vs ${show(db)})`);
  }
  return out;
}
