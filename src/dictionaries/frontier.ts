// The sparsity-fidelity frontier (`probity sae frontier`): several SAEs of one hook, and at each of their L0s the
// baselines at that L0 — PCA (top-L0 components), k-means by orthogonal matching pursuit, and a random dictionary of
// the SAE's width — all fitted on the same fit windows and scored on the same eval windows (eval.ts: one source
// split by document, one clean run and one zero ablation per batch shared by every codec). One row per
// (codec, width, L0) with the measured L0, and a paired comparison of each SAE against the baselines at its L0.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Model } from '../models/model.js';
import type { Sae } from './sae.js';
import { ProbityError } from '../errors.js';
import { fitKMeans, fitPca } from './metrics/index.js';
import { baselineEntries, measuredL0, prepareEvalData, scoreCodecs, type CodecEntry, type PairedStat, type WindowSource } from './eval.js';
import { renderSvg, sideBySide } from '../report/plot.js';

export interface FrontierSae {
  sae: Sae;
  /** How the SAE is named in the output (a project-relative path). */
  label: string;
}

export interface FrontierOptions {
  tokens: number;
  fitTokens: number;
  window?: number;
  batchRows?: number;
  kmeansClusters?: number;
  seed?: number;
  bootstrapIterations?: number;
  bos?: number | null;
  onProgress?: (done: number, total: number) => void;
}

export interface FrontierRow {
  codec: string;
  family: 'sae' | 'pca' | 'kmeans' | 'random';
  width: number;
  l0_requested: number | null;
  /** Measured mean L0 on the eval positions. */
  l0: number;
  fve: number;
  ce_loss_score: number;
  kl_score: number;
  n_tokens: number;
  n_scored: number;
  ce_clean: number;
  /** Loss the splice adds: ce_spliced - ce_clean (nats per scored token). */
  ce_added: number;
  sae?: string;
}

export interface FrontierComparison {
  sae: string;
  baseline: string;
  l0: number;
  /** Baseline minus SAE; 95% percentile cluster bootstrap over eval windows. */
  diff: Record<string, PairedStat>;
}

export interface FrontierResult {
  rows: FrontierRow[];
  comparisons: FrontierComparison[];
  summary: string[];
  data: Record<string, unknown>;
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/** From the paired intervals: per baseline family and metric, the operating points where the SAE is better (the
 *  interval of baseline - SAE is below 0), worse (above 0) or not clearly different; then one line per comparison,
 *  with the loss each splice adds (nats per token), so a clear but tiny difference reads as tiny. */
export function summarise(comparisons: readonly FrontierComparison[], rows: readonly FrontierRow[]): string[] {
  const byName = new Map(rows.map((r) => [r.codec, r]));
  const lines: string[] = [];
  const wins: Record<string, { better: string[]; worse: string[]; unclear: string[] }> = {};
  for (const c of comparisons) {
    const s = byName.get(c.sae)!;
    const b = byName.get(c.baseline)!;
    for (const metric of ['fve', 'ce_loss_score'] as const) {
      const d = c.diff[metric];
      const verdict = d.hi < 0 ? 'SAE better' : d.lo > 0 ? 'SAE worse' : 'no clear difference';
      const w = (wins[`${b.family}:${metric}`] ??= { better: [], worse: [], unclear: [] });
      const point = `L0 ${Math.round(s.l0)} w${s.width}`;
      (d.hi < 0 ? w.better : d.lo > 0 ? w.worse : w.unclear).push(point);
      const g = (x: number) => (Number.isFinite(x) ? x.toPrecision(2) : String(x));
      const loss = metric === 'ce_loss_score' ? `; loss added ${f4(s.ce_added)} vs ${f4(b.ce_added)} nats/token` : '';
      lines.push(
        `${c.sae} (L0 ${s.l0.toFixed(1)}, width ${s.width}) vs ${c.baseline} (L0 ${b.l0.toFixed(1)}): ${metric} ${f4(s[metric])} vs ${f4(b[metric])}, ` +
          `baseline - SAE ${g(d.estimate)} [${g(d.lo)}, ${g(d.hi)}]: ${verdict}${loss}`,
      );
    }
  }
  const head = Object.entries(wins).map(([k, w]) => {
    const [family, metric] = k.split(':');
    const list = (a: string[]) => (a.length ? ` (${a.join(', ')})` : '');
    const total = w.better.length + w.worse.length + w.unclear.length;
    return `against ${family} on ${metric}: SAE better at ${w.better.length}${list(w.better)}, worse at ${w.worse.length}${list(w.worse)}, no clear difference at ${w.unclear.length}${list(w.unclear)} of ${total} operating points`;
  });
  return [...head, ...lines];
}

export async function runFrontier(model: Model, saes: readonly FrontierSae[], src: WindowSource, o: FrontierOptions): Promise<FrontierResult> {
  if (saes.length === 0) throw new ProbityError('SAE_EVAL', 'the frontier needs at least one SAE');
  const hook = saes[0].sae.cfg.hookName;
  for (const s of saes) {
    if (s.sae.cfg.hookName !== hook) throw new ProbityError('SAE_EVAL', `all frontier SAEs must read one hook: ${saes[0].label} reads ${hook}, ${s.label} reads ${s.sae.cfg.hookName}`);
    if (s.sae.isTranscoder) throw new ProbityError('SAE_EVAL', `${s.label} is a transcoder: not supported by the frontier`);
  }
  const labels = new Set(saes.map((s) => s.label));
  if (labels.size !== saes.length) throw new ProbityError('SAE_EVAL', 'two frontier SAEs have the same label');
  const data = await prepareEvalData(model, hook, src, { tokens: o.tokens, fitTokens: o.fitTokens, window: o.window, batchRows: o.batchRows, bos: o.bos });
  const x = data.fitActs!;
  const n = data.nFit;
  const d = saes[0].sae.dIn;
  const l0s = await Promise.all(saes.map((s) => measuredL0(s.sae, x, n)));
  const seed = o.seed ?? 0;
  // One PCA and one k-means fit serve every L0 (a PCA codec at L0 k keeps the k largest projections; k-means at L0 k
  // runs k steps of matching pursuit over the same centroids).
  const pca = fitPca(x, n, d, { k: d });
  const K = Math.min(o.kmeansClusters ?? 256, n);
  const centroids = fitKMeans(x, n, d, { nClusters: K, seed, maxIterations: 15 }).centroids;
  const entries: CodecEntry[] = [];
  const saeNames: string[] = [];
  saes.forEach((s, i) => {
    const name = `sae:${s.label}`;
    saeNames.push(name);
    entries.push({ name, kind: 'sae', sae: s.sae, info: { family: 'sae', width: s.sae.dSae, l0_requested: s.sae.cfg.k ?? null, sae: s.label, l0_on_fit_windows: l0s[i] } });
  });
  const have = new Set<string>();
  const baselinesOf: string[][] = saes.map(() => []);
  saes.forEach((s, i) => {
    for (const e of baselineEntries({ x, n, d }, l0s[i], s.sae.dSae, { seed, kmeansL0One: false, pca, kmeansCentroids: centroids })) {
      baselinesOf[i].push(e.name);
      if (have.has(e.name)) continue;
      have.add(e.name);
      entries.push(e);
    }
  });
  const scored = await scoreCodecs(model, data, entries, o.onProgress);
  const rows: FrontierRow[] = scored.codecs.map((c) => ({
    codec: c.name,
    family: c.info.family as FrontierRow['family'],
    width: c.info.width as number,
    l0_requested: (c.info.l0_requested as number | null | undefined) ?? null,
    l0: c.metrics.l0,
    fve: c.metrics.fve,
    ce_loss_score: c.metrics.ce_loss_score,
    kl_score: c.metrics.kl_score,
    n_tokens: c.metrics.n_tokens,
    n_scored: c.metrics.n_scored,
    ce_clean: c.metrics.ce_clean,
    ce_added: c.metrics.ce_spliced - c.metrics.ce_clean,
    ...(c.info.sae ? { sae: c.info.sae as string } : {}),
  }));
  const comparisons: FrontierComparison[] = [];
  saes.forEach((_, i) => {
    for (const b of baselinesOf[i]) comparisons.push({ sae: saeNames[i], baseline: b, l0: l0s[i], diff: scored.paired(b, saeNames[i], { iterations: o.bootstrapIterations }) });
  });
  return {
    rows,
    comparisons,
    summary: summarise(comparisons, rows),
    data: {
      hook, window: data.window, bos: data.bos,
      tokens: data.codecPositions, scored_positions: data.scoredPositions, windows: data.clusterOf.length, clusters: data.nClusters,
      eval_documents: { ...data.evalDocuments, documents: data.evalDocuments.end - data.evalDocuments.first },
      fit_documents: data.fitDocuments && { ...data.fitDocuments, documents: data.fitDocuments.end - data.fitDocuments.first },
      fit_tokens: n, kmeans_clusters: K, seed,
      l0s: 'each SAE\'s L0 is measured on the fit windows and rounded; the baselines at that L0 are PCA (top-L0 components), k-means by orthogonal matching pursuit, and a random dictionary of the SAE\'s width; `l0` in every row is measured on the eval windows',
      paired: 'baseline minus SAE on the same positions; 95% percentile bootstrap over eval windows (each window holds whole documents from its start, the last one cut at the window end and not continued, so no document spans two windows; windows sharing one would be resampled together)',
    },
  };
}

const FAMILY_LABEL: Record<FrontierRow['family'], string> = { sae: 'SAE', pca: 'PCA', kmeans: 'k-means (matching pursuit)', random: 'random dictionary' };

/** Series of a row: SAEs and random dictionaries per width, PCA and k-means one line each. */
export function seriesOf(r: FrontierRow): string {
  return r.family === 'sae' || r.family === 'random' ? `${FAMILY_LABEL[r.family]} w${r.width}` : FAMILY_LABEL[r.family];
}

/** FVE vs L0 and CE-loss score vs L0 (log2 L0 axis), one line per codec family (and width). */
export function frontierSpec(rows: readonly FrontierRow[]): TopLevelSpec {
  const values = rows.filter((r) => r.l0 > 0).map((r) => ({ l0: r.l0, fve: r.fve, ce: r.ce_loss_score, series: seriesOf(r) }));
  const lo = Math.floor(Math.log2(Math.min(...values.map((v) => v.l0))));
  const hi = Math.ceil(Math.log2(Math.max(...values.map((v) => v.l0))));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 2 ** (lo + i));
  const panel = (field: string, title: string) => ({
    width: 320,
    height: 240,
    data: { values },
    encoding: {
      x: { field: 'l0', type: 'quantitative', title: 'L0 (measured, log2 axis)', scale: { type: 'log', base: 2, domain: [ticks[0], ticks[ticks.length - 1]] }, axis: { values: ticks, format: 'd' } },
      y: { field, type: 'quantitative', title, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320 } },
      order: { field: 'l0', type: 'quantitative' },
    },
    layer: [{ mark: 'line' }, { mark: { type: 'point', filled: true, size: 40 } }],
  });
  return sideBySide([panel('fve', 'FVE') as unknown as TopLevelSpec, panel('ce', 'CE-loss score') as unknown as TopLevelSpec], 'Sparsity-fidelity frontier (same fit and eval windows for every codec)');
}

export async function frontierSvg(rows: readonly FrontierRow[]): Promise<string> {
  return renderSvg(frontierSpec(rows));
}

/** sha256 of a file, or of a folder's weight/config files (name and bytes, sorted by name). */
export function fileHash(p: string): string {
  const h = crypto.createHash('sha256');
  if (fs.statSync(p).isDirectory()) {
    const files = fs.readdirSync(p).filter((f) => /\.(safetensors|gguf)$/.test(f) || f === 'cfg.json' || f === 'config.json' || /^tokenizer.*\.json$/.test(f)).sort();
    for (const f of files) h.update(f).update('\0').update(fs.readFileSync(path.join(p, f)));
  } else h.update(fs.readFileSync(p));
  return h.digest('hex');
}

/** The frontier as a table, one line per L0: each series' FVE / CE-loss score at that L0 (from a frontier.json's
 *  rows), then the summary's per-family verdicts. `markdown` for model cards, plain text for the terminal. */
export function frontierTable(f: { rows: readonly FrontierRow[]; summary: readonly string[] }, format: 'text' | 'markdown'): string[] {
  const series = [...new Set(f.rows.map(seriesOf))];
  const l0s = [...new Set(f.rows.map((r) => Math.round(r.l0_requested ?? r.l0)))].sort((a, b) => a - b);
  const cell = (s: string, l0: number) => {
    const r = f.rows.find((x) => seriesOf(x) === s && Math.round(x.l0_requested ?? x.l0) === l0);
    return r ? `${r.fve.toFixed(3)} / ${r.ce_loss_score.toFixed(4)}` : '-';
  };
  const head = ['L0', ...series];
  const body = l0s.map((l0) => [String(l0), ...series.map((s) => cell(s, l0))]);
  const verdicts = f.summary.filter((l) => l.startsWith('against '));
  // Where the advantage is: per L0, the best SAE minus the best baseline, on each metric.
  const gaps = l0s.map((l0) => {
    const at = f.rows.filter((r) => Math.round(r.l0_requested ?? r.l0) === l0);
    const best = (rs: readonly FrontierRow[], m: 'fve' | 'ce_loss_score') => Math.max(...rs.map((r) => r[m]));
    const sae = at.filter((r) => r.family === 'sae');
    const base = at.filter((r) => r.family !== 'sae');
    if (!sae.length || !base.length) return null;
    return `L0 ${l0}: FVE ${(best(sae, 'fve') - best(base, 'fve')).toFixed(3)}, CE-loss score ${(best(sae, 'ce_loss_score') - best(base, 'ce_loss_score')).toFixed(4)}`;
  }).filter((x): x is string => x !== null);
  verdicts.unshift(`best SAE minus best baseline: ${gaps.join('; ')}`);
  if (format === 'markdown') {
    return [
      `| ${head.join(' | ')} |`,
      `|${head.map(() => '---').join('|')}|`,
      ...body.map((r) => `| ${r.join(' | ')} |`),
      '',
      'Cells: FVE / CE-loss score. ' + verdicts.map((v) => v.replace(/^against/, 'Against')).join('. ') + '.',
    ];
  }
  const w = [4, ...series.map((s) => Math.max(s.length, 15))];
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i])).join('  ');
  return [line(head), ...body.map(line), '(cells: FVE / CE-loss score)', ...verdicts];
}
