// The package as a user gets it: `npm pack`, installed into an empty project with npm, and the README's library example
// compiled there by TypeScript against the installed type declarations (so the `exports` map and its `types` are
// checked) and run with node (so the packed files are enough: compiled code, WebAssembly kernels, the shipped
// organism and its SAEs). Nothing from this checkout is on the module path of the scratch project.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/util/paths.js';

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
const TSC = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');

test('npm pack -> npm install into a scratch project -> the README library example type-checks and runs', { timeout: 900_000 }, () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const m = /<!-- library-example -->\n```ts\n([\s\S]*?)```\n<!-- \/library-example -->/.exec(readme);
  assert.ok(m, 'README has the marked library example');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-pack-'));
  try {
    run(process.execPath, [TSC, '-p', 'tsconfig.types.json'], PROJECT_ROOT); // what `npm pack`'s prepack step runs
    const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], PROJECT_ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = new Set(packed[0].files.map((f) => f.path));
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/engine/host/kernels.wasm', 'bin/probity.js', 'models/organism/model.safetensors']) assert.ok(files.has(f), `the package holds ${f}`);
    assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('src/')), 'no tests or TypeScript sources in the package');
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tmp, packed[0].filename)], app);
    fs.writeFileSync(path.join(app, 'example.ts'), m[1]);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(PROJECT_ROOT, 'node_modules/@types')] },
      files: ['example.ts'],
    }));
    run(process.execPath, [TSC, '-p', '.'], app);
    const out = run(process.execPath, ['example.js'], app);
    // [1, T, 192] activations, k = 32 latents per position, last-position logits [1, 1, vocab], a method with fit().
    assert.match(out, /^\[ 1, \d+, 192 \] 32 \[ 1, 1, \d+ \] function\n$/, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
