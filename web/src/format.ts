// Number formats shared with the static report (src/report/html.ts), and small helpers.
export { num, interval, short, finite, unique } from '../../src/report/html.js';

export const pct = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toPrecision(3)}%` : '–');
export const sig = (x: number | null | undefined, p = 3): string => (typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(p))) : '–');

/** A token as it reads in a context: spaces kept, newlines and tabs shown. */
export const showToken = (t: string): string => (t === '' ? '∅' : t.replace(/\n/g, '↵').replace(/\t/g, '⇥'));
