// Interventions at hook points. Every value an intervention needs (vectors, scales, position masks, patched
// activations) is a graph *input*, so one compiled session serves a whole strength sweep or a batch of patches; only
// the kinds and places of interventions shape the graph. `fn` runs TypeScript on the tensor: the model is then run as
// a chain of graphs cut at each such hook (see Model.forward).
import type { Tensor } from '../../engine/graph/graph.js';
import { NDArray } from '../../engine/ndarray.js';
import { ProbityError, show } from '../../errors.js';
import * as op from '../../engine/ops/index.js';

export type Intervention =
  /** x + scale * vector; `vector` spans the hook's trailing dims (e.g. [D], or [H, Dh] for hook_z), or [T, ...] (per
   *  position), or [B, 1, ...] (per batch row: one run steers each row its own way, e.g. a whole strength sweep). */
  | { kind: 'add'; vector: NDArray; scale?: number; positions?: number[] }
  | { kind: 'zero'; positions?: number[] }
  /** Replace with a fixed vector (mean ablation: pass the mean activation). */
  | { kind: 'mean'; mean: NDArray; positions?: number[] }
  /** Replace with activations from another run (same shape as the hook, e.g. from runWithCache). */
  | { kind: 'patch'; source: NDArray; positions?: number[] }
  /** Set the component along `direction` to `value`: x + (value - x.u) u, u = direction / |direction|. */
  | { kind: 'clamp'; direction: NDArray; value: number; positions?: number[] }
  /** Remove the component along `direction`: x - (x.u) u. */
  | { kind: 'project_out'; direction: NDArray; positions?: number[] }
  /** Any graph fragment, e.g. an SAE reconstruction; `key` names its structure; `feeds` supplies its inputs. */
  | { kind: 'graph'; key: string; build: (x: Tensor, input: (name: string, value: NDArray) => Tensor) => Tensor }
  /** TypeScript on the concrete tensor; return a replacement (same dims) or nothing to leave it as is. */
  | { kind: 'fn'; fn: (x: NDArray) => NDArray | void };

export type InterventionMap = Record<string, Intervention[]>;

/** Where a run is: T new positions after `past` cached ones (generation feeds one token at a time). */
export interface RunShape {
  T: number;
  past: number;
}
/** A value to feed, or a function of the run's shape (position masks depend on T and the past length). */
export type FeedValue = NDArray | ((r: RunShape) => NDArray);
/** Declares a graph input for an intervention value and records the value to feed. */
export type FeedFn = (name: string, value: FeedValue, dims: (number | string)[]) => Tensor;

/** Position mask [1, T, 1...] (1 at the chosen absolute positions), fed per run. */
function positionMask(x: Tensor, positions: number[] | undefined, feed: FeedFn, key: string): Tensor | null {
  if (!positions) return null;
  const chosen = new Set(positions);
  const value = ({ T, past }: RunShape) => NDArray.f32(Array.from({ length: T }, (_, i) => (chosen.has(past + i) ? 1 : 0)), [1, T, ...new Array(x.rank - 2).fill(1)]);
  return feed(`${key}.positions`, value, [1, x.shape[1], ...new Array(x.rank - 2).fill(1)]);
}

function unit(v: Tensor): Tensor {
  return op.div(v, op.sqrt(op.reduceSum(op.mul(v, v), -1, true)));
}

/** Trailing-dims vector to a shape that broadcasts against x [B, T, ...]. */
function asTrailing(x: Tensor, v: Tensor, what: string): Tensor {
  const trailing = x.shape.slice(2);
  const n = trailing.reduce((a: number, b) => a * (b as number), 1);
  const vn = v.shape.reduce((a: number, b) => a * (b as number), 1);
  if (vn === n) return op.reshape(v, trailing);
  throw new ProbityError('INTERVENTION_SHAPE', `${what}: vector has shape ${show(v.shape)}, expected ${n} values for hook trailing dims ${show(trailing)}`);
}

/** Blend: where a position mask is given, only those positions take the new value. */
function blend(x: Tensor, y: Tensor, mask: Tensor | null): Tensor {
  return mask ? op.add(x, op.mul(op.sub(y, x), mask)) : y;
}

/** Apply one graph-level intervention at a hook. `key` is unique per (hook, index). */
export function applyIntervention(x: Tensor, iv: Intervention, feed: FeedFn, key: string, hook: string): Tensor {
  const mask = 'positions' in iv ? positionMask(x, iv.positions, feed, key) : null;
  switch (iv.kind) {
    case 'add': {
      // A [B, 1, ...] vector adds per row (its batch dim is declared symbolic like the hook's, so the graph serves
      // any batch); a [T, ...] vector adds per position; otherwise it spans the trailing dims and broadcasts.
      const perRow = iv.vector.dims.length === x.rank && iv.vector.dims[1] === 1;
      const v = feed(`${key}.vector`, iv.vector, perRow ? [x.shape[0], ...iv.vector.dims.slice(1)] : [...iv.vector.dims]);
      const scale = feed(`${key}.scale`, NDArray.scalar(iv.scale ?? 1), []);
      const perPos = iv.vector.dims.length === x.rank - 1 && iv.vector.dims.length >= 2;
      if (perRow && show(v.shape.slice(2)) !== show(x.shape.slice(2))) {
        throw new ProbityError('INTERVENTION_SHAPE', `add at ${hook}: per-row vector has shape ${show(iv.vector.dims)}, expected [B, 1, ${show(x.shape.slice(2))}]`);
      }
      const delta = op.mul(perRow || perPos ? v : asTrailing(x, v, `add at ${hook}`), scale);
      return op.add(x, mask ? op.mul(delta, mask) : delta);
    }
    case 'zero':
      return blend(x, op.mul(x, 0), mask);
    case 'mean':
      return blend(x, op.add(op.mul(x, 0), asTrailing(x, feed(`${key}.mean`, iv.mean, [...iv.mean.dims]), `mean at ${hook}`)), mask);
    case 'patch': {
      // The source's own dims are symbolic like the hook's, so patching works for any batch of the same shape.
      const src = feed(`${key}.source`, iv.source, x.shape as (number | string)[]);
      if (src.rank !== x.rank) throw new ProbityError('INTERVENTION_SHAPE', `patch at ${hook}: source dims ${show(iv.source.dims)} vs hook ${show(x.shape)}`);
      return blend(x, src, mask);
    }
    case 'clamp':
    case 'project_out': {
      const u = unit(asTrailing(x, feed(`${key}.direction`, iv.direction, [...iv.direction.dims]), `${iv.kind} at ${hook}`));
      const along = op.reduceSum(op.mul(x, u), -1, true);
      const target = iv.kind === 'clamp' ? feed(`${key}.value`, NDArray.scalar(iv.value), []) : null;
      const y = op.add(x, op.mul(target ? op.sub(target, along) : op.neg(along), u));
      return blend(x, y, mask);
    }
    case 'graph':
      return iv.build(x, (name, value) => feed(`${key}.${name}`, value, [...value.dims]));
    case 'fn':
      throw new ProbityError('INTERNAL', 'fn interventions are run between graphs, not inside one');
  }
}
