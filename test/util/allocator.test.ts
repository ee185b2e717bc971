// The relaunch that applies probity's allocator settings: the child sees them, the exit code passes through, and
// PROBITY_RELAUNCH=0 or settings the user chose already are respected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALLOCATOR_ENV, shouldRelaunch } from '../../src/util/allocator.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const moduleUrl = pathToFileURL(path.join(here, '../../src/util/allocator.js')).href;

/** A script that relaunches itself and, in the relaunched child, runs `childBody`; and the environment without the
 *  allocator settings (so the script does relaunch). */
function relaunchingScript(childBody: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-alloc-'));
  const file = path.join(dir, 'child.mjs');
  fs.writeFileSync(
    file,
    `import { relaunchWithAllocatorEnv } from ${JSON.stringify(moduleUrl)};
const r = relaunchWithAllocatorEnv();
if (r) process.exitCode = await r;
else { ${childBody} }
`,
  );
  const env = { ...process.env };
  for (const k of Object.keys(ALLOCATOR_ENV)) delete env[k];
  return { file, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function runScript(extraEnv: NodeJS.ProcessEnv) {
  const s = relaunchingScript('console.log(JSON.stringify({ mmap: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, pid: process.pid })); process.exitCode = 7;');
  const res = spawnSync(process.execPath, [s.file, '--some-arg'], { env: { ...s.env, ...extraEnv }, encoding: 'utf8' });
  s.cleanup();
  return res;
}

test('relaunch: the child runs with the allocator settings and its exit code passes through', { skip: process.platform !== 'linux' && 'glibc settings apply on Linux only' }, () => {
  const res = runScript({});
  assert.equal(res.status, 7, res.stderr);
  const out = JSON.parse(res.stdout.trim());
  assert.equal(out.mmap, ALLOCATOR_ENV.MALLOC_MMAP_THRESHOLD_);
  assert.notEqual(out.pid, res.pid, 'expected the printing process to be a relaunched child');
});

test('relaunch: PROBITY_RELAUNCH=0 and user-set values are respected', { skip: process.platform !== 'linux' && 'glibc settings apply on Linux only' }, () => {
  const off = runScript({ PROBITY_RELAUNCH: '0' });
  assert.equal(off.status, 7, off.stderr);
  assert.equal(JSON.parse(off.stdout.trim()).mmap, null);
  const mine = runScript({ MALLOC_MMAP_THRESHOLD_: '12345' });
  assert.equal(JSON.parse(mine.stdout.trim()).mmap, '12345');
  assert.equal(shouldRelaunch({ ...ALLOCATOR_ENV }), false);
  assert.equal(shouldRelaunch({ PROBITY_RELAUNCH: '0' }), false);
});

test('relaunch: a child whose parent is SIGKILLed dies too (it would otherwise keep writing into the run folder)', { skip: process.platform !== 'linux' && 'glibc settings apply on Linux only', timeout: 30_000 }, async () => {
  const s = relaunchingScript('console.log(process.pid); setInterval(() => {}, 1000);');
  const parent = spawn(process.execPath, [s.file], { env: s.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  assert.ok(childPid > 0 && childPid !== parent.pid, 'expected the relaunched child to print its pid');
  // Alive (and not a zombie) means /proc/<pid>/stat exists with a state other than Z.
  const alive = () => {
    try {
      return fs.readFileSync(`/proc/${childPid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
    } catch {
      return false;
    }
  };
  assert.ok(alive(), 'the child runs while its parent does');
  parent.kill('SIGKILL');
  const t0 = Date.now();
  while (alive() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
  const stillAlive = alive();
  if (stillAlive) process.kill(childPid, 'SIGKILL');
  s.cleanup();
  assert.equal(stillAlive, false, 'the orphaned child was still running 10 s after its parent was killed');
});
