// The dashboard handler over loopback for the graph tests: the organism (the handler needs a model), no SAEs, no
// reports, the given graph folders or files. Internal (5xx) errors are collected so a test can assert there were none.
import { loadModel } from '../../src/models/load.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer } from '../../src/serve/http.js';
import { createDashboardHandler } from '../../src/dashboard/server.js';

export interface GraphDashboard {
  url: string;
  internal: unknown[];
  close(): Promise<void>;
}

export async function startGraphDashboard(graphs: string[]): Promise<GraphDashboard> {
  process.env.PROBITY_SPIN = '0';
  const model = await loadModel('organism');
  const scheduler = new Scheduler(model);
  const handler = await createDashboardHandler({ model, modelRef: 'organism', scheduler, saes: [], results: [], graphs });
  const internal: unknown[] = [];
  const srv = await startServer({ host: '127.0.0.1', port: 0, handlers: [handler], onInternalError: (e) => internal.push(e) });
  return {
    url: srv.url,
    internal,
    async close() {
      await srv.close();
      await scheduler.close();
    },
  };
}
