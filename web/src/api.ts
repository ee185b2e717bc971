// The dashboard's JSON API (src/dashboard/server.ts) as typed calls. Errors come back in OpenAI's shape
// ({error: {message, code, param}}); `ApiError` carries them so a page can show the server's own message.
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code: string | null) {
    super(message);
  }
}

async function check(r: Response): Promise<Response> {
  if (r.ok) return r;
  let msg = `${r.status} ${r.statusText}`;
  let code: string | null = null;
  try {
    const j = await r.json();
    msg = j.error?.message ?? msg;
    code = j.error?.code ?? null;
  } catch {
    /* not JSON */
  }
  throw new ApiError(r.status, msg, code);
}

export async function get<T = any>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return (await check(await fetch(`${path}${s ? `?${s}` : ''}`))).json();
}

export async function post<T = any>(path: string, body: unknown): Promise<T> {
  return (await check(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))).json();
}

/** POST with a server-sent-events reply: `onEvent` gets each parsed `data:` object until [DONE]. */
export async function postStream(path: string, body: unknown, onEvent: (e: any) => void, signal?: AbortSignal): Promise<void> {
  const r = await check(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal }));
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of chunk.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

export interface SaeInfo {
  id: string;
  path: string;
  hook: string;
  dSae: number;
  architecture: string;
  hasData: boolean;
  missing: string | null;
  tokens: number | null;
  docs: number | null;
  concepts: boolean;
}
