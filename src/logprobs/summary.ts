// The plain-text report: what was read (and skipped), each finding with its confidence and evidence, and a small
// histogram of the residuals of the differences from the top against the grid found (or 1/16 when none was).
import type { LogprobsReport } from './analyze.js';
import type { ResidualHistogram } from './detectors/grid.js';

const BAR = 40;

export function residualHistogramText(h: ResidualHistogram, found: boolean): string[] {
  const max = Math.max(1, ...h.bins.map((b) => b.count));
  const total = h.bins.reduce((s, b) => s + b.count, 0);
  const against = found ? `the grid found, ${h.label}` : `${h.label} (no grid found; shown for reference)`;
  const lines = [`residuals of the differences from the top against ${against}: residual / grid, ${h.on_grid} of ${total} on the grid within float tolerance`];
  for (const b of h.bins) {
    const label = `[${b.from.toFixed(2).padStart(5)}, ${b.to.toFixed(2).padStart(5)})`;
    lines.push(`  ${label} ${'#'.repeat(Math.round((BAR * b.count) / max)).padEnd(BAR)} ${b.count}`);
  }
  return lines;
}

function evidenceLines(ev: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'residual_histogram' || v === null || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    out.push(`      ${k}: ${text.length > 160 ? text.slice(0, 157) + '...' : text}`);
  }
  return out;
}

export function formatReport(r: LogprobsReport): string {
  const L: string[] = [];
  const s = r.source;
  L.push(`logprob forensics for ${s.file}: ${s.lines} lines, ${s.answers} answers, ${s.failed_requests} failed requests, ${s.skipped_lines} lines skipped`);
  for (const k of s.skipped.slice(0, 5)) L.push(`  skipped ${k.message}`);
  if (s.skipped_lines > 5) L.push(`  ... and ${s.skipped_lines - 5} more skipped lines (all in --json)`);
  L.push('');
  for (const f of r.findings) {
    L.push(`${f.finding} [confidence ${f.confidence.toFixed(2)}]: ${f.summary}`);
    L.push(...evidenceLines(f.evidence));
  }
  if (r.residual_histogram) {
    L.push('');
    L.push(...residualHistogramText(r.residual_histogram, r.grid !== null));
  }
  return L.join('\n') + '\n';
}
