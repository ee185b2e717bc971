// `probity serve`: one model behind the OpenAI-compatible API (/v1/*) and, without --openai, the dashboard (/ and
// /api/*) on the same Scheduler. Loopback unless --host names another address. SIGTERM / SIGINT: stop accepting,
// finish the requests in flight, exit 0.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadModel, PACKAGE_ROOT } from '../models/load.js';
import { shippedSaes } from '../dictionaries/saelens.js';
import { closeQuietConnections, startServer, type Handler } from '../serve/http.js';
import { Scheduler } from '../serve/scheduler.js';
import { createOpenAiHandler } from '../serve/openai/server.js';
import type { Distortions } from '../serve/openai/distortions.js';
import { ProbityError } from '../errors.js';
import { intArg, numArg } from './args.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve a model over an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions) and, without --openai, the dashboard')
    .option('--openai', 'serve only the OpenAI-compatible /v1/* routes (no dashboard)')
    .option('--model <m>', 'a GGUF file, a checkpoint folder, or a shipped model name', 'organism')
    .option('--host <addr>', 'address to bind; anything but loopback exposes the model to the network', '127.0.0.1')
    .option('--port <p>', 'port (0 = any free one)', intArg('port', 0, 65535), 8000)
    .option('--sae <dir>', 'SAE folder for the dashboard and for interventions by folder name (repeatable; default: the model\'s shipped SAEs)', collect)
    .option('--results <path>', 'bench results folder or results.json for the dashboard (repeatable; default: reports/bench-organism)', collect)
    .option('--graphs <dir>', 'folder of attribution graph files for the dashboard (repeatable; default: reports/graphs and reports/bench-organism/graphs)', collect)
    .option('--max-queue <n>', 'requests waiting to start before new ones get 429', intArg('max-queue', 1), 256)
    .option('--max-batch <n>', 'rows stepped together in one forward', intArg('max-batch', 1), 8)
    .option('--batch-steered', 'let requests with the same interventions share batches (faster; equal to their runs alone only to float32 round-off)')
    .option('--body-limit <bytes>', 'largest request body (413 above)', intArg('body-limit', 1024), 4 * 2 ** 20)
    .option('--logprob-grid <g>', 'TEST AID: returned logprobs snap to top + g*round((lp-top)/g)', numArg('logprob-grid', 0))
    .option('--round-before-normalise', 'TEST AID (with --logprob-grid): round the logits to the grid, then normalise')
    .option('--top-logprobs-cap <c>', 'TEST AID: return at most c alternatives per token, silently', intArg('top-logprobs-cap', 0))
    .option('--logprob-noise <s>', 'TEST AID: add Gaussian noise of sd s to returned logprobs, fresh per request', numArg('logprob-noise', 0))
    .action(async (o) => {
      if (o.logprobGrid === 0) throw new ProbityError('CLI_ARG', '--logprob-grid is "0", expected a number > 0');
      if (o.roundBeforeNormalise && o.logprobGrid === undefined) throw new ProbityError('CLI_ARG', '--round-before-normalise needs --logprob-grid (the grid to round the logits to)');
      const distortions: Distortions = { logprobGrid: o.logprobGrid, topLogprobsCap: o.topLogprobsCap, logprobNoise: o.logprobNoise, roundBeforeNormalise: o.roundBeforeNormalise };
      const model = await loadModel(o.model);
      const scheduler = new Scheduler(model, { maxQueue: o.maxQueue, maxBatch: o.maxBatch, batchSteered: o.batchSteered === true });
      const saes: string[] = o.sae ?? shippedSaes(model.source);
      const { handler, ctx } = createOpenAiHandler({ model, modelRef: o.model, scheduler, distortions, bodyLimit: o.bodyLimit, saes });
      const handlers: Handler[] = [handler];
      if (!o.openai) {
        const results: string[] = o.results ?? [path.join(PACKAGE_ROOT, 'reports/bench-organism')].filter((p) => fs.existsSync(p));
        const { createDashboardHandler } = await import('../dashboard/server.js');
        handlers.push(await createDashboardHandler({ model, modelRef: o.model, scheduler, saes, results, graphs: o.graphs }));
      }
      if (!LOOPBACK.has(o.host)) {
        process.stderr.write(`probity serve: WARNING: binding ${o.host}, not loopback: anyone who can reach this address can use the model (and name SAE folders on this machine); there is no authentication\n`);
      }
      const running = await startServer({
        host: o.host, port: o.port, handlers,
        onInternalError: (e, req) => process.stderr.write(`probity serve: internal error on ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
      });
      const closeQuiet = closeQuietConnections(running.server);
      const active = Object.entries(distortions).filter(([, v]) => v !== undefined);
      process.stderr.write(`probity serve: ${ctx.modelIds[0]} (${model.source}); chat template: ${ctx.template.source}\n`);
      if (active.length) process.stderr.write(`probity serve: TEST AID distortions on returned logprobs: ${active.map(([k, v]) => `${k}=${v}`).join(', ')}\n`);
      process.stdout.write(`${running.url}${o.openai ? '/v1' : '/'}\n`);

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const on = (s: NodeJS.Signals) => resolve(s);
        process.once('SIGTERM', on);
        process.once('SIGINT', on);
      });
      // Repeated signals (a terminal's Ctrl-C reaches the relaunch parent and this process) do not cut the drain short.
      const ignore = () => {};
      process.on('SIGTERM', ignore);
      process.on('SIGINT', ignore);
      const { queued, active: rows } = scheduler.load;
      process.stderr.write(`probity serve: ${signal}: no new connections; finishing ${queued + rows} request(s) in flight\n`);
      const closing = running.close(60_000);
      closeQuiet();
      await scheduler.close();
      await closing;
      process.stderr.write('probity serve: stopped\n');
    });
}
