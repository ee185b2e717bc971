// Option parsers that fail with a message naming the flag, the value and what was expected.
import { ProbityError } from '../errors.js';

export function numArg(name: string, min?: number, max?: number, int = false) {
  return (v: string): number => {
    const x = Number(v.replace(/_/g, '').replace(/[kK]$/, 'e3').replace(/[mM]$/, 'e6'));
    const ok = Number.isFinite(x) && (!int || Number.isInteger(x)) && (min === undefined || x >= min) && (max === undefined || x <= max);
    if (!ok) {
      const range = [min !== undefined ? `>= ${min}` : '', max !== undefined ? `<= ${max}` : ''].filter(Boolean).join(' and ');
      throw new ProbityError('CLI_ARG', `--${name} is "${v}", expected ${int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`);
    }
    return x;
  };
}

export const intArg = (name: string, min?: number, max?: number) => numArg(name, min, max, true);

export function choiceArg<T extends string>(name: string, choices: readonly T[]) {
  return (v: string): T => {
    if (!(choices as readonly string[]).includes(v)) throw new ProbityError('CLI_ARG', `--${name} is "${v}", expected one of ${choices.join(', ')}`);
    return v as T;
  };
}
