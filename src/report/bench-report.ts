// The HTML report of a benchmark run (`probity bench --out DIR` writes it as DIR/report.html next to results.json).
//
// It is read in a browser with no network, so the page is one standalone file: inline CSS, charts as inline SVG
// rendered by Vega in Node (plot.ts), no scripts, no external references. Every number comes from the BenchResults
// object; the only derived statistics are averages the tables cannot show (the token AUROC averaged over concepts,
// sensitivity bins and validation sweeps averaged over seeds), each described where it appears.
//
// Results text (concept and method names, prompts, model outputs, notes) is untrusted for HTML purposes: outputs of
// the organism contain <, >, & and quotes, so everything goes through `esc`. Values that are NaN in memory arrive as
// null after a JSON round trip; both render as "–".
//
// Sensitivity bins are drawn as small HTML/CSS bars rather than SVG: 15 concepts x 8 methods would otherwise be 120
// Vega renders, and a row of ten bars needs no axes.
import type { BenchResults, DetectSection, ResultRow, SteerSection } from '../bench/results.js';
import { DETECT_METRICS, isSaeMethod } from '../bench/tasks/detect.js';
import { bootstrapCI, mean } from '../stats/index.js';
import { groupedBarChart, renderSvg, sideBySide, tradeoffChart } from './plot.js';
import { conditionalSection } from './conditional-report.js';
import { spuriousSection } from './spurious-report.js';
import { auditSection } from './audit-report.js';
import { circuitsSection } from './circuits-report.js';
import { avg, chart, cssNumber, details, duration, esc, finite, interval, list, metricsIn, num, pValue, rowIndex, short, table, unique } from './html.js';

const STEER_METRICS = ['success_valid', 'success', 'valid', 'nll', 'kl', 'samples_per_output'] as const;

export async function renderBenchReport(r: BenchResults): Promise<string> {
  const body = [
    `<h1>probity bench${r.quick ? ' (quick)' : ''}</h1>`,
    `<p class="summary">${summary(r)}</p>`,
    provenanceTable(r),
    r.detect ? await detectSection(r, r.detect) : '',
    r.steer ? await steerSection(r, r.steer) : '',
    r.conditional ? await conditionalSection(r, r.conditional) : '',
    r.spurious ? await spuriousSection(r, r.spurious) : '',
    r.audit ? await auditSection(r, r.audit) : '',
    r.circuits ? circuitsSection(r, r.circuits) : '',
    r.notes.length ? `<h2>Notes</h2>${list(r.notes)}` : '',
  ];
  return page(`probity bench — ${r.provenance.model.source}`, body.join('\n'));
}

// ---------------------------------------------------------------------------------------------------------------
// Summary and provenance

interface Ranked {
  method: string;
  mean: number;
  lo: number;
  hi: number;
}

/**
 * Token AUROC averaged over concepts per method, with the interval the detection task computed on its own cluster-
 * bootstrap draws (`overConcepts`: per replicate, the mean over concepts of the seed means). A results file without
 * it (older format) gets the plain mean of the per-seed values and no interval: an interval over the wrong units
 * (seeds, tokens) is not made up here.
 */
function aurocOverConcepts(d: DetectSection, methods: readonly string[]): Ranked[] {
  const out: Ranked[] = [];
  for (const method of methods) {
    const given = (d.overConcepts ?? []).find((x) => x.method === method && x.metric === 'auroc');
    if (given) {
      out.push({ method, mean: given.mean, lo: given.ci_low, hi: given.ci_high });
      continue;
    }
    const bySeed = new Map<number, number[]>();
    for (const v of d.perSeed) {
      if (v.method !== method || !finite(v.auroc)) continue;
      if (!bySeed.has(v.seed)) bySeed.set(v.seed, []);
      bySeed.get(v.seed)!.push(v.auroc);
    }
    const perSeed = [...bySeed.values()].map(mean);
    if (perSeed.length === 0) continue;
    out.push({ method, mean: mean(perSeed), lo: NaN, hi: NaN });
  }
  return out;
}

/** Mean over targets of each method's test success_valid row. */
function successValidOverTargets(rows: readonly ResultRow[], methods: readonly string[]): { method: string; mean: number }[] {
  return methods
    .map((method) => ({ method, mean: avg(rows.filter((r) => r.method === method && r.metric === 'success_valid').map((r) => r.mean)) }))
    .filter((x) => finite(x.mean));
}

const best = <T extends { mean: number }>(xs: T[]): T | undefined => xs.reduce<T | undefined>((a, x) => (!a || x.mean > a.mean ? x : a), undefined);

function detectSummary(r: BenchResults, d: DetectSection): string {
  const rows = r.rows.filter((x) => x.suite === 'detect' && x.metric === 'auroc');
  const concepts = unique(rows.map((x) => x.concept));
  if (concepts.length === 0) return `Detection: no concept was scored (${d.skipped.length} skipped).`;
  const ranked = aurocOverConcepts(d, unique(rows.map((x) => x.method)));
  const top = best(ranked);
  if (!top) return 'Detection: no finite token AUROC.';
  const skipped = d.skipped.length ? `, ${d.skipped.length} skipped` : '';
  let s = `Detection (${concepts.length} concepts${skipped}, ${r.provenance.seeds.length} seeds): <b>${esc(top.method)}</b> has the best token AUROC averaged over concepts, ${interval(top.mean, top.lo, top.hi)}.`;
  const sae = best(ranked.filter((x) => isSaeMethod(x.method)));
  if (sae && sae !== top) {
    const overlaps = sae.hi >= top.lo && top.hi >= sae.lo;
    s += ` The best SAE method, <b>${esc(sae.method)}</b>, has ${interval(sae.mean, sae.lo, sae.hi)}; its interval ${overlaps ? 'overlaps' : 'does not overlap'} that of ${esc(top.method)}.`;
  } else if (sae) {
    s += ' That is an SAE method.';
  }
  const cmp = sae && d.comparisons.find((c) => c.method === sae.method && c.metric === 'auroc' && (c.concept ?? null) === null);
  if (sae && cmp) {
    const verdict = finite(cmp.ci_high) && cmp.ci_high < 0 ? 'worse than' : finite(cmp.ci_low) && cmp.ci_low > 0 ? 'better than' : 'not distinguishable from';
    s += ` Against the best non-SAE baseline, <b>${esc(cmp.baseline)}</b> (chosen on validation documents), ${esc(sae.method)}'s token AUROC differs by ${interval(cmp.diff, cmp.ci_low, cmp.ci_high)} (p ${pValue(cmp.p)}; both on the same redrawn test documents): ${verdict} the baseline.`;
    const per = d.comparisons.filter((c) => c.method === sae.method && c.metric === 'auroc' && typeof c.concept === 'string');
    if (per.length) {
      const above = per.filter((c) => c.ci_low > 0).length;
      const below = per.filter((c) => c.ci_high < 0).length;
      s += ` Per concept it is above the baseline for ${above}, below for ${below} and undecided for ${per.length - above - below} of ${per.length}.`;
    }
  }
  return s;
}

function steerSummary(r: BenchResults, s: SteerSection): string {
  const rows = r.rows.filter((x) => x.suite === 'steer');
  const ranked = successValidOverTargets(rows, s.methods);
  const top = best(ranked);
  if (!top) return 'Steering: no test success_valid was measured.';
  let out = `Steering (${s.targets.length} targets): <b>${esc(top.method)}</b> has the best test success_valid (on target and grammatical) averaged over targets, ${num(top.mean)}.`;
  const sae = best(ranked.filter((x) => isSaeMethod(x.method)));
  if (sae && sae !== top) out += ` The best SAE method, <b>${esc(sae.method)}</b>, has ${num(sae.mean)}.`;
  else if (sae) out += ' That is an SAE method.';
  const cmps = sae ? s.comparisons.filter((c) => c.method === sae.method && c.metric === 'success_valid') : [];
  if (sae && cmps.length) {
    const above = cmps.filter((c) => c.ci_low > 0).length;
    const below = cmps.filter((c) => c.ci_high < 0).length;
    out += ` Against the best non-SAE baseline its paired success_valid difference is above 0 for ${above}, below 0 for ${below} and undecided for ${cmps.length - above - below} of ${cmps.length} targets.`;
  }
  return out;
}

function summary(r: BenchResults): string {
  const cond = r.conditional?.pareto ? `Conditional steering against regexes: on the Pareto front of the validation-chosen points the highest clean &amp; valid share is <b>${esc(r.conditional.pareto.winner ?? 'none')}</b>; does the SAE earn its keep? ${esc(r.conditional.pareto.sae_earns_keep)}.` : '';
  const parts = [r.detect ? detectSummary(r, r.detect) : '', r.steer ? steerSummary(r, r.steer) : '', cond].filter(Boolean);
  return parts.length ? parts.join(' ') : 'This run holds no detection or steering results.';
}

function provenanceTable(r: BenchResults): string {
  const p = r.provenance;
  const code = (s: unknown) => `<code>${esc(s)}</code>`;
  const rows: [string, string][] = [
    ['model', `${esc(p.model.source)} (${esc(p.model.arch)}, ${finite(p.model.params) ? p.model.params.toLocaleString('en-US') : '–'} parameters)`],
    ['model sha256', code(p.model.sha256 ?? '–')],
  ];
  for (const sae of p.saes) {
    rows.push(['SAE', `${esc(sae.source)} (${esc(sae.arch)}, d_sae ${esc(sae.d_sae)}, hook ${esc(sae.hook)}${sae.seed === null ? '' : `, training seed ${esc(sae.seed)}`}; used with split seeds ${esc(sae.used_with_seeds.join(', '))})`]);
    rows.push(['SAE sha256', code(sae.sha256 ?? '–')]);
  }
  if (p.saes.length === 0) rows.push(['SAE', 'none']);
  rows.push(
    ['hook', code(p.hook)],
    ['seeds', `${esc(p.seeds.join(', '))} (documents seed ${esc(p.docs_seed)})`],
    ['code version', `${code(p.code_version ?? 'not a git checkout')} (probity ${esc(p.probity_version)})`],
    ['command', code(p.command)],
    ['time', `${esc(p.started)} to ${esc(p.finished)} (${duration(p.wall_s)})${p.suite_wall_s ? `; ${Object.entries(p.suite_wall_s).map(([k, v]) => `${esc(k)} ${duration(v)}`).join(', ')}` : ''}`],
    ['machine', `${esc(p.machine.cpus)} x ${esc(p.machine.cpu)}, Node ${esc(p.machine.node)}, ${esc(p.machine.platform)}`],
    ['suites', `${esc(r.suites.join(', '))}${r.quick ? ' (quick: small sizes, for a smoke test only)' : ''}; results format ${esc(r.version)}`],
  );
  const config = details('configuration', `<pre>${esc(JSON.stringify(p.config, null, 2))}</pre>`);
  return `<h2>Provenance</h2><table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>${config}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Detection

/** Concepts x methods of one metric, "mean [ci]", the best mean per concept in bold; `extra` adds rows at the bottom. */
function metricTable(rows: readonly ResultRow[], metric: string, concepts: string[], methods: string[], id: string, extra: string[][] = []): string {
  const row = rowIndex(rows);
  const body = concepts.map((c) => {
    const means = methods.map((m) => row(c, m, metric)?.mean);
    // The test FPR at the validation threshold is a calibration check, not a score: nothing is "best" there.
    const top = metric === 'fpr_at_1fpr_threshold' ? NaN : Math.max(...means.filter(finite));
    const cells = methods.map((m, i) => {
      const x = row(c, m, metric);
      const text = x ? interval(x.mean, x.ci_low, x.ci_high) : '–';
      return means[i] === top ? `<b>${text}</b>` : text;
    });
    return [esc(c), ...cells];
  });
  return table([esc(metric), ...methods.map(esc)], [...body, ...extra], { id, cls: 'num' });
}

async function aurocChart(rows: readonly ResultRow[], concepts: string[], methods: string[]): Promise<string> {
  const row = rowIndex(rows);
  const data = concepts.flatMap((c) =>
    methods.flatMap((m) => {
      const x = row(c, m, 'auroc');
      return x ? [{ group: c, series: m, value: x.mean, lo: x.ci_low, hi: x.ci_high }] : [];
    }),
  );
  return chart(groupedBarChart(data, { x: 'concept', y: 'token AUROC (mean over seeds, 95% cluster-bootstrap interval)', yDomain: [0, 1], refLine: 0.5 }));
}

function detectComparisons(d: DetectSection): string {
  if (d.comparisons.length === 0) return '<p>No paired comparisons (no non-SAE baseline, or no concept scored).</p>';
  const pooled = d.comparisons.filter((c) => (c.concept ?? null) === null);
  const metrics = unique(pooled.map((c) => c.metric));
  const methods = unique(pooled.map((c) => c.method));
  const body = methods.map((m) => [
    esc(m),
    ...metrics.flatMap((metric) => {
      const c = pooled.find((x) => x.method === m && x.metric === metric);
      if (!c) return ['–', '–', '–'];
      return [signed(c.diff, c.ci_low, c.ci_high), pValue(c.p), esc(c.n_concepts)];
    }),
  ]);
  const head = ['method', ...metrics.flatMap((metric) => [`${esc(metric)} difference [95% CI]`, 'p', 'concepts'])];
  const cands = d.baselineCandidates ?? [];
  const choice = cands.length
    ? ` It has the highest mean validation token AUROC of the non-SAE, non-control methods (${cands.map((c) => `${esc(c.method)} ${num(c.val_auroc)}`).join(', ')}; on test, for reference only: ${cands.map((c) => `${esc(c.method)} ${num(c.test_auroc)}`).join(', ')}).`
    : '';
  const label = pooled.find((c) => c.interval)?.interval;
  const intro = `<p>Each method minus the best non-SAE baseline, <b>${esc(d.bestBaseline ?? '–')}</b>, chosen on the validation documents.${choice} The difference is the mean over split seeds of metric(method) − metric(baseline) per concept, averaged over the concepts; both methods are scored on the same redrawn test documents in every replicate${label ? ` (${esc(label)})` : ''}. Green: the interval is above 0; red: below.</p>`;
  // Per concept, token AUROC: how often the interval is above or below 0.
  const per = d.comparisons.filter((c) => typeof c.concept === 'string' && c.metric === 'auroc');
  const perConcepts = unique(per.map((c) => c.concept as string));
  const perTable = per.length
    ? details(
        'per concept (token AUROC difference)',
        table(['concept', ...methods.map(esc)], perConcepts.map((k) => [esc(k), ...methods.map((m) => {
          const c = per.find((x) => x.method === m && x.concept === k);
          return c ? signed(c.diff, c.ci_low, c.ci_high) : '–';
        })]), { cls: 'num' }),
      )
    : '';
  return `${intro}${table(head, body, { cls: 'num' })}${perTable}`;
}

/** The spread of controls fitted several times (the random direction): per concept, token AUROC over draws. */
function controlSpreadTable(d: DetectSection): string {
  const spread = (d.controlSpread ?? []).filter((x) => x.metric === 'auroc');
  if (spread.length === 0) return '';
  const body = spread.map((x) => [esc(x.concept), esc(x.method), esc(x.draws), num(x.mean), num(x.sd), `[${num(x.min)}, ${num(x.max)}]`]);
  return details(
    'random control: spread over draws',
    `<p>The control is fitted several times per seed and concept, a fresh random direction each time; its rows show the mean over draws. Here: token AUROC of each draw averaged over seeds, then the mean, standard deviation and range over draws. A label-free direction is centred on 0.5; single draws scatter around it.</p>${table(['concept', 'method', 'draws', 'mean', 'sd', 'range'], body, { cls: 'num', textCols: 2 })}`,
  );
}

/** A difference with its interval, coloured when the interval excludes 0. */
function signed(diff: number, lo: number, hi: number): string {
  const cls = finite(lo) && lo > 0 ? 'up' : finite(hi) && hi < 0 ? 'down' : '';
  const text = interval(diff, lo, hi);
  return cls ? `<span class="${cls}">${text}</span>` : text;
}

/**
 * Sensitivity bars of one (concept, method): the bins averaged over seeds by bin index (fraction of positives and
 * share of tokens). Each bar's width is its share of the test tokens, since tied scores merge bins (an SAE latent
 * that is 0 on most tokens has one wide bottom bin); the dashed line is the concept's base rate.
 */
function sensitivityBars(d: DetectSection, concept: string, method: string, base: number): string[] {
  const tables = d.sensitivity.filter((t) => t.concept === concept && t.method === method);
  const nBins = Math.max(0, ...tables.map((t) => t.bins.length));
  const bins = Array.from({ length: nBins }, (_, i) => {
    const at = tables.filter((t) => i < t.bins.length).map((t) => ({ b: t.bins[i], total: t.bins.reduce((a, x) => a + x.n, 0) }));
    return { frac: avg(at.map((x) => x.b.fractionPositive)), share: avg(at.map((x) => x.b.n / x.total)) };
  });
  const differ = unique(tables.map((t) => t.bins.length)).length > 1;
  const bars = bins
    .map((b, i) => {
      const title = `bin ${i + 1}: ${num(b.frac)} positive, ${num(b.share)} of the tokens`;
      return `<span class="bin" style="flex-grow:${cssNumber(b.share)};height:${cssNumber(100 * b.frac)}%" title="${esc(title)}"></span>`;
    })
    .join('');
  const baseLine = finite(base) ? `<span class="base" style="bottom:${cssNumber(100 * base)}%"></span>` : '';
  const top = bins.length ? bins[bins.length - 1].frac : NaN;
  return [esc(method), `<div class="bars">${bars}${baseLine}</div>`, num(top), `${nBins}${differ ? ' (differs by seed)' : ''}`];
}

function sensitivitySection(d: DetectSection, concepts: string[], methods: string[]): string {
  const blocks = concepts.map((c) => {
    const base = avg(d.perSeed.filter((v) => v.concept === c).map((v) => v.nTestPositives / v.nTestTokens));
    const body = methods.map((m) => sensitivityBars(d, c, m, base));
    return details(`${esc(c)} <span class="dim">(base rate ${num(base)})</span>`, table(['method', 'fraction positive per score bin (low → high)', 'top bin', 'bins'], body, { cls: 'num' }));
  });
  return `<p>Test tokens cut into score quantile bins, lowest scores left, bins averaged over seeds by index; bar height is the fraction of tokens in the bin that carry the concept (0 to 1), bar width its share of the tokens, dashed line the base rate. A sharp detector is flat near 0 and jumps in the last bins.</p>${blocks.join('')}`;
}

async function detectSection(r: BenchResults, d: DetectSection): Promise<string> {
  const rows = r.rows.filter((x) => x.suite === 'detect');
  const concepts = unique(rows.map((x) => x.concept));
  const methods = unique(rows.map((x) => x.method));
  const overConcepts = new Map(aurocOverConcepts(d, methods).map((x) => [x.method, x]));
  const meanRow = ['<i>mean over concepts</i>', ...methods.map((m) => {
    const x = overConcepts.get(m);
    return x ? interval(x.mean, x.lo, x.hi) : '–';
  })];
  const others = metricsIn(rows, DETECT_METRICS).filter((m) => m !== 'auroc');
  const parts = [
    '<h2>Concept detection</h2>',
    `<p>Token AUROC on the test documents, mean over split seeds [${esc(rows.find((x) => x.interval)?.interval ?? '95% interval')}]; bold: best per concept. The last row averages over concepts (per bootstrap replicate, so its interval uses the same redrawn documents). Intervals are not clamped: with a skewed metric the mean can sit outside its percentile interval.</p>`,
    concepts.length ? metricTable(rows, 'auroc', concepts, methods, 'detect-auroc', [meanRow]) : '<p>No concept was scored.</p>',
    ...others.map((m) => details(esc(m), metricTable(rows, m, concepts, methods, `detect-${m}`))),
    concepts.length ? await aurocChart(rows, concepts, methods) : '',
    controlSpreadTable(d),
    '<h3>Paired comparisons</h3>',
    detectComparisons(d),
    '<h3>Sensitivity</h3>',
    sensitivitySection(d, concepts, methods),
  ];
  if (d.skipped.length) parts.push('<h3>Skipped concepts</h3>', table(['concept', 'reason'], d.skipped.map((s) => [esc(s.concept), esc(s.reason)]), { textCols: 2 }));
  if (d.notes.length) parts.push('<h3>Detection notes</h3>', list(d.notes));
  return `<section id="detect">${parts.join('\n')}</section>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Steering

/** Mean over seeds (and draws) of the points of one (target, method, split), per strength, ascending. */
function curve(s: SteerSection, target: string, method: string, split: 'val' | 'test'): { strength: number; success: number; valid: number; success_valid: number; nll: number; kl: number; n: number }[] {
  const pts = s.points.filter((p) => p.target === target && p.method === method && p.split === split);
  return unique(pts.map((p) => p.strength))
    .sort((a, b) => a - b)
    .map((strength) => {
      const at = pts.filter((p) => p.strength === strength);
      return { strength, success: avg(at.map((p) => p.success)), valid: avg(at.map((p) => p.valid)), success_valid: avg(at.map((p) => p.success_valid)), nll: avg(at.map((p) => p.nll)), kl: avg(at.map((p) => p.kl)), n: at.length };
    });
}

const UNSWEPT = new Set(['prompt', 'rejection', 'unsteered']);
const swept = (s: SteerSection) => s.methods.filter((m) => !UNSWEPT.has(m));

/**
 * The primary steering result of one target: success against validity on the TEST prompts over each method's whole
 * grid (means over seeds and draws), each line starting at the unsteered model (strength 0); the large outlined mark is
 * the method's row (the test outputs at the strengths chosen on validation), squares are prompting and rejection
 * sampling. Right: success_valid against strength (log axis), with prompting's level as a rule.
 */
async function curveChart(r: BenchResults, s: SteerSection, target: string): Promise<string> {
  const row = rowIndex(r.rows.filter((x) => x.suite === 'steer'));
  const base = curve(s, target, 'unsteered', 'test')[0];
  const data: Record<string, unknown>[] = [];
  for (const m of swept(s)) {
    if (base) data.push({ kind: 'curve', series: m, order: 0, strength: null, valid: base.valid, success: base.success, sv: base.success_valid });
    for (const p of curve(s, target, m, 'test')) data.push({ kind: 'curve', series: m, order: p.strength, strength: p.strength, valid: p.valid, success: p.success, sv: p.success_valid });
    const sc = row(target, m, 'success');
    const vc = row(target, m, 'valid');
    if (sc && vc) data.push({ kind: 'chosen', series: m, valid: vc.mean, success: sc.mean });
  }
  for (const m of ['prompt', 'rejection', 'unsteered']) {
    const sc = row(target, m, 'success');
    const vc = row(target, m, 'valid');
    const sv = row(target, m, 'success_valid');
    if (sc && vc) data.push({ kind: 'baseline', series: m, valid: vc.mean, success: sc.mean, sv: sv?.mean ?? null });
  }
  const color = { field: 'series', type: 'nominal', title: null, sort: null };
  const left = {
    width: 340, height: 260, data: { values: data },
    layer: [
      { transform: [{ filter: "datum.kind === 'curve'" }], mark: { type: 'line', point: { filled: true, size: 30 } }, encoding: { x: { field: 'valid', type: 'quantitative', title: 'grammatical share (valid), test', scale: { domain: [0, 1] } }, y: { field: 'success', type: 'quantitative', title: 'on target (success), test', scale: { domain: [0, 1] } }, color, order: { field: 'order', type: 'quantitative' } } },
      { transform: [{ filter: "datum.kind === 'chosen'" }], mark: { type: 'point', shape: 'diamond', filled: true, size: 160, stroke: 'black', strokeWidth: 1 }, encoding: { x: { field: 'valid', type: 'quantitative' }, y: { field: 'success', type: 'quantitative' }, color } },
      { transform: [{ filter: "datum.kind === 'baseline'" }], mark: { type: 'point', shape: 'square', filled: true, size: 110, stroke: 'black', strokeWidth: 1 }, encoding: { x: { field: 'valid', type: 'quantitative' }, y: { field: 'success', type: 'quantitative' }, color } },
    ],
  };
  const promptSv = row(target, 'prompt', 'success_valid')?.mean;
  const right = {
    width: 300, height: 260, data: { values: data.filter((d) => d.kind === 'curve' && d.strength !== null) },
    layer: [
      { mark: { type: 'line', point: { filled: true, size: 30 } }, encoding: { x: { field: 'strength', type: 'quantitative', title: 'strength (x mean activation norm)', scale: { type: 'log' } }, y: { field: 'sv', type: 'quantitative', title: 'success_valid, test', scale: { domain: [0, 1] } }, color } },
      ...(finite(promptSv) ? [{ data: { values: [{ y: promptSv }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { y: { field: 'y', type: 'quantitative' } } }] : []),
    ],
  };
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: `target ${target}: test curves over each method's grid`, hconcat: [left, right] };
  return chart(spec as Parameters<typeof renderSvg>[0]);
}

function collapseTable(s: SteerSection): string {
  const body: string[][] = [];
  for (const t of s.targets) {
    s.grid.filter((g) => g.target === t).forEach((g, i) => {
      const c = s.chosen.find((x) => x.target === t && x.method === g.method);
      const collapse = g.collapse === null ? `none up to ${short(g.strengths[g.strengths.length - 1])}${g.reached_cap ? ' (cap)' : ''}` : short(g.collapse);
      body.push([i === 0 ? `<b>${esc(t)}</b>` : '', esc(g.method), esc(g.strengths.map(short).join(', ')), collapse, num(g.valid_at_collapse), c ? short(c.strength) : '–', c ? num(c.val_success_valid) : '–', c ? short(c.n_val_outputs) : '–', c ? num(c.agreement) : '–']);
    });
  }
  const head = ['target', 'method', 'grid (validation-grown)', `collapse (validity &lt; ${num(s.grid[0]?.floor)})`, 'validity there', 'chosen strength', 'its validation success_valid', 'validation outputs pooled', 'choice agreement'];
  return table(head, body, { id: 'steer-collapse', cls: 'num', textCols: 2 });
}

function curveTable(s: SteerSection, target: string): string {
  const body: string[][] = [];
  for (const m of s.methods) {
    const val = curve(s, target, m, 'val');
    const test = curve(s, target, m, 'test');
    test.forEach((p, i) => {
      const v = val.find((x) => x.strength === p.strength);
      body.push([i === 0 ? esc(m) : '', UNSWEPT.has(m) ? '–' : short(p.strength), num(v?.success), num(v?.valid), num(v?.success_valid), num(p.success), num(p.valid), num(p.success_valid), num(p.nll), num(p.kl)]);
    });
  }
  const head = ['method', 'strength', 'val success', 'val valid', 'val success_valid', 'test success', 'test valid', 'test success_valid', 'test nll', 'kl'];
  return table(head, body, { id: `steer-curve-${target}`, cls: 'num', textCols: 1 });
}

function steerTable(rows: readonly ResultRow[], s: SteerSection): string {
  const row = rowIndex(rows);
  // The 'strength' row (mean chosen strength) is left out: the collapse table shows every choice.
  const metrics = metricsIn(rows, STEER_METRICS).filter((m) => m !== 'strength');
  const body: string[][] = [];
  for (const t of s.targets) {
    const sv = s.methods.map((m) => row(t, m, 'success_valid')?.mean);
    const top = Math.max(...sv.filter(finite));
    s.methods.forEach((m, i) => {
      const cells = metrics.map((metric) => {
        const x = row(t, m, metric);
        const text = x ? interval(x.mean, x.ci_low, x.ci_high) : '–';
        return metric === 'success_valid' && sv[i] === top ? `<b>${text}</b>` : text;
      });
      const spread = row(t, m, 'success_valid')?.draws;
      body.push([i === 0 ? `<b>${esc(t)}</b>` : '', esc(m), ...cells, spread ? `${num(spread.sd)} (${num(spread.min)}–${num(spread.max)}, ${esc(spread.n)} draws)` : '']);
    });
  }
  const head = ['target', 'method', ...metrics.map(esc), 'success_valid spread over directions (sd, range)'];
  const labels = unique(rows.filter((x) => s.targets.includes(x.concept)).map((x) => `${x.metric}: ${x.interval ?? 'interval not labelled'}`));
  return `${table(head, body, { id: 'steer-test', cls: 'num', textCols: 2 })}${details('what each interval is over', list(labels))}`;
}

function steerComparisons(s: SteerSection): string {
  if (s.comparisons.length === 0) return '<p>No paired comparisons.</p>';
  const body = s.comparisons.map((c) => [esc(c.target), esc(c.method), esc(c.baseline), esc(c.baseline_rule ?? ''), signed(c.diff, c.ci_low, c.ci_high), pValue(c.p), esc(c.n_units)]);
  const head = ['target', 'method', 'baseline', 'baseline chosen as', 'success_valid difference [95% CI]', 'p', 'test prompts'];
  const chosenBy = s.targets
    .map((t) => {
      const b = (s.baselines ?? []).filter((x) => x.target === t);
      return b.length ? `${esc(t)}: ${b.map((x) => `${esc(x.method)} ${num(x.val_success_valid)}`).join(', ')}` : '';
    })
    .filter(Boolean);
  const intro = `<p>Each method minus a baseline on test success_valid, both resampled on the same test prompts (cluster bootstrap over the distinct test prompts of all seeds, one draw shared by the seeds). The baseline is the non-SAE, non-control method with the best validation success_valid (${chosenBy.join('; ') || 'not recorded'}), and prompting. Green: the interval is above 0; red: below.</p>`;
  return `${intro}${table(head, body, { id: 'steer-comparisons', cls: 'num', textCols: 4 })}`;
}

function steerExamples(s: SteerSection): string {
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  return s.targets
    .map((t) => {
      const ex = s.examples.filter((e) => e.target === t);
      if (ex.length === 0) return '';
      const body = ex.map((e) => [esc(e.method), `${short(e.strength)}${e.at_collapse ? ' (collapse)' : ''}`, `<span class="text">${esc(e.prompt)}</span>`, `<span class="text">${esc(e.output)}</span>`, mark(e.success), mark(e.valid)]);
      return details(`${esc(t)} <span class="dim">(${ex.length} outputs)</span>`, table(['method', 'strength', 'prompt', 'output (judged text)', 'on target', 'grammatical'], body, { cls: 'examples', textCols: 6 }));
    })
    .join('');
}

async function steerSection(r: BenchResults, s: SteerSection): Promise<string> {
  const rows = r.rows.filter((x) => x.suite === 'steer');
  const st = (s.settings ?? {}) as Record<string, unknown>;
  const charts: string[] = [];
  for (const t of s.targets) charts.push(await curveChart(r, s, t));
  const parts = [
    '<h2>Steering</h2>',
    `<p>Each direction is swept over its own grid of strengths (multiples of the mean activation norm), grown on the validation prompts until validity falls below ${esc(st.collapse_floor ?? '–')} (or strength ${esc(st.max_strength ?? '–')}); the whole grid is then run on the test prompts too. Validation: ${esc(st.val_prompts ?? '–')} prompts x ${esc(st.val_samples ?? '–')} samples per seed; test: ${esc(st.test_prompts ?? '–')} x ${esc(st.test_samples ?? '–')}. success: on target; valid: grammatical (both judged on the same text); nll: of the output under the unsteered model; kl: KL(unsteered ‖ steered) on neutral texts. <code>@gen</code>: steering only at the positions that generate.</p>`,
    '<h3>Success against validity: the test curves</h3>',
    '<p>The primary result. Lines: test means over seeds (and draws) at each strength of a method’s grid, starting at the unsteered model; diamonds: the method at its validation-chosen strengths (its row below); squares: prompting, rejection sampling and the unsteered model.</p>',
    charts.join('\n'),
    '<h3>Where validity collapses, and the choices</h3>',
    '<p>Collapse: the smallest strength whose validation validity (pooled over seeds and draws) is below the floor. One strength per method, chosen on validation success_valid pooled over seeds and draws. Choice agreement: share of bootstrap resamples of the validation prompts that choose the same strength; every interval below re-chooses the strength on its resampled validation prompts, so an unstable choice widens it.</p>',
    s.grid ? collapseTable(s) : '',
    ...s.targets.map((t) => details(`curve table: ${esc(t)}`, curveTable(s, t))),
    '<h3>At the chosen strength (test prompts)</h3>',
    '<p>Mean over seeds [95% interval; what it is over is listed below the table]; bold: best success_valid per target.</p>',
    steerTable(rows, s),
    '<h3>Paired comparisons</h3>',
    steerComparisons(s),
    '<h3>Examples</h3>',
    s.examples.length ? steerExamples(s) : '<p>No examples recorded.</p>',
  ];
  if (s.notes.length) parts.push('<h3>Steering notes</h3>', list(s.notes));
  return `<section id="steer">${parts.join('\n')}</section>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Page

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1400px; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; margin-top: 20px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; }
th { background: #f5f5f5; text-align: left; }
table.num td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.num td.t { text-align: left; }
table.kv th { width: 9em; }
code, pre { font: 12px ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; }
details { margin: 6px 0; } summary { cursor: pointer; }
.dim { color: #777; } .up { color: #0a7a2f; } .down { color: #b3261e; }
.chart { overflow-x: auto; margin: 12px 0; }
.bars { position: relative; display: flex; align-items: flex-end; gap: 1px; width: 260px; height: 36px; background: #f0f0f0; }
.bars .bin { display: block; flex-basis: 0; background: #4c78a8; min-width: 1px; }
.bars .base { position: absolute; left: 0; right: 0; border-top: 1px dashed #c00; }
table.examples td .text { white-space: pre-wrap; font: 12px ui-monospace, Menlo, Consolas, monospace; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
