// Small helpers the ops share: scalar promotion and constant-value reading.
import type { Tensor } from '../graph/graph.js';
import { ShapeError } from '../graph/shape.js';

export type Operand = Tensor | number;

/** Lift a JS number to a scalar constant of `like`'s dtype. */
export function lift(x: Operand, like: Tensor): Tensor {
  return typeof x === 'number' ? like.graph.scalar(x, like.dtype) : x;
}

export function pickTensor(a: Operand, b: Operand, op: string): Tensor {
  if (typeof a !== 'number') return a;
  if (typeof b !== 'number') return b;
  throw new ShapeError(`${op}: at least one operand must be a tensor`);
}

/** Integer values of a constant int tensor (axes, shapes, starts...), or undefined if it is computed at run time. */
export function constInts(t: Tensor | null | undefined): number[] | undefined {
  if (!t?.constValue) return undefined;
  return Array.from(t.constValue as ArrayLike<number | bigint>, (v) => Number(v));
}
