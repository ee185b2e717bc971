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
/**
 * Paths whose change can change every reference number: the launcher and the build. Two more are compared by what
 * can reach a command's numbers, not byte for byte (`sameRuntime`): the lockfile by its runtime packages (a new
 * devDependency, a test client or the front-end build, is never loaded by a command), and `src/cli/main.ts` without
 * its command registrations (registering `serve` cannot change what `bench` computes).
 */
const ALWAYS = ['bin', 'scripts', 'tsconfig.json'];

/** The runtime part of a lockfile: every package not marked dev-only, and the root without its devDependencies. */
function runtimeLock(text: string): string {
  const lock = JSON.parse(text) as { packages: Record<string, { dev?: boolean; devDependencies?: unknown }> };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(lock.packages)) {
    if (v.dev) continue;
    out[k] = k === '' ? { ...v, devDependencies: undefined } : v;
  }
  return JSON.stringify(out);
}
/** main.ts without the lines that import or call a `registerXCommand(s)` function. */
function mainWithoutRegistrations(text: string): string {
  return text.split('\n').filter((l) => !/^\s*(import \{ register\w+ \} from '\.\/[\w-]+\.js';|register\w+\(program\);)\s*$/.test(l)).join('\n');
}
const COMPARED: [string, (text: string) => string][] = [['package-lock.json', runtimeLock], ['src/cli/main.ts', mainWithoutRegistrations]];

/**
 * The source files a command module runs: the closure of its static and dynamic relative imports, and of the files
 * a module loads by URL (a worker script, the WebAssembly kernels' .wat source). Computed, not listed by hand, so a
 * new import is covered the day it is written, and a change to code a command never loads (a new suite, the server)
 * does not make that command's artefacts stale.
 */
function codeOf(entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (!f.endsWith('.ts')) continue;
    const text = read(f);
    const refs = [
      ...[...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?from\s*'(\.[^']+)'/gm)].map((m) => m[1]),
      ...[...text.matchAll(/(?:^|[\s;])import\s*'(\.[^']+)'/gm)].map((m) => m[1]),
      ...[...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/new URL\(\s*'(\.[^']+)'\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]),
    ];
    for (const r of refs) {
      const q = path.posix.normalize(path.posix.join(path.posix.dirname(f), r)).replace(/\.js$/, '.ts').replace(/\.wasm$/, '.wat');
      assert.ok(fs.existsSync(path.join(PROJECT_ROOT, q)), `${f} imports ${r}, which resolves to ${q}: no such source file`);
      todo.push(q);
    }
  }
  return [...seen].sort();
}
const CODE = {
  bench: [...ALWAYS, ...codeOf('src/cli/bench-command.ts')],
  sae: [...ALWAYS, ...codeOf('src/cli/sae-commands.ts')],
  card: [...ALWAYS, ...codeOf('src/cli/organism-commands.ts')],
};

test('the lockfile and main.ts are compared by what reaches a command (planted edits)', () => {
  const lock = read('package-lock.json');
  const l = JSON.parse(lock) as { packages: Record<string, Record<string, unknown>> };
  const withDev = structuredClone(l);
  withDev.packages['node_modules/planted-dev'] = { version: '1.0.0', dev: true };
  (withDev.packages[''].devDependencies as Record<string, string>)['planted-dev'] = '^1.0.0';
  assert.equal(runtimeLock(JSON.stringify(withDev)), runtimeLock(lock), 'a new devDependency does not reach a command');
  const withRuntime = structuredClone(l);
  withRuntime.packages['node_modules/planted'] = { version: '1.0.0' };
  assert.notEqual(runtimeLock(JSON.stringify(withRuntime)), runtimeLock(lock), 'a new runtime package does');
  const bumped = structuredClone(l);
  bumped.packages['node_modules/onnxruntime-node'].version = '0.0.1';
  assert.notEqual(runtimeLock(JSON.stringify(bumped)), runtimeLock(lock), 'a changed runtime version does');
  const main = read('src/cli/main.ts');
  const added = main.replace(/^(import \{ registerBenchCommand \} from '\.\/bench-command\.js';)$/m, "$1\nimport { registerPlantedCommand } from './planted-command.js';")
    .replace(/^(\s*)registerBenchCommand\(program\);$/m, '$1registerBenchCommand(program);\n$1registerPlantedCommand(program);');
  assert.notEqual(added, main, 'the planted registration was inserted');
  assert.equal(mainWithoutRegistrations(added), mainWithoutRegistrations(main), 'a new command registration does not reach other commands');
  assert.notEqual(mainWithoutRegistrations(main.replace('exitOverride()', 'exitOverride().allowUnknownOption()')), mainWithoutRegistrations(main), 'any other edit does');
});

test('the code closure of a command follows its imports (and sees what it must)', () => {
  const bench = new Set(CODE.bench);
  for (const f of ['src/bench/suite.ts', 'src/bench/tasks/steer.ts', 'src/engine/host/kernels.wat', 'src/engine/host/helper-thread.ts', 'src/organism/model-tokenizer.ts', 'src/report/bench-report.ts']) {
    assert.ok(bench.has(f), `bench code includes ${f}`);
  }
  const sae = new Set(CODE.sae);
  for (const f of ['src/dictionaries/eval.ts', 'src/dictionaries/frontier.ts', 'src/organism/corpus.ts']) assert.ok(sae.has(f), `sae code includes ${f}`);
  assert.ok(!sae.has('src/bench/tasks/steer.ts'), 'sae eval does not run the steering task');
});

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return null;
  }
}
const history = git(['rev-parse', '--verify', 'HEAD']) !== null && git(['rev-parse', '--is-shallow-repository'])?.trim() === 'false';

/** A recorded code version is a clean commit in this history whose code is the code of HEAD. */
function checkVersion(what: string, version: unknown, code: readonly string[]): void {
  assert.equal(typeof version, 'string', `${what}: code version recorded`);
  const v = version as string;
  assert.ok(!v.endsWith('-dirty'), `${what} was made from a dirty tree (${v})`);
  if (!history) return;
  assert.notEqual(git(['cat-file', '-e', `${v}^{commit}`]), null, `${what}: ${v} is not a commit of this repository`);
  const diff = git(['diff', '--stat', v, 'HEAD', '--', ...code]);
  assert.equal(diff, '', `${what} was made at ${v}; the code changed since:\n${diff}`);
  for (const [file, view] of COMPARED) {
    const then = git(['show', `${v}:${file}`]);
    assert.ok(then !== null, `${what}: ${file} missing at ${v}`);
    assert.ok(view(then) === view(read(file)), `${what} was made at ${v}; what ${file} gives a command at run time changed since`);
  }
}

function checkNoMachinePaths(what: string, text: string): void {
  for (const bad of [PROJECT_ROOT, '/work/', '/tmp/', '/home/', '/root/']) assert.ok(!text.includes(bad), `${what} holds a machine path (${bad})`);
}

test('reference bench run: clean commit with today\'s code, no machine paths, README quotes its wall time', { skip: !history && 'no full git history here: commits cannot be checked' }, () => {
  const text = read('reports/bench-organism/results.json');
  const r = JSON.parse(text) as { provenance: { code_version: string; wall_s: number; command: string } };
  checkVersion('reports/bench-organism/results.json', r.provenance.code_version, CODE.bench);
  checkNoMachinePaths('reports/bench-organism/results.json', text);
  assert.equal(r.provenance.command, 'probity bench --out reports/bench-organism');
  const m = /The reference run in `reports\/bench-organism\/` took (\d+) s on 2 cores \(`provenance\.wall_s`[^)]*\)/.exec(read('README.md'));
  assert.ok(m, 'the README states the reference run time');
  assert.equal(Number(m[1]), Math.round(r.provenance.wall_s), 'README run time = provenance.wall_s of the reference run');
});

test('shipped SAE metrics and the frontier: written at a clean commit with today\'s code, no machine paths', { skip: !history && 'no full git history here' }, () => {
  const saes = fs.readdirSync(path.join(PROJECT_ROOT, 'models/organism/saes')).filter((n) => fs.existsSync(path.join(PROJECT_ROOT, 'models/organism/saes', n, 'metrics.json')));
  assert.equal(saes.length, 3);
  for (const n of saes) {
    const file = `models/organism/saes/${n}/metrics.json`;
    checkVersion(file, json(file).code_version, CODE.sae);
    checkNoMachinePaths(file, read(file));
    checkNoMachinePaths(`models/organism/saes/${n}/cfg.json`, read(`models/organism/saes/${n}/cfg.json`));
  }
  const f = json('reports/sae-frontier/frontier.json') as { provenance: { code_version: string } };
  checkVersion('reports/sae-frontier/frontier.json', f.provenance.code_version, CODE.sae);
  checkNoMachinePaths('reports/sae-frontier/frontier.json', read('reports/sae-frontier/frontier.json'));
  for (const n of fs.readdirSync(path.join(PROJECT_ROOT, 'models/organism/saes/frontier'))) {
    checkNoMachinePaths(`saes/frontier/${n}/cfg.json`, read(`models/organism/saes/frontier/${n}/cfg.json`));
  }
});

test('model card: generated at a clean commit with today\'s code, no machine paths', { skip: !history && 'no full git history here' }, () => {
  const card = read('models/organism/README.md');
  const m = /at probity code version `([^`]+)`/.exec(card);
  assert.ok(m, 'the card names its code version');
  checkVersion('models/organism/README.md', m[1], CODE.card);
  checkNoMachinePaths('models/organism/README.md', card);
  // The frontier section comes from the shipped frontier.json (same code version).
  const f = json('reports/sae-frontier/frontier.json') as { provenance: { code_version: string } };
  assert.ok(card.includes(`at code \`${f.provenance.code_version}\``), 'the card shows the shipped frontier');
});
