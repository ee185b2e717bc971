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
 * can reach a command's numbers, not byte for byte: the lockfile by the packages the command's code imports and
 * their dependencies (a test client, the front-end build or the server's template engine is never loaded by
 * `bench`), and `src/cli/main.ts` without its command registrations (registering `serve` cannot change what `bench`
 * computes).
 */
const ALWAYS = ['bin', 'scripts', 'tsconfig.json'];

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
/**
 * The lock entries a set of imported packages load: each package's entry and, transitively, those of its
 * dependencies, resolved as Node resolves them (a nested node_modules first, then each folder above).
 */
function lockClosure(text: string, packages: readonly string[]): string {
  const lock = JSON.parse(text) as { packages: Record<string, LockEntry> };
  const resolve = (from: string, name: string): string | null => {
    for (let dir: string = from; ; dir = dir.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!dir) return null;
    }
  };
  const seen = new Map<string, LockEntry>();
  const todo: [string, string][] = packages.map((name) => ['', name]);
  while (todo.length) {
    const [from, name] = todo.pop()!;
    const key = resolve(from, name);
    if (key === null) {
      assert.ok(from !== '', `the code imports ${name}, which the lockfile does not hold`);
      continue; // an optional or peer dependency that is not installed
    }
    if (seen.has(key)) continue;
    const e = lock.packages[key];
    seen.set(key, e);
    for (const d of Object.keys({ ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies })) todo.push([key, d]);
  }
  return JSON.stringify([...seen.entries()].sort(([x], [y]) => (x < y ? -1 : 1)));
}
/** main.ts without the lines that import or call a `registerXCommand(s)` function. */
function mainWithoutRegistrations(text: string): string {
  return text.split('\n').filter((l) => !/^\s*(import \{ register\w+ \} from '\.\/[\w-]+\.js';|register\w+\(program\);)\s*$/.test(l)).join('\n');
}

/** Bare package names a source file imports (`node:` built-ins excluded; `@scope/name/sub` gives `@scope/name`). */
function packagesIn(text: string): string[] {
  const specs = [
    ...[...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?from\s*'([^.'][^']*)'/gm)].map((m) => m[1]),
    ...[...text.matchAll(/(?:^|[\s;])import\s*'([^.'][^']*)'/gm)].map((m) => m[1]),
    ...[...text.matchAll(/import\(\s*'([^.'][^']*)'\s*\)/g)].map((m) => m[1]),
  ].filter((x) => !x.startsWith('node:'));
  return specs.map((x) => x.split('/').slice(0, x.startsWith('@') ? 2 : 1).join('/'));
}

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
interface Code {
  files: string[];
  packages: string[];
}
function command(entry: string): Code {
  const files = codeOf(entry);
  const packages = new Set<string>();
  for (const f of files.filter((x) => x.endsWith('.ts'))) {
    const code = read(f).split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l)).join('\n');
    for (const p of packagesIn(code)) packages.add(p);
  }
  return { files: [...ALWAYS, ...files], packages: [...packages].sort() };
}
const CODE = {
  bench: command('src/cli/bench-command.ts'),
  sae: command('src/cli/sae-commands.ts'),
  card: command('src/cli/organism-commands.ts'),
  transcoders: command('src/cli/transcoder-commands.ts'),
};

test('the lockfile and main.ts are compared by what reaches a command (planted edits)', () => {
  const lock = read('package-lock.json');
  const l = JSON.parse(lock) as { packages: Record<string, Record<string, unknown>> };
  const pk = CODE.bench.packages;
  assert.ok(pk.includes('onnxruntime-node') && pk.includes('commander') && pk.includes('vega-lite'), `bench imports ${pk.join(', ')}`);
  const closure = JSON.parse(lockClosure(lock, pk)) as [string][];
  assert.ok(closure.some(([k]) => k === 'node_modules/onnxruntime-common'), 'a dependency of a dependency is in the closure');
  const withNew = structuredClone(l);
  withNew.packages['node_modules/planted'] = { version: '1.0.0' };
  (withNew.packages[''].dependencies as Record<string, string>).planted = '^1.0.0';
  assert.equal(lockClosure(JSON.stringify(withNew), pk), lockClosure(lock, pk), 'a package the command never imports does not reach it');
  const bumped = structuredClone(l);
  bumped.packages['node_modules/onnxruntime-common'].version = '0.0.1';
  assert.notEqual(lockClosure(JSON.stringify(bumped), pk), lockClosure(lock, pk), 'a changed version of a transitive dependency does');
  const nested = structuredClone(l);
  nested.packages['node_modules/onnxruntime-node/node_modules/onnxruntime-common'] = { version: '9.9.9' };
  assert.notEqual(lockClosure(JSON.stringify(nested), pk), lockClosure(lock, pk), 'a nested copy that shadows the flat one does');
  const main = read('src/cli/main.ts');
  const added = main.replace(/^(import \{ registerBenchCommand \} from '\.\/bench-command\.js';)$/m, "$1\nimport { registerPlantedCommand } from './planted-command.js';")
    .replace(/^(\s*)registerBenchCommand\(program\);$/m, '$1registerBenchCommand(program);\n$1registerPlantedCommand(program);');
  assert.notEqual(added, main, 'the planted registration was inserted');
  assert.equal(mainWithoutRegistrations(added), mainWithoutRegistrations(main), 'a new command registration does not reach other commands');
  assert.notEqual(mainWithoutRegistrations(main.replace('exitOverride()', 'exitOverride().allowUnknownOption()')), mainWithoutRegistrations(main), 'any other edit does');
});

test('the code closure of a command follows its imports (and sees what it must)', () => {
  const bench = new Set(CODE.bench.files);
  for (const f of ['src/bench/suite.ts', 'src/bench/tasks/steer.ts', 'src/engine/host/kernels.wat', 'src/engine/host/helper-thread.ts', 'src/organism/model-tokenizer.ts', 'src/report/bench-report.ts']) {
    assert.ok(bench.has(f), `bench code includes ${f}`);
  }
  const sae = new Set(CODE.sae.files);
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
function checkVersion(what: string, version: unknown, code: Code): void {
  assert.equal(typeof version, 'string', `${what}: code version recorded`);
  const v = version as string;
  assert.ok(!v.endsWith('-dirty'), `${what} was made from a dirty tree (${v})`);
  if (!history) return;
  assert.notEqual(git(['cat-file', '-e', `${v}^{commit}`]), null, `${what}: ${v} is not a commit of this repository`);
  const diff = git(['diff', '--stat', v, 'HEAD', '--', ...code.files]);
  assert.equal(diff, '', `${what} was made at ${v}; the code changed since:\n${diff}`);
  const compared: [string, (text: string) => string][] = [['package-lock.json', (t) => lockClosure(t, code.packages)], ['src/cli/main.ts', mainWithoutRegistrations]];
  for (const [file, view] of compared) {
    const then = git(['show', `${v}:${file}`]);
    assert.ok(then !== null, `${what}: ${file} missing at ${v}`);
    assert.ok(view(then) === view(read(file)), `${what} was made at ${v}; what ${file} gives the command at run time changed since`);
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

test('shipped transcoders: metrics.json and its README written at a clean commit with today\'s code, no machine paths', { skip: !history && 'no full git history here' }, () => {
  const file = 'models/organism/transcoders/metrics.json';
  const m = json(file) as { code_version: string; command: string };
  checkVersion(file, m.code_version, CODE.transcoders);
  assert.equal(m.command, 'probity transcoders eval models/organism/transcoders --out models/organism/transcoders/metrics.json --readme models/organism/transcoders/README.md');
  checkNoMachinePaths(file, read(file));
  const card = read('models/organism/transcoders/README.md');
  assert.ok(card.includes(`(code ${m.code_version})`), 'the README is generated from the shipped metrics.json');
  checkNoMachinePaths('models/organism/transcoders/README.md', card);
  for (const l of [0, 1, 2, 3]) checkNoMachinePaths(`transcoders/blocks.${l}/cfg.json`, read(`models/organism/transcoders/blocks.${l}/cfg.json`));
});
