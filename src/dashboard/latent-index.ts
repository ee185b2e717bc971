// The latent list of one SAE in memory: search by token or context text, sort, page. Built once from index.json
// (columns); the sort orders are computed on first use and kept, so a page of a 16k-latent list is a filter pass and
// a slice.
import { ProbityError, show } from '../errors.js';
import type { DashboardIndex } from './data/format.js';

export const SORT_KEYS = ['id', 'density', 'maxAct', 'bestF1', 'bestAuroc'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface LatentSummary {
  id: number;
  density: number;
  maxAct: number;
  meanAct: number;
  topTokens: string[];
  snippet: string;
  bestConcept: string | null;
  bestF1: number | null;
  aurocConcept: string | null;
  bestAuroc: number | null;
}

export interface LatentQuery {
  q?: string;
  sort?: SortKey;
  /** Default: descending for every key but id. */
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface LatentPage {
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  sort: SortKey;
  order: 'asc' | 'desc';
  items: LatentSummary[];
}

export class LatentIndex {
  readonly n: number;
  /** Lower-cased searchable text per latent: its top tokens, then its best context. */
  private readonly text: string[];
  private readonly tokens: string[][];
  private readonly orders = new Map<string, Int32Array>();

  constructor(readonly ix: DashboardIndex) {
    this.n = ix.dSae;
    for (const k of ['density', 'maxAct', 'meanAct', 'topTokens', 'snippet', 'bestConcept', 'bestF1', 'aurocConcept', 'bestAuroc'] as const) {
      if (!Array.isArray(ix[k]) || ix[k].length !== this.n) throw new ProbityError('DASHBOARD_DATA', `index.json: column ${k} has ${show((ix[k] as unknown[] | undefined)?.length)} entries, expected d_sae = ${this.n}`);
    }
    this.tokens = ix.topTokens.map((ts) => ts.map((t) => t.trim().toLowerCase()));
    this.text = ix.topTokens.map((ts, i) => `${ts.join('\u0001')}\u0001${ix.snippet[i]}`.toLowerCase());
  }

  summary(i: number): LatentSummary {
    const x = this.ix;
    return {
      id: i, density: x.density[i], maxAct: x.maxAct[i], meanAct: x.meanAct[i], topTokens: x.topTokens[i], snippet: x.snippet[i],
      bestConcept: x.bestConcept[i], bestF1: x.bestF1[i], aurocConcept: x.aurocConcept[i], bestAuroc: x.bestAuroc[i],
    };
  }

  /** Ids in the key's order (missing values, e.g. no concept match, last either way). */
  private orderOf(sort: SortKey, order: 'asc' | 'desc'): Int32Array {
    const k = `${sort}:${order}`;
    let o = this.orders.get(k);
    if (o) return o;
    const ids = Int32Array.from({ length: this.n }, (_, i) => i);
    if (sort === 'id') o = order === 'asc' ? ids : ids.reverse();
    else {
      const col = this.ix[sort] as (number | null)[];
      const sign = order === 'asc' ? 1 : -1;
      o = ids.sort((a, b) => {
        const va = col[a];
        const vb = col[b];
        if (va === null || vb === null) return va === vb ? a - b : va === null ? 1 : -1;
        return sign * (va - vb) || a - b;
      });
    }
    this.orders.set(k, o);
    return o;
  }

  /**
   * A page of the list. `q` matches latents whose top tokens or best context contain it (case-insensitive); a query
   * "#123" (or "123" when it is a latent id) also finds that latent; a token query in quotes ("'dog'") matches a top
   * token exactly.
   */
  query(o: LatentQuery): LatentPage {
    const sort = o.sort ?? 'id';
    const order = o.order ?? (sort === 'id' ? 'asc' : 'desc');
    const pageSize = o.pageSize ?? 50;
    const page = o.page ?? 1;
    const q = (o.q ?? '').trim().toLowerCase();
    const ids = this.orderOf(sort, order);
    let hits: Int32Array | number[] = ids;
    if (q) {
      const idQ = /^#?\d+$/.test(q) ? Number(q.replace('#', '')) : -1;
      const exact = /^'.*'$/.test(q) && q.length > 2 ? q.slice(1, -1).trim() : null;
      const out: number[] = [];
      for (let j = 0; j < ids.length; j++) {
        const i = ids[j];
        if (i === idQ || (exact !== null ? this.tokens[i].includes(exact) : this.text[i].includes(q))) out.push(i);
      }
      hits = out;
    }
    const total = hits.length;
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const start = (page - 1) * pageSize;
    const items: LatentSummary[] = [];
    for (let j = start; j < Math.min(total, start + pageSize); j++) items.push(this.summary(hits[j]));
    return { total, page, pageSize, pages, sort, order, items };
  }
}
