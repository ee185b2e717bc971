// The conditional suite's section of the bench report: the methods at their validation-chosen settings with
// intervals, the Pareto plot (regex rate vs fact-recall drop and vs off-target KL, one point per (method, strength) on
// test prompts, the chosen points marked), the triggers' precision-recall plot, comparisons, and the notes. HTML helpers
// come from html.ts; every string from the results goes through esc.
import type { TopLevelSpec } from 'vega-lite';
import type { BenchResults, ResultRow } from '../bench/results.js';
import type { ConditionalSection } from '../bench/tasks/conditional.js';
import { chart, details, esc, interval, list, num, pValue, short, table } from './html.js';

const CHOSEN = 'chosen on validation';
const METRICS = ['regex_rate', 'valid_rate', 'clean_valid', 'fact_recall', 'fact_recall_drop', 'story_tone', 'off_target_kl', 'samples_per_output', 'forward_passes_per_accepted'] as const;

/** Regex rate against a side effect: a line per method through its strengths, the chosen points large and outlined. */
function paretoSpec(s: ConditionalSection, y: 'fact_recall_drop' | 'off_target_kl', title: string): TopLevelSpec {
  const values = s.points
    .filter((p) => Number.isFinite(p.regex_rate) && Number.isFinite(p[y]))
    .map((p) => ({ method: p.method, x: p.regex_rate, y: p[y], order: Number.isFinite(p.strength) ? p.strength : 0, kind: p.chosen ? 'chosen' : 'grid point', setting: p.setting }));
  return {
    width: 300,
    height: 240,
    title,
    data: { values },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'regex rate (test)', scale: { domain: [0, 1] } },
      y: { field: 'y', type: 'quantitative', title: y === 'fact_recall_drop' ? 'fact recall drop (unsteered - method)' : 'off-target KL (nats/token)' },
      color: { field: 'method', type: 'nominal', title: null },
    },
    layer: [
      { transform: [{ filter: "datum.kind == 'grid point'" }], mark: { type: 'line', opacity: 0.5 }, encoding: { order: { field: 'order', type: 'quantitative' } } },
      { transform: [{ filter: "datum.kind == 'grid point'" }], mark: { type: 'point', filled: true, size: 30 } },
      { transform: [{ filter: "datum.kind == 'chosen'" }], mark: { type: 'point', filled: false, size: 160, strokeWidth: 2.5 } },
    ],
  } as unknown as TopLevelSpec;
}

function prSpec(s: ConditionalSection): TopLevelSpec {
  const values = s.triggers.curves.flatMap((c) => c.points.map((p) => ({ trigger: c.trigger, seed: String(c.seed), recall: p.recall, precision: p.precision, op: 0 })));
  const ops = s.triggers.curves.map((c) => ({ trigger: c.trigger, seed: String(c.seed), recall: c.at_threshold.recall, precision: c.at_threshold.precision, op: 1 }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Triggers as code:regex token classifiers (test tokens; one line per seed; circles: the train-chosen threshold)',
    width: 420,
    height: 260,
    data: { values: [...values, ...ops] },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] } },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'trigger', type: 'nominal', title: null },
    },
    layer: [
      { transform: [{ filter: 'datum.op == 0' }], mark: { type: 'line', opacity: 0.7 }, encoding: { detail: { field: 'seed' }, order: { field: 'recall', type: 'quantitative' } } },
      { transform: [{ filter: 'datum.op == 1' }], mark: { type: 'point', filled: false, size: 90, strokeWidth: 2 } },
      { data: { values: [{ precision: 0.999 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: 'grey' }, encoding: { y: { field: 'precision', type: 'quantitative' }, color: { value: 'grey' } } },
    ],
  } as unknown as TopLevelSpec;
}

export async function conditionalSection(r: BenchResults, s: ConditionalSection): Promise<string> {
  const rows = r.rows.filter((x) => x.suite === 'conditional');
  if (!s.points?.length) return `<h2>Conditional steering (regex)</h2>${list(s.notes ?? [])}`;
  const get = (method: string, setting: string, metric: string): ResultRow | undefined => rows.find((x) => x.task === 'conditional' && x.method === method && x.setting === setting && x.metric === metric);
  const settingOf = (m: string) => (rows.find((x) => x.task === 'conditional' && x.method === m && x.setting === CHOSEN) ? CHOSEN : rows.find((x) => x.task === 'conditional' && x.method === m)?.setting ?? '');
  const cell = (x: ResultRow | undefined) => (x ? interval(x.mean, x.ci_low, x.ci_high) : '–');
  const main = table(
    ['method', 'setting', ...METRICS.map((m) => esc(m.replace(/_/g, ' '))), 'strength (range over seeds)'],
    s.methods.map((m) => {
      const st = settingOf(m);
      const strength = get(m, st, 'strength');
      return [esc(m), esc(st), ...METRICS.map((k) => cell(get(m, st, k))), strength ? `${short(strength.mean)} (${short(strength.ci_low)}–${short(strength.ci_high)})` : '–'];
    }),
    { textCols: 2 },
  );
  const grid = table(
    ['method', 'setting', 'regex rate', 'valid', 'clean & valid', 'fact recall', 'story tone', 'KL'],
    s.points.filter((p) => p.setting.startsWith('strength=')).map((p) => [esc(p.method), esc(p.setting), num(p.regex_rate), num(p.valid_rate), num(p.clean_valid), num(p.fact_recall), num(p.story_tone), num(p.off_target_kl)]),
    { textCols: 2 },
  );
  const trig = table(
    ['trigger', 'metric', 'test value [95% CI]', 'per seed'],
    rows.filter((x) => x.task === 'trigger').map((x) => {
      const st = s.triggers.stats.find((t) => `trigger:${t.trigger}` === x.method && t.metric === x.metric);
      return [esc(x.method), esc(x.metric), interval(x.mean, x.ci_low, x.ci_high), esc(st ? st.per_seed.map(num).join(', ') : '')];
    }),
    { textCols: 2 },
  );
  const fits = table(
    ['trigger', 'seed', 'threshold', 'train F1', 'train precision', 'train recall', 'fires on neutral positions', 'fires on fact-prompt positions'],
    s.triggers.fits.map((f) => [esc(f.trigger), esc(f.seed), num(f.threshold), num(f.train_f1), num(f.train_precision), num(f.train_recall), num(f.fires_on_neutral), num(f.fires_on_facts)]),
    { textCols: 2 },
  );
  const tdiff = table(
    ['trigger', 'baseline', 'metric', 'difference [95% CI]', 'p'],
    (s.triggers.diffs ?? []).map((x) => [esc(`trigger:${x.trigger}`), esc(`trigger:${x.baseline}`), esc(x.metric), interval(x.diff, x.ci_low, x.ci_high), pValue(x.p)]),
    { textCols: 3 },
  );
  const cmp = table(
    ['method', 'baseline', 'metric', 'difference [95% CI]', 'p'],
    s.comparisons.map((c) => [esc(c.method), esc(c.baseline), esc(c.metric), interval(c.diff, c.ci_low, c.ci_high), pValue(c.p)]),
    { textCols: 3 },
  );
  const lat = table(
    ['seed', 'latent', 'train AUROC', 'pre-activation threshold', 'passes threshold but not in top k'],
    s.latents.map((l) => [esc(l.seed), esc(l.latent), num(l.train_auroc), num(l.threshold), num(l.pre_passes_not_in_topk)]),
    { textCols: 2 },
  );
  const choice = table(
    ['method', 'grid (validation-grown)', 'chosen strength', 'its validation clean & valid', 'validation outputs pooled', 'choice agreement'],
    s.chosen.map((c) => {
      const g = s.grid.find((x) => x.method === c.method);
      return [esc(c.method), esc(g ? g.strengths.join(', ') : '–'), num(c.strength), num(c.val_clean_valid), esc(c.n_val_outputs), num(c.agreement)];
    }),
    { textCols: 2 },
  );
  const ev = s.eval_match;
  const evalLine = `Unsteered regex rate on the organism eval's own prompt set (${ev.prompts} prompts x ${ev.samples}): ${interval(ev.regex_rate, ev.ci_low, ev.ci_high)}` +
    (ev.reference === null ? '' : `; ${esc(ev.reference_source)}: ${num(ev.reference)}`);
  const examples = table(
    ['method', 'setting', 'prompt', 'output', 'regex', 'valid'],
    s.examples.map((e) => [esc(e.method), esc(e.setting), `<code>${esc(e.prompt)}</code>`, `<pre>${esc(e.output)}</pre>`, esc(e.regex), esc(e.valid)]),
    { textCols: 4 },
  );
  return [
    '<h2>Conditional steering against regexes (the Sieve case study)</h2>',
    `<p>${esc('Target: no regular expression in the test file written for a code request without a style instruction. Methods at the setting chosen on validation, measured on test prompts; side effects under the same intervention. Intervals: 95% cluster bootstrap (see each row\'s interval field).')}</p>`,
    `<p><b>${esc('Pareto winner (highest clean & valid on the front of the chosen points)')}:</b> ${esc(s.pareto.winner ?? 'none')}; <b>${esc('front')}:</b> ${esc(s.pareto.front.join(', '))}. <b>${esc('Does the SAE earn its keep?')}</b> ${esc(s.pareto.sae_earns_keep)}</p>`,
    main,
    `<p>${evalLine}</p>`,
    await chart({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'Regex rate vs side effects: one point per (method, strength) on test; large rings: the validation-chosen points', hconcat: [paretoSpec(s, 'fact_recall_drop', 'fact recall drop'), paretoSpec(s, 'off_target_kl', 'off-target KL')] } as unknown as TopLevelSpec),
    await chart(prSpec(s)),
    '<h3>Triggers</h3>',
    trig,
    `<p>${esc('Paired over the same drawn test documents:')}</p>`,
    tdiff,
    details('thresholds (chosen on train tokens) and SAE latents', fits + lat),
    '<h3>Strength choice</h3>',
    `<p>${esc('One strength per method: the validation argmax of clean & valid pooled over seeds. Choice agreement: share of bootstrap resamples of the validation prompts that choose the same strength; the rows at the chosen setting re-choose it in every replicate, so an unstable choice widens their intervals.')}</p>`,
    choice,
    '<h3>Paired comparisons</h3>',
    cmp,
    details('every test grid point', grid),
    details('example outputs (test, first seed)', examples),
    list(s.notes),
  ].join('\n');
}
