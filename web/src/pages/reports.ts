// Benchmark reports: every results.json the server was given. Per suite, the concepts x methods table of a chosen
// metric ("mean [95% interval]", best per concept in bold, as the static report) and its grouped bar chart (the same
// spec builder as src/report/plot.ts), with method and concept filters and hover values; steering also gets its test
// curves (success against validity over each method's strength grid).
import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api.js';
import { Chart, groupedBarChart, tradeoffChart } from '../charts.js';
import { ErrorBox, Loading } from '../components.js';
import { finite, interval, unique } from '../format.js';
import { href, type Route } from '../router.js';

export function ReportsPage() {
  const [list, setList] = useState<any[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get('/api/reports').then((r) => setList(r.reports), setError), []);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!list) return html`<${Loading} />`;
  if (list.length === 0) return html`<p>No results were given to this server (start it with <code>--results DIR</code>).</p>`;
  return html`<section class="reports">
    <h1>Reports</h1>
    <div class="table-wrap"><table class="list">
      <thead><tr><th>report</th><th>suites</th><th>rows</th><th>model</th><th>started</th><th>code</th></tr></thead>
      <tbody>${list.map((r) => html`<tr>
        <td>${r.available ? html`<a href=${href(['report', r.name])}>${r.name}</a>` : html`${r.name} <span class="dim">(${r.error})</span>`}</td>
        <td>${(r.suites ?? []).join(', ')}${r.quick ? ' (quick)' : ''}</td><td class="n">${r.rows ?? ''}</td><td>${r.model ?? ''}</td><td>${r.started ?? ''}</td><td><code>${r.code_version ?? ''}</code></td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

interface Row {
  suite: string;
  concept: string;
  method: string;
  metric: string;
  mean: number;
  ci_low: number;
  ci_high: number;
  interval?: string;
}

const HIGHER_BETTER_NOT = new Set(['fpr_at_1fpr_threshold', 'nll', 'kl', 'strength', 'samples_per_output', 'off_target_kl', 'fact_recall_drop', 'regex_rate', 'forward_passes_per_accepted', 'samples_to_first_reveal', 'forward_to_first_reveal', 'budget_forward', 'rank_first_topic', 'rank_first_moonberry', 'denial_rate']);

function Checks({ label, all, on, set }: { label: string; all: string[]; on: Set<string>; set: (s: Set<string>) => void }) {
  return html`<fieldset class="checks"><legend>${label} <button type="button" class="link" onClick=${() => set(new Set(all))}>all</button> <button type="button" class="link" onClick=${() => set(new Set())}>none</button></legend>
    ${all.map((x) => html`<label><input type="checkbox" name=${`${label}:${x}`} checked=${on.has(x)} onChange=${() => {
      const n = new Set(on);
      if (n.has(x)) n.delete(x);
      else n.add(x);
      set(n);
    }} />${x}</label>`)}
  </fieldset>`;
}

export function ReportPage({ name, route }: { name: string; route: Route }) {
  const [r, setR] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get(`/api/reports/${encodeURIComponent(name)}`).then(setR, setError), [name]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!r) return html`<${Loading} what=${`Loading ${name}`} />`;
  return html`<${Report} r=${r} name=${name} route=${route} />`;
}

function Report({ r, name, route }: { r: any; name: string; route: Route }) {
  const rows: Row[] = r.rows ?? [];
  const suites: string[] = unique(rows.map((x) => x.suite));
  const [suite, setSuite] = useState<string>(route.query.get('suite') ?? suites[0] ?? '');
  const inSuite = useMemo(() => rows.filter((x) => x.suite === suite), [r, suite]);
  const metrics = unique(inSuite.map((x) => x.metric));
  const methods = unique(inSuite.map((x) => x.method));
  const concepts = unique(inSuite.map((x) => x.concept));
  const [metric, setMetric] = useState<string>('');
  const [onMethods, setOnMethods] = useState<Set<string>>(new Set(methods));
  const [onConcepts, setOnConcepts] = useState<Set<string>>(new Set(concepts));
  useEffect(() => {
    setMetric(metrics[0] ?? '');
    setOnMethods(new Set(methods));
    setOnConcepts(new Set(concepts));
  }, [suite]);
  const m = metric || metrics[0];
  const shownMethods = methods.filter((x) => onMethods.has(x));
  const shownConcepts = concepts.filter((x) => onConcepts.has(x));
  const at = new Map(inSuite.filter((x) => x.metric === m).map((x) => [`${x.concept}\u0000${x.method}`, x]));
  const p = r.provenance ?? {};
  const bars = shownConcepts.flatMap((c) => shownMethods.flatMap((meth) => {
    const x = at.get(`${c}\u0000${meth}`);
    return x ? [{ group: c, series: meth, value: x.mean, lo: x.ci_low, hi: x.ci_high }] : [];
  }));
  const label = inSuite.find((x) => x.metric === m && x.interval)?.interval;
  return html`<section class="report">
    <h1>${name} <span class="dim small">${p.model?.source ?? ''} · ${p.started ?? ''} · code <code>${p.code_version ?? '–'}</code>${r.quick ? ' · quick' : ''}</span></h1>
    <div class="toolbar">
      <label>suite <select name="suite" value=${suite} onChange=${(e: Event) => setSuite((e.target as HTMLSelectElement).value)}>${suites.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
      <label>metric <select name="metric" value=${m} onChange=${(e: Event) => setMetric((e.target as HTMLSelectElement).value)}>${metrics.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
    </div>
    <div class="filters">
      <${Checks} label="methods" all=${methods} on=${onMethods} set=${setOnMethods} />
      <${Checks} label="concepts" all=${concepts} on=${onConcepts} set=${setOnConcepts} />
    </div>
    <p class="dim small">${m}: mean over split seeds [${label ?? '95% interval'}]; bold: best per row${HIGHER_BETTER_NOT.has(m) ? ' (none: lower or neither is better for this metric)' : ''}.</p>
    <${MetricTable} at=${at} rowsOf=${shownConcepts} colsOf=${shownMethods} rowLabel=${suite === 'steer' ? 'target' : 'concept'} best=${!HIGHER_BETTER_NOT.has(m)} />
    ${bars.length ? html`<${Chart} spec=${groupedBarChart(bars, { x: suite === 'steer' ? 'target' : 'concept', y: `${m} (mean over seeds, 95% interval)`, refLine: m.startsWith('auroc') ? 0.5 : undefined })} label="metric chart" />` : ''}
    ${suite === 'steer' && r.steer ? html`<${SteerCurves} s=${r.steer} methods=${shownMethods} targets=${shownConcepts} />` : ''}
    <h2>The full report</h2>
    <p class="dim small">Every section of the page <code>probity bench</code> writes beside this results.json (paired comparisons, collapse tables, examples, notes, provenance), rendered from the same file by the same code. <a href=${`/api/reports/${encodeURIComponent(name)}/html`} target="_blank" rel="noopener">Open it on its own</a>.</p>
    <iframe class="static-report" title="static report" sandbox="" src=${`/api/reports/${encodeURIComponent(name)}/html`}></iframe>
  </section>`;
}

/**
 * Concepts x methods of one metric, the best mean per concept in bold. With more methods than fit beside each other
 * (steering has 12) and fewer concepts, the table is transposed (methods as rows) so it stays inside the window.
 */
function MetricTable({ at, rowsOf, colsOf, rowLabel, best }: { at: Map<string, Row>; rowsOf: string[]; colsOf: string[]; rowLabel: string; best: boolean }) {
  const transpose = colsOf.length > 7 && rowsOf.length < colsOf.length;
  const rows = transpose ? colsOf : rowsOf;
  const cols = transpose ? rowsOf : colsOf;
  const cell = (r: string, c: string) => at.get(transpose ? `${c}\u0000${r}` : `${r}\u0000${c}`);
  // Bold: the best method per concept (a column when transposed).
  const top = new Map<string, number>();
  for (const c of rowsOf) top.set(c, best ? Math.max(...colsOf.map((mm) => at.get(`${c}\u0000${mm}`)?.mean).filter(finite)) : NaN);
  return html`<div class="table-wrap"><table class="num" id="report-table">
    <thead><tr><th>${transpose ? 'method' : rowLabel}</th>${cols.map((x) => html`<th>${x}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr><td class="t">${r}</td>${cols.map((c) => {
      const x = cell(r, c);
      const concept = transpose ? c : r;
      const t = x ? interval(x.mean, x.ci_low, x.ci_high) : '–';
      return html`<td>${x && x.mean === top.get(concept) ? html`<b>${t}</b>` : t}</td>`;
    })}</tr>`)}</tbody>
  </table></div>`;
}

/** Test curves per target: success against validity over each method's grid, points joined in strength order. */
function SteerCurves({ s, methods, targets }: { s: any; methods: string[]; targets: string[] }) {
  return html`<h2>Steering: test curves</h2>
    <p class="dim small">Means over seeds (and draws) at each strength of a method's grid on the test prompts; lines join the points in strength order.</p>
    <div class="curves">${targets.map((t) => {
      const pts: any[] = [];
      for (const meth of methods) {
        const at = s.points.filter((p: any) => p.target === t && p.method === meth && p.split === 'test');
        for (const strength of unique(at.map((p: any) => p.strength)) as number[]) {
          const ps = at.filter((p: any) => p.strength === strength);
          const mean = (k: string) => ps.reduce((a: number, p: any) => a + p[k], 0) / ps.length;
          pts.push({ x: mean('valid'), y: mean('success'), series: meth, order: strength });
        }
      }
      return pts.length ? html`<${Chart} spec=${tradeoffChart(pts, { x: 'grammatical share (valid), test', y: 'on target (success), test', title: `target ${t}`, xDomain: [0, 1], yDomain: [0, 1] })} label=${`curve ${t}`} />` : '';
    })}</div>`;
}
