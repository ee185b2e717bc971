// The SAEs a dashboard serves and where their precomputed data lives. An entry of `saes` is an SAE folder (its data
// is `<folder>/dashboard/` when that exists) or a dashboard-data folder made with `--out` (its manifest names the
// SAE). Index and details are read on first use and kept (details per group file, the most recent few).
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../util/paths.js';
import { HttpError } from '../serve/http.js';
import { CONCEPTS } from '../organism/concepts.js';
import { LatentIndex } from './latent-index.js';
import { DASHBOARD_DIR, INDEX_FILE, MANIFEST_FILE, TOKENS_FILE, groupFile, type Context, type DashboardIndex, type DashboardManifest, type LatentDetail } from './data/format.js';

export interface SaeEntry {
  /** Short name used in the API (`sae=`): the SAE folder's name, made unique. */
  id: string;
  /** The SAE folder (absolute). */
  dir: string;
  /** The data folder when its run completed, else null. */
  dataDir: string | null;
  /** Why there is no data, and the command that makes it. */
  missing: string | null;
  cfg: { hook: string; dSae: number; architecture: string };
}

/** A context as the API returns it: token texts beside the ids, concept labels as names. */
export interface ApiContext extends Omit<Context, 'labels'> {
  text: string[];
  labels?: number[];
}

const GROUPS_KEPT = 6;

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function completeData(dir: string): DashboardManifest | null {
  const m = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(m)) return null;
  const man = readJson<DashboardManifest>(m);
  return man.complete && fs.existsSync(path.join(dir, INDEX_FILE)) ? man : null;
}

function relCommand(dir: string): string {
  const rel = path.relative(PROJECT_ROOT, dir);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
  return `probity sae dashboard-data --sae ${shown}`;
}

export class SaeCatalog {
  readonly entries: SaeEntry[] = [];
  private indexes = new Map<string, { index: LatentIndex; tokens: string[] }>();
  private groups = new Map<string, LatentDetail[]>();
  /** Data folders given directly (with --out), by the SAE folder their manifest names. */
  private dataDirs: { sae: string; data: string }[] = [];

  constructor(refs: readonly string[]) {
    const used = new Map<string, number>();
    for (const ref of refs) {
      const abs = path.resolve(ref);
      let dir = abs;
      let dataDir: string | null = null;
      let missing: string | null = null;
      const asData = completeData(abs) ?? (fs.existsSync(path.join(abs, MANIFEST_FILE)) ? readJson<DashboardManifest>(path.join(abs, MANIFEST_FILE)) : null);
      if (asData && !fs.existsSync(path.join(abs, 'cfg.json'))) {
        // A data folder: the manifest names the SAE (project-relative when it was inside the project).
        dir = path.isAbsolute(asData.sae) ? asData.sae : path.resolve(PROJECT_ROOT, asData.sae);
        this.dataDirs.push({ sae: dir, data: abs });
        if (asData.complete && fs.existsSync(path.join(abs, INDEX_FILE))) dataDir = abs;
        else missing = `the dashboard data in ${abs} is incomplete: rerun \`probity sae dashboard-data --sae ${asData.sae} --out ${abs}\` (it resumes)`;
      } else {
        const d = path.join(abs, DASHBOARD_DIR);
        if (completeData(d)) dataDir = d;
        else missing = fs.existsSync(path.join(d, MANIFEST_FILE)) ? `the dashboard data in ${d} is incomplete: rerun \`${relCommand(abs)}\` (it resumes)` : `no dashboard data for this SAE: make it with \`${relCommand(abs)}\``;
      }
      const cfgFile = path.join(dir, 'cfg.json');
      const raw = fs.existsSync(cfgFile) ? readJson<Record<string, unknown>>(cfgFile) : {};
      const base = path.basename(dir);
      const n = (used.get(base) ?? 0) + 1;
      used.set(base, n);
      this.entries.push({
        id: n === 1 ? base : `${base}-${n}`, dir, dataDir, missing,
        cfg: { hook: String(raw.hook_name ?? raw.hookName ?? ''), dSae: Number(raw.d_sae ?? raw.dSae ?? 0), architecture: String(raw.architecture ?? '') },
      });
    }
  }

  /** The entry for an API `sae` parameter (the first SAE when absent). */
  get(id: string | null | undefined, param = 'sae'): SaeEntry {
    if (this.entries.length === 0) throw new HttpError(404, 'this server has no SAEs (start it with --sae DIR)', param, 'no_saes');
    if (id === null || id === undefined || id === '') return this.entries[0];
    const e = this.entries.find((x) => x.id === id);
    if (!e) throw new HttpError(404, `unknown SAE ${JSON.stringify(id)}; this server has ${this.entries.map((x) => x.id).join(', ')}`, param, 'unknown_sae');
    return e;
  }

  /** The entry with data, or a 404 naming the command that makes it. */
  withData(id: string | null | undefined): SaeEntry & { dataDir: string } {
    const e = this.get(id);
    if (!e.dataDir) this.recheck(e);
    if (!e.dataDir) throw new HttpError(404, `SAE ${e.id}: ${e.missing}`, 'sae', 'no_dashboard_data');
    return e as SaeEntry & { dataDir: string };
  }

  /** Data made (or finished) since the server started is picked up on the next request. */
  private recheck(e: SaeEntry): void {
    for (const d of [path.join(e.dir, DASHBOARD_DIR), ...this.dataDirs.filter((x) => x.sae === e.dir).map((x) => x.data)]) {
      if (completeData(d)) {
        e.dataDir = d;
        e.missing = null;
        return;
      }
    }
  }

  latents(e: SaeEntry & { dataDir: string }): { index: LatentIndex; tokens: string[] } {
    let x = this.indexes.get(e.id);
    if (!x) {
      x = { index: new LatentIndex(readJson<DashboardIndex>(path.join(e.dataDir, INDEX_FILE))), tokens: readJson<string[]>(path.join(e.dataDir, TOKENS_FILE)) };
      this.indexes.set(e.id, x);
    }
    return x;
  }

  /** One latent's detail with token texts; 404 for an id outside the SAE. */
  detail(e: SaeEntry & { dataDir: string }, id: number): Record<string, unknown> {
    const { index, tokens } = this.latents(e);
    if (!(Number.isInteger(id) && id >= 0 && id < index.n)) throw new HttpError(404, `SAE ${e.id} has latents 0 .. ${index.n - 1}; there is no latent ${id}`, 'id', 'unknown_latent');
    const g = Math.floor(id / index.ix.groupSize);
    const key = `${e.id}:${g}`;
    let grp = this.groups.get(key);
    if (grp) this.groups.delete(key);
    else grp = readJson<{ latents: LatentDetail[] }>(path.join(e.dataDir, groupFile(g))).latents;
    this.groups.set(key, grp); // most recently used last
    if (this.groups.size > GROUPS_KEPT) this.groups.delete(this.groups.keys().next().value!);
    const d = grp[id - g * index.ix.groupSize];
    const ctx = (c: Context): ApiContext => ({ ...c, text: c.tokens.map((t) => tokens[t] ?? '') });
    return {
      ...d,
      sae: e.id,
      hook: e.cfg.hook,
      summary: index.summary(id),
      top: d.top.map(ctx),
      quantiles: d.quantiles.map((q) => ({ ...q, contexts: q.contexts.map(ctx) })),
      promoted: d.promoted.map((p) => ({ ...p, text: tokens[p.token] ?? '' })),
      suppressed: d.suppressed.map((p) => ({ ...p, text: tokens[p.token] ?? '' })),
      neighbours: d.neighbours.map((n) => ({ ...n, summary: index.summary(n.latent) })),
      conceptNames: index.ix.concepts ? [...CONCEPTS] : [],
      tokens: index.ix.tokens,
      source: index.ix.source,
    };
  }
}
