#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript by `npm ci` (the `prepare` script). It first relaunches itself
// once with probity's allocator settings (dist/src/util/allocator.js says why; PROBITY_RELAUNCH=0 skips that).
import { relaunchWithAllocatorEnv } from '../dist/src/util/allocator.js';

const relaunched = relaunchWithAllocatorEnv();
if (relaunched) {
  process.exitCode = await relaunched;
} else {
  const { main } = await import('../dist/src/cli/main.js');
  await main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (err) => {
      if (err && err.name === 'ProbityError') {
        console.error(`probity: ${err.message} [${err.code}]`);
        process.exit(2);
      }
      console.error(err);
      process.exit(1);
    },
  );
}
