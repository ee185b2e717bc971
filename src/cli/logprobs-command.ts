// `probity logprobs probe <base-url>` and `probity logprobs analyze <file.jsonl>`: what an endpoint's logprobs really
// are (grid, rounding order, top_logprobs cap, noise, seed determinism, consistency, hidden mass), with evidence.
// Reports go to stdout (text, or one JSON object with --json); progress to stderr.
import type { Command } from 'commander';
import { ProbityError } from '../errors.js';
import { analyzeTraffic } from '../logprobs/analyze.js';
import { probe } from '../logprobs/probe.js';
import { readTraffic } from '../logprobs/read-traffic.js';
import { formatReport } from '../logprobs/summary.js';
import { intArg, numArg } from './args.js';

function apiKey(envVar: string | undefined): string | null {
  if (envVar !== undefined) {
    const v = process.env[envVar];
    if (!v) throw new ProbityError('CLI_ARG', `--api-key-env ${envVar}: the environment variable ${envVar} is not set`);
    return v;
  }
  return process.env.OPENAI_API_KEY || null;
}

export function registerLogprobsCommand(program: Command): void {
  const lp = program.command('logprobs').description("Logprob forensics for any OpenAI-compatible endpoint: grid, rounding order, top_logprobs cap, noise, determinism");
  lp.command('probe <base-url>')
    .description('Send a designed set of requests (logging every request/response to JSONL), then analyze them')
    .option('--model <name>', 'model name (default: the first one /models lists)')
    .option('--requests <n>', 'number of requests', intArg('requests', 6, 10000), 24)
    .option('--max-tokens <n>', 'max_tokens per request', intArg('max-tokens', 1, 4096), 24)
    .option('--api-key-env <var>', 'environment variable holding the API key (default OPENAI_API_KEY; none sent if unset)')
    .option('--out <file>', 'traffic log (JSONL)', 'runs/logprobs/traffic.jsonl')
    .option('--timeout <s>', 'seconds per request attempt', numArg('timeout', 0.1, 3600), 60)
    .option('--retries <n>', 'retries for 429, 5xx, timeouts and network failures', intArg('retries', 0, 20), 3)
    .option('--concurrency <n>', 'requests in flight', intArg('concurrency', 1, 64), 4)
    .option('--json', 'print the report as one JSON object')
    .action(async (baseUrl: string, o) => {
      const res = await probe({
        baseUrl,
        model: o.model,
        requests: o.requests,
        maxTokens: o.maxTokens,
        apiKey: apiKey(o.apiKeyEnv),
        out: o.out,
        timeoutMs: o.timeout * 1000,
        retries: o.retries,
        concurrency: o.concurrency,
        log: (s) => process.stderr.write(s + '\n'),
      });
      const report = analyzeTraffic(readTraffic(res.out));
      if (o.json) process.stdout.write(JSON.stringify({ probe: res, ...report }, null, 2) + '\n');
      else process.stdout.write(`probed ${res.baseUrl} (model ${res.model}): ${res.answered} answered, ${res.failed} failed in ${res.wall_s.toFixed(1)} s\n` + formatReport(report));
    });
  lp.command('analyze <file>')
    .description('Analyze logged traffic: one OpenAI response (or {"request", "response"}) per line')
    .option('--json', 'print the report as one JSON object')
    .action((file: string, o) => {
      const report = analyzeTraffic(readTraffic(file));
      if (report.source.skipped_lines) process.stderr.write(`logprobs: skipped ${report.source.skipped_lines} of ${report.source.lines} lines (first: ${report.source.skipped[0].message})\n`);
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    });
}
