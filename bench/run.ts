// `npm run bench [-- engine models dictionaries serve generation peers harvest readme]`: runs the selected benchmark groups (by default
// all but `peers`, which needs PyTorch / llama.cpp installed and takes minutes, and `harvest`, which writes 12 GB of
// activations over tens of minutes: name them to run them).
import { benchMatmul, benchTopkSaeStep } from './engine.js';
import { benchGpt2 } from './models.js';
import { benchTopkTrainer } from './dictionaries.js';
import { benchAllocator } from './allocator.js';
import { benchServe } from './serve.js';
import { benchPeers } from './peers.js';
import { benchHarvest } from './harvest.js';
import { benchGeneration } from './generation.js';
import { writeResult } from './util.js';
import { writeSpeedTable } from './speed-table.js';
import { relaunchWithAllocatorEnv } from '../src/util/allocator.js';

const groups: Record<string, () => Promise<void>> = {
  engine: async () => writeResult('engine', { ...(await benchMatmul()), ...(await benchTopkSaeStep()), ...benchAllocator() }),
  models: async () => writeResult('models', await benchGpt2()),
  dictionaries: async () => writeResult('dictionaries', await benchTopkTrainer()),
  serve: async () => writeResult('serve', await benchServe()),
  generation: async () => writeResult('generation', await benchGeneration()),
  peers: async () => writeResult('peers', await benchPeers()),
  harvest: async () => writeResult('harvest', await benchHarvest()),
  // Only rewrites README's speed table from the committed results (every run ends by doing that).
  readme: async () => {},
};
const notByDefault = new Set(['peers', 'harvest', 'readme']);

// Benchmarks run the way the probity CLI runs: relaunched once with its allocator settings (src/util/allocator.ts).
const relaunched = relaunchWithAllocatorEnv();
if (relaunched) {
  process.exitCode = await relaunched;
} else {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  for (const name of wanted.length ? wanted : Object.keys(groups).filter((g) => !notByDefault.has(g))) {
    const run = groups[name];
    if (!run) throw new Error(`unknown benchmark group "${name}"; have ${Object.keys(groups).join(', ')}`);
    await run();
  }
  writeSpeedTable();
}
