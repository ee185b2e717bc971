// One JSON POST/GET to an OpenAI-compatible endpoint with Node's fetch: a timeout per attempt, retries (with
// backoff, honouring Retry-After) for 429, 5xx, timeouts and network failures, none for other 4xx. The result says
// what happened in words a user can act on; nothing here throws for an HTTP failure.
export interface CallOptions {
  apiKey: string | null;
  timeoutMs: number;
  retries: number;
  /** Backoff before retry i (ms): base * 2^i, capped at 8 s. */
  backoffMs?: number;
}

export type CallResult = { ok: true; status: number; body: unknown; attempts: number } | { ok: false; status: number | null; message: string; attempts: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorMessage(status: number, text: string): string {
  let msg = text.slice(0, 300);
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    msg = (typeof j.error === 'string' ? j.error : j.error?.message) ?? j.message ?? msg;
  } catch {
    // not JSON: keep the text
  }
  const hint = status === 401 || status === 403 ? ' (check the API key: OPENAI_API_KEY or the variable --api-key-env names)' : status === 404 ? ' (check the base URL and the model name)' : '';
  return `HTTP ${status}: ${msg}${hint}`;
}

export async function callJson(url: string, body: unknown | undefined, o: CallOptions): Promise<CallResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  let last: CallResult = { ok: false, status: null, message: 'not sent', attempts: 0 };
  for (let attempt = 1; attempt <= o.retries + 1; attempt++) {
    let retryAfterMs: number | null = null;
    try {
      const res = await fetch(url, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs) });
      const text = await res.text();
      if (res.ok) {
        try {
          return { ok: true, status: res.status, body: JSON.parse(text), attempts: attempt };
        } catch {
          return { ok: false, status: res.status, message: `HTTP ${res.status} but the body is not JSON: ${text.slice(0, 120)}`, attempts: attempt };
        }
      }
      last = { ok: false, status: res.status, message: errorMessage(res.status, text), attempts: attempt };
      if (res.status !== 429 && res.status < 500) return last;
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra >= 0) retryAfterMs = Math.min(30_000, ra * 1000);
    } catch (e) {
      const err = e as Error;
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      last = { ok: false, status: null, message: timedOut ? `no answer within ${o.timeoutMs} ms` : `cannot reach ${url}: ${cause?.code ?? cause?.message ?? err.message}`, attempts: attempt };
    }
    if (attempt <= o.retries) await sleep(retryAfterMs ?? Math.min(8000, (o.backoffMs ?? 500) * 2 ** (attempt - 1)));
  }
  return { ...last, message: `${last.message} (after ${last.attempts} attempts)` };
}
