// Logged traffic -> every finding, and the report both output formats render. The top-level fields are the ones a
// script reads (`grid`, `top_logprobs_cap`, `noise_detected`, ...); `findings` holds each detector's answer with its
// confidence and summary, and `evidence` the same detectors' evidence by finding name.
import { detectAvailability } from './detectors/availability.js';
import { detectCap } from './detectors/cap.js';
import { detectConsistency } from './detectors/consistency.js';
import { detectDeterminism } from './detectors/determinism.js';
import { detectGrid, type ResidualHistogram } from './detectors/grid.js';
import { detectHiddenMass } from './detectors/hidden-mass.js';
import { detectNoise } from './detectors/noise.js';
import { detectRounding } from './detectors/rounding.js';
import type { Finding, Traffic } from './types.js';

export interface LogprobsReport {
  source: { file: string; lines: number; skipped_lines: number; skipped: { line: number; message: string }[]; failed_requests: number; answers: number };
  grid: number | null;
  grid_applies_to: 'raw_logprobs' | 'differences_from_top' | null;
  rounding: string | null;
  top_logprobs_cap: number | null;
  noise_detected: boolean;
  noise_sd: number | null;
  seed_determinism: string | null;
  sampled_consistency: string | null;
  hidden_mass_median: number | null;
  logprobs_returned: number | null;
  residual_histogram: ResidualHistogram | null;
  findings: Finding[];
  evidence: Record<string, Record<string, unknown>>;
}

/** Skipped-line messages kept in the report (the count is always complete). */
const SKIPPED_SHOWN = 20;

export function analyzeTraffic(t: Traffic): LogprobsReport {
  const seqs = t.sequences.filter((s) => s.hasLogprobs);
  const available = detectAvailability(t);
  const grid = detectGrid(seqs);
  const rounding = detectRounding(seqs, grid.value);
  const cap = detectCap(seqs);
  const noise = detectNoise(seqs);
  const determinism = detectDeterminism(t.sequences);
  const consistency = detectConsistency(seqs);
  const hidden = detectHiddenMass(seqs);
  const strip = ({ finding, value, confidence, summary, evidence }: Finding): Finding => ({ finding, value, confidence, summary, evidence });
  const findings = [available, grid, rounding, cap, noise, determinism, consistency, hidden].map(strip);
  return {
    source: {
      file: t.file,
      lines: t.lines,
      skipped_lines: t.skipped.length,
      skipped: t.skipped.slice(0, SKIPPED_SHOWN),
      failed_requests: t.failed.length,
      answers: t.sequences.length,
    },
    grid: grid.value,
    grid_applies_to: grid.applies_to,
    rounding: rounding.value,
    top_logprobs_cap: cap.value,
    noise_detected: noise.value,
    noise_sd: noise.sd,
    seed_determinism: determinism.value,
    sampled_consistency: consistency.value,
    hidden_mass_median: hidden.value,
    logprobs_returned: available.value,
    residual_histogram: grid.histogram,
    findings,
    evidence: Object.fromEntries(findings.map((f) => [f.finding, f.evidence])),
  };
}
