// The HTTP layer every probity server shares (the OpenAI-compatible API, the dashboard's JSON API): node:http, a
// chain of handlers, JSON bodies under a size limit, errors in OpenAI's shape, server-sent events, graceful shutdown.
// A handler error never takes the server down: it becomes a JSON error reply (4xx for the client's mistakes, 500
// with the message for ours) and the server keeps serving.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A route group: returns true when it answered the request, false to pass it to the next handler. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;

/** A client error with the fields of OpenAI's error object (`{"error": {message, type, param, code}}`). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: string = status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function errorBody(e: HttpError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

export function sendError(res: http.ServerResponse, e: unknown): void {
  const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`, null, 'internal_error');
  sendJson(res, err.status, errorBody(err));
}

/** The request body as JSON; 413 past `limitBytes` (reading stops there), 400 for malformed JSON or a non-object. */
export async function readJson(req: http.IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limitBytes) throw new HttpError(413, `request body is ${declared} bytes; the limit is ${limitBytes}`, null, 'body_too_large');
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limitBytes) throw new HttpError(413, `request body is over the ${limitBytes}-byte limit`, null, 'body_too_large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'request body must be a JSON object', null, 'invalid_json');
  return v as Record<string, unknown>;
}

/** A server-sent-events stream: `send` writes one `data:` event; `done` writes `data: [DONE]` and ends. */
export interface EventStream {
  send(obj: unknown): void;
  done(): void;
  /** True once the client has gone (a disconnect mid-stream): stop generating for it. */
  readonly closed: boolean;
}

export function eventStream(req: http.IncomingMessage, res: http.ServerResponse): EventStream {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let closed = false;
  res.on('close', () => (closed = true));
  req.on('aborted', () => (closed = true));
  return {
    send(obj) {
      if (!closed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    },
    done() {
      if (!closed) res.end('data: [DONE]\n\n');
    },
    get closed() {
      return closed || res.destroyed;
    },
  };
}

export interface ServerOptions {
  host: string;
  port: number;
  handlers: Handler[];
  /** Called once per request that ended in a 5xx (our fault), for the server's log. */
  onInternalError?: (e: unknown, req: http.IncomingMessage) => void;
}

export interface RunningServer {
  server: http.Server;
  url: string;
  /** Stop accepting, let requests in flight finish (up to `graceMs`), then close what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        for (const h of o.handlers) if (await h(req, res, url)) return;
        throw new HttpError(404, `no route for ${req.method} ${url.pathname}`, null, 'not_found');
      } catch (e) {
        if (!(e instanceof HttpError) || e.status >= 500) o.onInternalError?.(e, req);
        if (res.headersSent) res.end();
        else sendError(res, e);
      }
    })();
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close(graceMs = 5000) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * For a shutdown: returns a function that destroys every connection with no request in progress, now and as each
 * busy one finishes its last response. `RunningServer.close` waits for connections Node does not count as idle, e.g.
 * the spare socket an HTTP client (undici, so the openai package) opens after aborting a stream, which never sends a
 * request: without this a shutdown waits out the whole grace period for it. Install it when the server starts.
 */
export function closeQuietConnections(server: http.Server): () => void {
  const busy = new Map<import('node:net').Socket, number>();
  let closing = false;
  server.on('connection', (s) => {
    busy.set(s, 0);
    s.on('close', () => busy.delete(s));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const s = req.socket;
    busy.set(s, (busy.get(s) ?? 0) + 1);
    res.on('close', () => {
      const n = (busy.get(s) ?? 1) - 1;
      busy.set(s, n);
      if (closing && n === 0) s.destroy();
    });
  });
  return () => {
    closing = true;
    for (const [s, n] of busy) if (n === 0) s.destroy();
  };
}
