// Benchmark results the dashboard shows: each entry of `results` is a results folder (holding results.json) or a
// results.json file; a report's name is its folder's name, made unique. Files are read when asked for (a run that
// finishes while the server is up shows its new numbers).
import fs from 'node:fs';
import path from 'node:path';
import { HttpError } from '../../serve/http.js';
import { renderBenchReport } from '../../report/bench-report.js';
import type { BenchResults } from '../../bench/results.js';

export interface ReportEntry {
  name: string;
  file: string;
}

export function reportEntries(results: readonly string[]): ReportEntry[] {
  const used = new Map<string, number>();
  return results.map((r) => {
    const abs = path.resolve(r);
    const isFile = fs.existsSync(abs) ? fs.statSync(abs).isFile() : abs.endsWith('.json');
    const file = isFile ? abs : path.join(abs, 'results.json');
    const base = path.basename(path.dirname(file)) || 'results';
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return { name: n === 1 ? base : `${base}-${n}`, file };
  });
}

/** What the report list shows without reading the whole file's rows into the reply. */
export function reportSummary(e: ReportEntry): Record<string, unknown> {
  if (!fs.existsSync(e.file)) return { name: e.name, available: false, error: `${e.file} does not exist` };
  try {
    const r = JSON.parse(fs.readFileSync(e.file, 'utf8')) as Record<string, unknown>;
    const p = (r.provenance ?? {}) as Record<string, unknown>;
    const model = (p.model ?? {}) as Record<string, unknown>;
    return {
      name: e.name, available: true, suites: r.suites ?? [], quick: r.quick ?? false, rows: Array.isArray(r.rows) ? r.rows.length : 0,
      model: model.source ?? null, started: p.started ?? null, wall_s: p.wall_s ?? null, code_version: p.code_version ?? null,
    };
  } catch (err) {
    return { name: e.name, available: false, error: `${e.file} is not valid JSON: ${(err as Error).message}` };
  }
}

export function reportText(entries: readonly ReportEntry[], name: string): string {
  const e = entries.find((x) => x.name === name);
  if (!e) throw new HttpError(404, `unknown report ${JSON.stringify(name)}; this server has ${entries.map((x) => x.name).join(', ') || 'none'}`, 'name', 'unknown_report');
  if (!fs.existsSync(e.file)) throw new HttpError(404, `report ${name}: ${e.file} does not exist`, 'name', 'report_missing');
  return fs.readFileSync(e.file, 'utf8');
}

const rendered = new Map<string, { stamp: string; html: string }>();

/** The static HTML report of a results file, rendered by the same code as `probity bench` (cached per file version). */
export async function reportHtml(entries: readonly ReportEntry[], name: string): Promise<string> {
  const text = reportText(entries, name);
  const file = entries.find((x) => x.name === name)!.file;
  const st = fs.statSync(file);
  const stamp = `${st.mtimeMs}:${st.size}`;
  const hit = rendered.get(file);
  if (hit?.stamp === stamp) return hit.html;
  let r: BenchResults;
  try {
    r = JSON.parse(text) as BenchResults;
  } catch (err) {
    throw new HttpError(422, `report ${name}: ${file} is not valid JSON: ${(err as Error).message}`, 'name', 'report_invalid');
  }
  let html: string;
  try {
    html = await renderBenchReport(r);
  } catch (err) {
    throw new HttpError(422, `report ${name}: ${file} is not a results file this version renders (${(err as Error).message})`, 'name', 'report_invalid');
  }
  rendered.set(file, { stamp, html });
  return html;
}
