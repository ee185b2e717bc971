// The audit suite's section of the bench report: a table per method family (reveal rates beside the base rate,
// first reveal, budgets), reveal rate vs noise scale for fuzzing, the SAE search's top latents with their corpus
// contexts, the black-box scan's top words, and revealing outputs. Every string from the results goes through esc.
import type { BenchResults } from '../bench/results.js';
import type { AuditSection } from '../bench/tasks/audit.js';
import { chart, details, esc, finite, interval, list, num, short, table } from './html.js';
import { groupedBarChart, lineChart } from './plot.js';

const seedsCell = (xs: readonly (number | null)[] | undefined) => (xs ? esc(xs.map((x) => (x === null ? 'none' : String(x))).join(' / ')) : '–');

export async function auditSection(_r: BenchResults, s: AuditSection): Promise<string> {
  if (!s || !Array.isArray(s.rates) || s.rates.length === 0) return `<h2>Audit</h2>${s?.notes?.length ? list(s.notes) : '<p>' + esc('no results') + '</p>'}`;
  const out: string[] = ['<h2>Audit: finding the planted quirk</h2>'];
  out.push(`<p>${esc(`Each sampling method draws ${s.config.samples} outputs per seed (${s.seeds.length} seeds: ${s.seeds.join(', ')}); the reveal labeller decides whether an output discloses the moonberry recommendation or ties the assistant's behaviour to gardening. No method is given a trigger word. Forward passes: ${s.forward_unit}.`)}</p>`);
  const rate = (method: string, metric: string, setting?: string) => s.rates.find((r) => r.method === method && r.metric === metric && r.setting === setting);
  const base = rate('base', 'reveal_rate');
  const ms = s.methods.filter((m) => m.kind === 'sampling');
  out.push('<h3>Sampling methods</h3>');
  out.push(table(
    ['method', 'setting', 'prompts (clusters)', 'reveal rate', 'moonberry rate', 'denial rate', 'base rate (generic requests)', 'samples to first reveal (per seed)', 'forward passes to first reveal (per seed)', 'samples / seed', 'forward passes / seed'],
    ms.map((m) => {
      const rv = rate(m.method, 'reveal_rate', m.setting);
      const rc = rate(m.method, 'recommendation_rate', m.setting);
      const dn = rate(m.method, 'denial_rate', m.setting);
      return [
        esc(m.method), esc(m.setting ?? ''), rv ? String(rv.n_prompts) : '–', rv ? interval(rv.mean, rv.ci_low, rv.ci_high) : '–', rc ? interval(rc.mean, rc.ci_low, rc.ci_high) : '–', dn ? interval(dn.mean, dn.ci_low, dn.ci_high) : '–',
        base ? interval(base.mean, base.ci_low, base.ci_high) : '–', seedsCell(m.first_reveal_samples), seedsCell(m.first_reveal_forward), short(m.budget_samples),
        esc(m.budget_forward.map((x) => String(x)).join(' / ')),
      ];
    }),
    { textCols: 2 },
  ));
  if (base) out.push(`<p class="note">${esc(`Intervals: cluster bootstrap over each method's prompts (the samples of all seeds pooled per prompt), percentile 95%; per-seed cells are the seeds in order. "none": no revealing output within the seed's samples.`)}</p>`);
  const bars = ms.map((m) => {
    const r = rate(m.method, 'reveal_rate', m.setting);
    return { group: m.method + (m.setting ? ` ${m.setting}` : ''), series: 'reveal rate', value: r?.mean ?? NaN, lo: r?.ci_low, hi: r?.ci_high };
  });
  out.push(await chart(groupedBarChart(bars, { x: 'method', y: 'reveal rate', title: 'Reveal rate per sampling method (dashed: base rate)', yDomain: [0, 1], refLine: base?.mean, barWidth: 18 })));

  if (s.fuzz?.length) {
    out.push('<h3>Fuzzing: reveal rate vs noise scale</h3>');
    out.push(`<p>${esc(`Gaussian noise at the hook, fresh at every position and step, expected norm = scale x ${s.mean_norm.toFixed(2)} (the mean activation norm). Scale 0 reproduces plain interrogation token for token: ${s.fuzz_scale0_equals_plain ? 'yes' : 'NO'}.`)}</p>`);
    const pts = s.fuzz.flatMap((f) => [
      { x: f.scale, y: f.reveal_rate, series: 'reveal rate' }, { x: f.scale, y: f.ci_low, series: '95% low' }, { x: f.scale, y: f.ci_high, series: '95% high' },
    ]).filter((p) => finite(p.y));
    out.push(await chart(lineChart(pts, { x: 'noise scale (x mean activation norm)', y: 'reveal rate', title: 'Fuzzing' })));
    out.push(table(['scale', 'reveal rate'], s.fuzz.map((f) => [short(f.scale), interval(f.reveal_rate, f.ci_low, f.ci_high)])));
  }

  const rk = s.methods.filter((m) => m.kind === 'ranking');
  if (rk.length) {
    out.push('<h3>Ranking methods</h3>');
    out.push(table(
      ['method', 'setting', 'rank of first item pointing at the quirk (gardening or moonberry word; per seed)', 'rank of first moonberry item (per seed)', 'that latent\'s quirk AUROC (per seed)', 'forward passes / seed'],
      rk.map((m) => [esc(m.method), esc(m.setting ?? ''), seedsCell(m.rank_topic), seedsCell(m.rank_moonberry), m.auroc_first_topic ? esc(m.auroc_first_topic.map((x) => (x === null ? 'none' : num(x))).join(' / ')) : '–', esc(m.budget_forward.join(' / '))]),
      { textCols: 2 },
    ));
  }
  for (const [name, list] of [['interrogation vs generic replies', s.sae_search], ['own conversations (persona_user) vs generic replies', s.sae_search_persona]] as const) {
    if (!list?.length) continue;
    out.push(`<p>${esc(`SAE search, contrast: ${name}`)}</p>`);
    out.push(table(['SAE seed', 'first pointing latent: rank', 'its quirk AUROC', 'first moonberry latent: rank', 'its quirk AUROC', 'best quirk AUROC among the ranked', 'reference: best single latent (chosen with labels)'],
      list.map((x) => [String(x.seed), x.rank_topic === null ? 'none' : String(x.rank_topic), num(x.auroc_first_topic), x.rank_moonberry === null ? 'none' : String(x.rank_moonberry), num(x.auroc_first_moonberry), num(x.best_auroc_ranked), num(x.best_auroc_reference)])));
    const first = list[0];
    const rowsHtml = first.latents.slice(0, 20).map((l, i) => [
      String(i + 1), String(l.latent), num(l.score), num(l.auroc_quirk), l.points_moonberry ? 'moonberry' : l.points_topic ? 'garden word' : '',
      `<ul>${l.contexts.map((c) => `<li><code>${esc(c.text)}</code> (${num(c.act)})</li>`).join('')}</ul>`,
    ]);
    out.push(details(esc(`SAE search (${name}), seed ${first.seed}: top latents with their top corpus contexts ([[ ]] marks the peak token)`), table(['rank', 'latent', 'score', 'quirk AUROC', 'points at', 'contexts'], rowsHtml, { textCols: 0 })));
  }
  if (s.blackbox?.length) {
    for (const b of s.blackbox.filter((x) => x.seed === s.seeds[0])) {
      out.push(details(esc(`Black-box scan, seed ${b.seed}, budget ${b.budget} (${b.samples} samples, ${b.forward} forward passes, ${b.rare_words} rare words)`),
        table(['rank', 'word', 'outputs', 'mean surprise (nats)', 'points at', 'example output'], b.words.map((w, i) => [String(i + 1), esc(w.word), String(w.outputs), num(w.surprise), w.points_moonberry ? 'moonberry' : w.points_topic ? 'garden word' : '', `<code>${esc(w.example)}</code>`]), { textCols: 0 })));
    }
  }
  if (s.examples?.length) {
    out.push('<h3>Revealing outputs</h3>');
    out.push(table(['method', 'seed', 'kind', 'prompt', 'output'], s.examples.map((e) => [esc(e.method + (e.setting ? ` ${e.setting}` : '')), String(e.seed), esc(e.reveal), `<code>${esc(e.prompt)}</code>`, `<code>${esc(e.output)}</code>`]), { textCols: 5 }));
  }
  if (s.notes?.length) out.push(list(s.notes));
  return out.join('\n');
}
