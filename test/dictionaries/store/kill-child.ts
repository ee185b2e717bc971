// Child process for resume.test.ts: `node kill-child.js <json>` runs a harvest and SIGKILLs itself once `killAfter`
// shards are on disk (a real kill: no finally blocks, no cleanup). Run with no arguments (as `node --test dist/test/`
// does with every file under test/), it does nothing.
import fs from 'node:fs';
import { harvest, rowsSource } from '../../../src/dictionaries/store/index.js';
import { loadModel } from '../../../src/models/load.js';

export interface KillChildArgs {
  model: string;
  rowsFile: string;
  killAfter: number;
  harvest: { hooks: string[]; out: string; batchRows: number; shardTokens: number; maxTokens?: number; dtype: 'float32' | 'float16' };
}

if (process.argv[2]) {
  const a = JSON.parse(process.argv[2]) as KillChildArgs;
  const model = await loadModel(a.model);
  const rows = JSON.parse(fs.readFileSync(a.rowsFile, 'utf8')) as number[][];
  await harvest({
    ...a.harvest,
    model,
    tokens: rowsSource(rows),
    onProgress: (p) => {
      if (p.shards >= a.killAfter) process.kill(process.pid, 'SIGKILL');
    },
  });
  console.log('finished without being killed');
}
