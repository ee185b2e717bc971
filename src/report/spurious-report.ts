// The spurious suite's section of the bench report: the method table (every metric with its interval and each
// method's affordances), accuracy per tone x weather group as a grouped bar chart, the paired comparisons of the
// SHIFT-style methods against the same-affordance baselines, the latents SHIFT-style ablation chose (with their weather
// AUROC and top contexts) and the validation grid that chose how many. HTML helpers come from html.ts; every string
// from the results goes through esc.
import type { BenchResults, ResultRow } from '../bench/results.js';
import type { SpuriousSection } from '../bench/tasks/spurious.js';
import { chart, details, esc, interval, list, num, pValue, table } from './html.js';
import { groupedBarChart } from './plot.js';

const METRIC_HEAD: Record<string, string> = {
  tone_acc: 'tone accuracy (balanced)', weather_acc: 'weather accuracy', worst_group_acc: 'worst-group accuracy', reversed_acc: 'reversed-split accuracy', scr: 'SCR',
};

export async function spuriousSection(r: BenchResults, s: SpuriousSection): Promise<string> {
  const rows = r.rows.filter((x) => x.suite === 'spurious');
  if (!s.methods || rows.length === 0) return `<h2>Spurious correlation</h2>${s.notes.length ? list(s.notes) : '<p>' + esc('no results') + '</p>'}`;
  const get = (m: string, metric: string): ResultRow | undefined => rows.find((x) => x.method === m && x.metric === metric);
  const metrics = Object.keys(METRIC_HEAD);
  const c = s.config;
  const cut = c.cut === 'full' ? 'whole stories' : `each story's opening, cut after its ${c.cut === 1 ? 'first tone sentence' : `first ${c.cut} tone sentences`}`;
  const intro = `<p>${esc(
    `A logistic probe for story tone (${c.tones[0]} vs ${c.tones[1]}) on activations at ${s.hook} mean-pooled over the tokens of ${cut}, ` +
      `trained on an ambiguous split where the weather (${c.weathers[0].join('/')} with ${c.tones[0]}, ${c.weathers[1].join('/')} with ${c.tones[1]}) agrees with the tone in every story ` +
      `(${c.train} stories per agreeing group; ${c.val} per group for validation), scored on a balanced test split (${c.test} stories in each of the four groups) and a reversed split (${c.test} in each disagreeing group), ` +
      `${s.seeds.length} seeds (each its own stories and SAE). Every method's hyperparameters are chosen on the ambiguous validation split; only the oracle sees balanced data.`,
  )}</p>`;
  const head = ['method', 'affordances', ...metrics.map((m) => esc(METRIC_HEAD[m]))];
  const body = s.methods.map((m) => [
    `${esc(m.name)}${m.upper_bound ? ' <em>(upper bound)</em>' : ''}`,
    esc(m.affordances),
    ...metrics.map((metric) => {
      const x = get(m.name, metric);
      return x ? interval(x.mean, x.ci_low, x.ci_high) : '–';
    }),
  ]);
  const tbl = table(head, body, { textCols: 2 });
  const bars = groupedBarChart(
    s.group_acc.map((g) => ({ group: g.group, series: g.method, value: g.mean, lo: g.ci_low, hi: g.ci_high })),
    { x: 'group (tone / weather)', y: 'tone accuracy on the balanced test split', yDomain: [0, 1], refLine: 0.5, title: 'Accuracy per tone x weather group' },
  );
  const cmp = s.comparisons.length
    ? table(
        ['SHIFT-style method', 'baseline', 'metric', 'difference (method - baseline)', 'p'],
        s.comparisons.map((x) => [esc(x.method), esc(x.baseline), esc(METRIC_HEAD[x.metric] ?? x.metric), interval(x.diff, x.ci_low, x.ci_high), pValue(x.p)]),
        { textCols: 3 },
      )
    : '<p>no SHIFT-style methods ran (no SAE)</p>';
  const chosen = s.shift
    .map((sh) => {
      const lat = sh.chosen.length
        ? table(
            ['latent', 'attribution', 'weather AUROC (train tokens)', 'weather AUROC (test tokens)', 'top contexts (train)'],
            sh.chosen.map((l) => [esc(l.latent), num(l.attribution), num(l.auroc_train), num(l.auroc_test), l.contexts.map((x) => esc(x.text) + (x.weather_token ? ' <em>(weather token)</em>' : '')).join('<br>')]),
            { textCols: 1 },
          )
        : '<p>none: k = 0 was chosen on validation</p>';
      const grid = table(['k', 'validation tone accuracy', 'weather reliance'], sh.grid.map((g) => [esc(g.k), num(g.val_acc), num(g.reliance)]));
      return details(`${esc(sh.method)}, seed ${esc(sh.seed)}: k = ${esc(sh.k)} of ${esc(sh.ranked.length)} ranked candidates (${esc(sh.sae)})`, `${lat}<p>validation grid (ambiguous stories only):</p>${grid}`);
    })
    .join('');
  const perSeed = table(
    ['method', 'metric', ...s.seeds.map((x) => `seed ${esc(x)}`)],
    s.per_seed.map((p) => [esc(p.method), esc(p.metric), ...p.values.map(num)]),
    { textCols: 2 },
  );
  const del = list(s.deleted.map((d) => `${d.kind}: ${d.what} (${d.tokens_per_story.toFixed(1)} tokens per train story on average)`));
  return [
    '<h2>Spurious correlation (tone vs weather)</h2>',
    intro,
    tbl,
    `<p class="note">${esc(s.interval)}</p>`,
    await chart(bars),
    '<h3>SHIFT-style against the same-affordance baselines</h3>',
    cmp,
    '<h3>Latents SHIFT-style ablation chose</h3>',
    chosen || '<p>none</p>',
    '<h3>What the deletion baselines deleted</h3>',
    del,
    details('per-seed values', perSeed),
    '<h3>Notes</h3>',
    list(s.notes),
  ].join('\n');
}
