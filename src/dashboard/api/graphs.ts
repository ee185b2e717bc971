// Attribution graph files the dashboard shows (src/circuits/graph-json.ts): each entry of `graphs` is a folder whose
// `*.json` files are graphs, or one graph file. The folders are listed on every request (a graph written while the
// server is up appears), names are file names without `.json`, made unique in the order given. Each file is read and
// validated (src/circuits/validate-graph.ts) when asked for, and kept while its mtime and size stay the same; a bad
// file answers with a JSON error naming it and what is wrong, and every other graph keeps being served.
import fs from 'node:fs';
import path from 'node:path';
import { HttpError } from '../../serve/http.js';
import { ProbityError } from '../../errors.js';
import { parseGraphText } from '../../circuits/validate-graph.js';
import { graphHtml } from '../../circuits/html.js';
import type { AttributionGraphFile } from '../../circuits/graph-json.js';
import { displayPath } from '../../util/paths.js';

export interface GraphEntry {
  name: string;
  file: string;
}

/** The graph files under `refs` now (folders: their `*.json` files in name order; files as given). */
export function graphEntries(refs: readonly string[]): GraphEntry[] {
  const files: string[] = [];
  for (const r of refs) {
    const abs = path.resolve(r);
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(abs);
    } catch {
      /* a folder that does not exist (yet) holds no graphs; a missing file is listed, as unavailable */
    }
    if (st?.isDirectory()) {
      const names = fs.readdirSync(abs, { withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.json')).map((d) => d.name);
      for (const f of names.sort()) files.push(path.join(abs, f));
    } else if (st || abs.endsWith('.json')) files.push(abs);
  }
  const used = new Map<string, number>();
  return files.map((file) => {
    const base = path.basename(file, '.json');
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return { name: n === 1 ? base : `${base}-${n}`, file };
  });
}

interface Loaded {
  stamp: string;
  text: string;
  graph: AttributionGraphFile | null;
  /** Why there is no graph: the file breaks the format (422), or it could not be read (500). */
  error: { status: 422 | 500; message: string } | null;
}

const loaded = new Map<string, Loaded>();

/** The file's text and validated graph, or its error (cached per file version). */
function load(e: GraphEntry): Loaded {
  let st: fs.Stats;
  try {
    st = fs.statSync(e.file);
  } catch {
    throw new HttpError(404, `graph ${e.name}: ${displayPath(e.file)} does not exist`, 'name', 'graph_missing');
  }
  const stamp = `${st.mtimeMs}:${st.size}`;
  const hit = loaded.get(e.file);
  if (hit?.stamp === stamp) return hit;
  let text = '';
  let graph: AttributionGraphFile | null = null;
  let error: Loaded['error'] = null;
  try {
    text = fs.readFileSync(e.file, 'utf8');
    graph = parseGraphText(text, displayPath(e.file));
  } catch (err) {
    error = err instanceof ProbityError ? { status: 422, message: err.message } : { status: 500, message: `${displayPath(e.file)} cannot be read (${(err as Error).message})` };
  }
  const v = { stamp, text, graph, error };
  loaded.set(e.file, v);
  return v;
}

function entry(entries: readonly GraphEntry[], name: string): GraphEntry {
  const e = entries.find((x) => x.name === name);
  if (!e) throw new HttpError(404, `unknown graph ${JSON.stringify(name)}; this server has ${entries.map((x) => x.name).join(', ') || 'none (the dashboard lists the *.json files of reports/graphs)'}`, 'name', 'unknown_graph');
  return e;
}

function valid(e: GraphEntry): { text: string; graph: AttributionGraphFile } {
  const v = load(e);
  if (v.error?.status === 500) throw new HttpError(500, `graph ${e.name}: ${v.error.message}`, 'name', 'graph_unreadable');
  if (!v.graph) throw new HttpError(422, `graph ${e.name} is not a valid attribution graph file: ${v.error?.message}`, 'name', 'graph_invalid');
  return { text: v.text, graph: v.graph };
}

/** What the graph list shows: the prompt, counts and scores, or why the file cannot be shown. */
export function graphSummary(e: GraphEntry): Record<string, unknown> {
  let v: Loaded;
  try {
    v = load(e);
  } catch (err) {
    if (err instanceof HttpError) return { name: e.name, file: displayPath(e.file), available: false, error: err.message };
    throw err;
  }
  if (!v.graph) return { name: e.name, file: displayPath(e.file), available: false, error: v.error?.message ?? null };
  const m = v.graph.metadata;
  return {
    name: e.name, file: displayPath(e.file), available: true, slug: m.slug, prompt: m.prompt, model: m.probity.model,
    counts: m.probity.counts, scores: m.probity.scores, code_version: m.probity.code_version,
  };
}

/** The file's own text, once it has validated. */
export function graphText(entries: readonly GraphEntry[], name: string): string {
  return valid(entry(entries, name)).text;
}

const pages = new WeakMap<AttributionGraphFile, string>();

/** The standalone page of a graph (src/circuits/html.ts), rendered once per file version. */
export function graphPage(entries: readonly GraphEntry[], name: string): string {
  const { graph } = valid(entry(entries, name));
  let html = pages.get(graph);
  if (html === undefined) pages.set(graph, (html = graphHtml(graph)));
  return html;
}
