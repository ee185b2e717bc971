// The dashboard: the built front end at `/` and its JSON API under `/api/`, as one Handler for the shared HTTP layer
// (src/serve/http.ts); `probity serve` mounts it beside the OpenAI-compatible `/v1/*`, on the same model and
// Scheduler. Nothing heavy happens per request except generation and the prompt view: latent pages read the files
// of `probity sae dashboard-data`.
//
//   GET  /api/model                       the model: name, context, vocabulary, whether it is the organism
//   GET  /api/saes                        the SAEs, with whether their dashboard data exists (else the command)
//   GET  /api/latents?sae=&q=&sort=&order=&page=&pageSize=   the latent list (search, sort, paging)
//   GET  /api/latents/:id?sae=            one latent's page data
//   POST /api/prompt {text, sae?, top?}   tokens, top latents per token, next-token distribution, concept labels
//   GET  /api/reports, /api/reports/:name the results.json files given (name = folder), the file's contents
//   GET  /api/reports/:name/html          the static report of that file (the page `probity bench` writes beside it)
//   GET  /api/graphs, /api/graphs/:name   the attribution graph files (name = file name), a validated file's contents
//   GET  /api/graphs/:name/html           the standalone page of that graph (src/circuits/html.ts)
//   POST /api/steer {prompt, latents|interventions, mode, ...}   unsteered and steered generations as SSE
import path from 'node:path';
import type { Model } from '../models/model.js';
import type { Scheduler } from '../serve/scheduler.js';
import { HttpError, readJson, sendJson, type Handler } from '../serve/http.js';
import { makeSaeLoader } from '../serve/interventions.js';
import { SaeCatalog } from './catalog.js';
import { SORT_KEYS } from './latent-index.js';
import { isOrganism } from './data/build.js';
import { choiceParam, intParam } from './api/params.js';
import { promptView } from './api/prompt.js';
import { reportEntries, reportHtml, reportSummary, reportText } from './api/reports.js';
import { graphEntries, graphPage, graphSummary, graphText } from './api/graphs.js';
import { steer } from './api/steer.js';
import { serveStatic, WEB_DIR } from './static.js';
import { PROJECT_ROOT } from '../util/paths.js';

export interface DashboardOptions {
  model: Model;
  modelRef: string;
  scheduler: Scheduler;
  /** SAE folders or dashboard-data folders (default in `probity serve`: the organism's shipped SAEs). */
  saes: string[];
  /** Results folders or results.json files (default in `probity serve`: reports/bench-organism). */
  results: string[];
  /** Folders of attribution graph files (their *.json) or graph files (default: the project's reports/graphs and the
   *  reference bench run's example graphs, reports/bench-organism/graphs). */
  graphs?: string[];
  /** JSON body limit of the POST routes (default 1 MiB). */
  bodyLimit?: number;
  /** Folder of the built front end (default dist/web). */
  webDir?: string;
}

/** The static pages (reports, graphs) hold no script; in the dashboard's frame this policy keeps it that way. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** A path segment as a name; malformed %-escapes are the client's mistake. */
function pathName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `${JSON.stringify(segment)} is not a valid URL path segment`, 'name', 'invalid_value');
  }
}

export async function createDashboardHandler(o: DashboardOptions): Promise<Handler> {
  const { model } = o;
  const catalog = new SaeCatalog(o.saes);
  const loadSae = makeSaeLoader(model, catalog.entries.map((e) => e.dir));
  const reports = reportEntries(o.results);
  const organism = isOrganism(model);
  const limit = o.bodyLimit ?? 1 << 20;
  const webDir = o.webDir ?? WEB_DIR;
  const graphDirs = o.graphs ?? [path.join(PROJECT_ROOT, 'reports', 'graphs'), path.join(PROJECT_ROOT, 'reports', 'bench-organism', 'graphs')];

  const only = (req: { method?: string }, method: string, path: string) => {
    if (req.method !== method) throw new HttpError(405, `${path} takes ${method}, not ${req.method}`, null, 'method_not_allowed');
  };

  return async (req, res, url) => {
    const p = url.pathname;
    if (!p.startsWith('/api/')) return serveStatic(req, res, url, webDir);
    const q = url.searchParams;
    if (p === '/api/model') {
      only(req, 'GET', p);
      sendJson(res, 200, { model: o.modelRef, arch: model.spec.arch, nCtx: model.spec.nCtx, vocab: model.spec.vocab, dModel: model.spec.dModel, layers: model.spec.nLayers, organism });
      return true;
    }
    if (p === '/api/saes') {
      only(req, 'GET', p);
      sendJson(res, 200, {
        saes: catalog.entries.map((e) => {
          const ix = e.dataDir ? catalog.latents(e as typeof e & { dataDir: string }).index.ix : null;
          return { id: e.id, path: e.dir, ...e.cfg, hasData: !!e.dataDir, missing: e.missing, tokens: ix?.tokens ?? null, docs: ix?.docs ?? null, source: ix?.source ?? null, concepts: ix?.concepts ?? false };
        }),
      });
      return true;
    }
    if (p === '/api/latents') {
      only(req, 'GET', p);
      const e = catalog.withData(q.get('sae'));
      const { index } = catalog.latents(e);
      const sort = choiceParam(q.get('sort'), 'sort', SORT_KEYS, 'id');
      const order = choiceParam(q.get('order'), 'order', ['asc', 'desc'] as const, sort === 'id' ? 'asc' : 'desc');
      const page = intParam(q.get('page'), 'page', 1, 1e9, 1);
      const pageSize = intParam(q.get('pageSize'), 'pageSize', 1, 500, 50);
      const query = q.get('q') ?? '';
      if (query.length > 200) throw new HttpError(400, `q has ${query.length} characters; the limit is 200`, 'q', 'invalid_value');
      sendJson(res, 200, { sae: e.id, ...index.query({ q: query, sort, order, page, pageSize }) });
      return true;
    }
    const latent = /^\/api\/latents\/([^/]+)$/.exec(p);
    if (latent) {
      only(req, 'GET', '/api/latents/:id');
      const e = catalog.withData(q.get('sae'));
      const id = /^\d+$/.test(latent[1]) ? Number(latent[1]) : NaN;
      if (!Number.isFinite(id)) throw new HttpError(404, `latent id ${JSON.stringify(decodeURIComponent(latent[1]))} is not a non-negative integer`, 'id', 'unknown_latent');
      sendJson(res, 200, catalog.detail(e, id));
      return true;
    }
    if (p === '/api/prompt') {
      only(req, 'POST', p);
      sendJson(res, 200, await promptView({ model, catalog, loadSae, organism }, await readJson(req, limit)));
      return true;
    }
    if (p === '/api/reports') {
      only(req, 'GET', p);
      sendJson(res, 200, { reports: reports.map(reportSummary) });
      return true;
    }
    const page = /^\/api\/reports\/([^/]+)\/html$/.exec(p);
    if (page) {
      only(req, 'GET', '/api/reports/:name/html');
      const html = await reportHtml(reports, decodeURIComponent(page[1]));
      // The static report holds no script; the policy keeps it that way inside the dashboard's frame.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'content-security-policy': PAGE_CSP });
      res.end(html);
      return true;
    }
    const report = /^\/api\/reports\/([^/]+)$/.exec(p);
    if (report) {
      only(req, 'GET', '/api/reports/:name');
      const text = reportText(reports, decodeURIComponent(report[1]));
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return true;
    }
    if (p === '/api/graphs') {
      only(req, 'GET', p);
      sendJson(res, 200, { graphs: graphEntries(graphDirs).map(graphSummary) });
      return true;
    }
    const graph = /^\/api\/graphs\/([^/]+)(\/html)?$/.exec(p);
    if (graph) {
      only(req, 'GET', graph[2] ? '/api/graphs/:name/html' : '/api/graphs/:name');
      const name = pathName(graph[1]);
      const [body, type] = graph[2] ? [graphPage(graphEntries(graphDirs), name), 'text/html'] : [graphText(graphEntries(graphDirs), name), 'application/json'];
      // The page holds no script (hover and click highlighting are CSS); the policy keeps it that way in the frame.
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body), ...(graph[2] ? { 'content-security-policy': PAGE_CSP } : {}) });
      res.end(body);
      return true;
    }
    if (p === '/api/steer') {
      only(req, 'POST', p);
      await steer({ model, scheduler: o.scheduler, catalog, loadSae }, req, res, await readJson(req, limit));
      return true;
    }
    throw new HttpError(404, `no dashboard route ${req.method} ${p} (see GET /api/saes, /api/latents, /api/latents/:id, /api/reports, /api/graphs; POST /api/prompt, /api/steer)`, null, 'not_found');
  };
}
