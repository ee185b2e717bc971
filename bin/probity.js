#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript by `npm ci` (the `prepare` script).
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).then(
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
