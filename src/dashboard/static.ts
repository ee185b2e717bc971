// The built front end (web/ -> dist/web by `npm run build`) served from disk: `/` is its index.html, `/assets/...`
// its bundles. Paths outside the folder are never served; a missing build answers with how to make it.
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { PROJECT_ROOT } from '../util/paths.js';

export const WEB_DIR = path.join(PROJECT_ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json; charset=utf-8', '.map': 'application/json',
};

/** Answers GET/HEAD of `/`, `/index.html` and files under `/assets/`; false for anything else. */
export function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, url: URL, root = WEB_DIR): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const p = url.pathname;
  if (!(p === '/' || p === '/index.html' || p.startsWith('/assets/'))) return false;
  const rel = p === '/' ? 'index.html' : decodeURIComponent(p.slice(1));
  const file = path.resolve(root, rel);
  if (!file.startsWith(root + path.sep)) return false;
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    if (rel !== 'index.html') return false;
    const body = `<!doctype html><meta charset="utf-8"><title>probity dashboard</title><p>The dashboard's front end is not built: run <code>npm run build</code> (it writes ${root}). The JSON API under <code>/api/</code> works without it.</p>`;
    res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
    return true;
  }
  const data = fs.readFileSync(file);
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': data.length,
    // Bundles carry a content hash in their names; index.html must be re-read after a rebuild.
    'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : data);
  return true;
}
