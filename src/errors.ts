// Every error probity raises on purpose carries a stable `code` (for scripts and tests) and a message that names the
// file / field / value at fault and what was expected. Anything else escaping is a bug.
export class ProbityError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProbityError';
  }
}

/** Short, readable rendering of a shape or value for error messages. */
export function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
