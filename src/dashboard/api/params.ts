// Checks of request fields for the dashboard API: each failure is a 400 naming the field, the value and what was
// expected.
import { HttpError } from '../../serve/http.js';

const shown = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v)?.slice(0, 80) ?? String(v));

export function intParam(v: unknown, name: string, min: number, max: number, dflt?: number): number {
  if ((v === undefined || v === null || v === '') && dflt !== undefined) return dflt;
  const x = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (!(typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max)) throw new HttpError(400, `${name} is ${shown(v)}; expected an integer from ${min} to ${max}`, name, 'invalid_value');
  return x;
}

export function numParam(v: unknown, name: string, min: number, max: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max)) throw new HttpError(400, `${name} is ${shown(v)}; expected a number from ${min} to ${max}`, name, 'invalid_value');
  return v;
}

export function choiceParam<T extends string>(v: unknown, name: string, choices: readonly T[], dflt?: T): T {
  if ((v === undefined || v === null || v === '') && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new HttpError(400, `${name} is ${shown(v)}; expected one of ${choices.join(', ')}`, name, 'invalid_value');
  return v as T;
}

export function stringParam(v: unknown, name: string, maxLength: number): string {
  if (typeof v !== 'string' || v.length === 0) throw new HttpError(400, `${name} is ${shown(v)}; expected a non-empty string`, name, 'invalid_value');
  if (v.length > maxLength) throw new HttpError(400, `${name} has ${v.length} characters; the limit is ${maxLength}`, name, 'invalid_value');
  return v;
}

export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) throw new HttpError(400, `${where}: unknown field ${JSON.stringify(extra[0])}; the fields are ${allowed.join(', ')}`, extra[0], 'unknown_field');
}
