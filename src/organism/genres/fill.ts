// A tiny template filler: "{key}" is replaced by slots[key]; onSlot sees each slot as it is used.
import { ProbityError } from '../../errors.js';
import type { TextBuilder } from '../concepts.js';

export type Slots = Readonly<Record<string, string>>;

const SLOT = /\{([A-Za-z_]+)\}/g;

export function fillString(tpl: string, slots: Slots, onSlot?: (key: string, value: string) => void): string {
  return tpl.replace(SLOT, (_, key: string) => {
    const v = slots[key];
    if (v === undefined) throw new ProbityError('E_ORGANISM_INTERNAL', `template slot {${key}} has no value in ${JSON.stringify(tpl)}`);
    onSlot?.(key, v);
    return v;
  });
}

export function fill(b: TextBuilder, tpl: string, slots: Slots, onSlot?: (key: string, value: string) => void, extra = 0): void {
  b.add(fillString(tpl, slots, onSlot), extra);
}

/** Template text with the slots removed: the literal words a genre contributes to the vocabulary. */
export function literalText(tpls: readonly string[]): string {
  return tpls.map((t) => t.replace(SLOT, ' ')).join('\n');
}

/** Like fill, but the values of the slots named in `marks` get extra concept bits. */
export function fillMarked(
  b: TextBuilder,
  tpl: string,
  slots: Slots,
  marks: Readonly<Record<string, number>>,
  onSlot?: (key: string, value: string) => void,
): void {
  let last = 0;
  for (const m of tpl.matchAll(SLOT)) {
    const key = m[1];
    const at = m.index as number;
    if (at > last) b.add(tpl.slice(last, at));
    const v = slots[key];
    if (v === undefined) throw new ProbityError('E_ORGANISM_INTERNAL', `template slot {${key}} has no value in ${JSON.stringify(tpl)}`);
    onSlot?.(key, v);
    b.add(v, marks[key] ?? 0);
    last = at + m[0].length;
  }
  if (last < tpl.length) b.add(tpl.slice(last));
}
