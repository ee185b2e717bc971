// The shipped reference numbers are what a command wrote at a clean commit whose code is today's, with no machine
// paths, and the README's one typed number (the main job's run time) is the reference run's own. These fail when the
// code moves on without regenerating them (the stale-reference finding of issue 11), or when a doc is edited by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/util/paths.js';

const read = (p: string) => fs.readFileSync(path.join(PROJECT_ROOT, p), 'utf8');
const json = (p: string) => JSON.parse(read(p)) as Record<string, unknown>;
/** Paths whose change can change a reference number: the code the bench, `sae eval` / `sae frontier` and the card
 *  run (tests, docs and new modules elsewhere, e.g. a server, cannot). Keep it in step with what those commands import. */
const CODE = [
  'src/bench', 'src/dictionaries', 'src/engine', 'src/models', 'src/organism', 'src/stats', 'src/report', 'src/util', 'src/errors.ts',
  'src/cli/bench-command.ts', 'src/cli/sae-commands.ts', 'src/cli/organism-commands.ts', 'src/cli/args.ts', 'src/cli/progress.ts',
  'bin', 'scripts', 'package-lock.json', 'tsconfig.json',
];

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
}
const history = git(['rev-parse', '--verify', 'HEAD']) !== null && git(['rev-parse', '--is-shallow-repository'])?.trim() === 'false';

/** A recorded code version is a clean commit in this history whose code is the code of HEAD. */
function checkVersion(what: string, version: unknown): void {
  assert.equal(typeof version, 'string', `${what}: code version recorded`);
  const v = version as string;
  assert.ok(!v.endsWith('-dirty'), `${what} was made from a dirty tree (${v})`);
  if (!history) return;
  assert.notEqual(git(['cat-file', '-e', `${v}^{commit}`]), null, `${what}: ${v} is not a commit of this repository`);
  const diff = git(['diff', '--stat', v, 'HEAD', '--', ...CODE]);
  assert.equal(diff, '', `${what} was made at ${v}; the code changed since:\n${diff}`);
}

function checkNoMachinePaths(what: string, text: string): void {
  for (const bad of [PROJECT_ROOT, '/work/', '/tmp/', '/home/', '/root/']) assert.ok(!text.includes(bad), `${what} holds a machine path (${bad})`);
}

test('reference bench run: clean commit with today\'s code, no machine paths, README quotes its wall time', { skip: !history && 'no full git history here: commits cannot be checked' }, () => {
  const text = read('reports/bench-organism/results.json');
  const r = JSON.parse(text) as { provenance: { code_version: string; wall_s: number; command: string } };
  checkVersion('reports/bench-organism/results.json', r.provenance.code_version);
  checkNoMachinePaths('reports/bench-organism/results.json', text);
  assert.equal(r.provenance.command, 'probity bench --out reports/bench-organism');
  const m = /The reference run in `reports\/bench-organism\/` took (\d+) s on 2 cores \(`provenance\.wall_s`\)/.exec(read('README.md'));
  assert.ok(m, 'the README states the reference run time');
  assert.equal(Number(m[1]), Math.round(r.provenance.wall_s), 'README run time = provenance.wall_s of the reference run');
});

test('shipped SAE metrics and the frontier: written at a clean commit with today\'s code, no machine paths', { skip: !history && 'no full git history here' }, () => {
  const saes = fs.readdirSync(path.join(PROJECT_ROOT, 'models/organism/saes')).filter((n) => fs.existsSync(path.join(PROJECT_ROOT, 'models/organism/saes', n, 'metrics.json')));
  assert.equal(saes.length, 3);
  for (const n of saes) {
    const file = `models/organism/saes/${n}/metrics.json`;
    checkVersion(file, json(file).code_version);
    checkNoMachinePaths(file, read(file));
    checkNoMachinePaths(`models/organism/saes/${n}/cfg.json`, read(`models/organism/saes/${n}/cfg.json`));
  }
  const f = json('reports/sae-frontier/frontier.json') as { provenance: { code_version: string } };
  checkVersion('reports/sae-frontier/frontier.json', f.provenance.code_version);
  checkNoMachinePaths('reports/sae-frontier/frontier.json', read('reports/sae-frontier/frontier.json'));
  for (const n of fs.readdirSync(path.join(PROJECT_ROOT, 'models/organism/saes/frontier'))) {
    checkNoMachinePaths(`saes/frontier/${n}/cfg.json`, read(`models/organism/saes/frontier/${n}/cfg.json`));
  }
});

test('model card: generated at a clean commit with today\'s code, no machine paths', { skip: !history && 'no full git history here' }, () => {
  const card = read('models/organism/README.md');
  const m = /at probity code version `([^`]+)`/.exec(card);
  assert.ok(m, 'the card names its code version');
  checkVersion('models/organism/README.md', m[1]);
  checkNoMachinePaths('models/organism/README.md', card);
  // The frontier section comes from the shipped frontier.json (same code version).
  const f = json('reports/sae-frontier/frontier.json') as { provenance: { code_version: string } };
  assert.ok(card.includes(`at code \`${f.provenance.code_version}\``), 'the card shows the shipped frontier');
});
