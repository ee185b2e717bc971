// The one error a traffic line that is not valid OpenAI traffic raises: it names file:line, the field, and what was
// expected. The reader turns it into a skipped line (counted and reported, never silent).
import { ProbityError } from '../errors.js';

export class TrafficFormatError extends ProbityError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super('LOGPROBS_TRAFFIC', `${file}:${line}: ${detail}`);
    this.name = 'TrafficFormatError';
  }
}

/** Renders a JSON value briefly for "got ..." in messages. */
export function brief(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
