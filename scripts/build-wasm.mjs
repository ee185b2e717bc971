#!/usr/bin/env node
// Assemble the WebAssembly text kernels (src/engine/host/*.wat) into dist/ beside the compiled JavaScript that loads
// them. Run by `npm run build` / `prepare` / `test` / `bench` after tsc. wabt (a devDependency) is the assembler.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'src/engine/host');
const outDir = path.join(root, 'dist/src/engine/host');
const wabt = await wabtInit();
fs.mkdirSync(outDir, { recursive: true });
for (const f of fs.readdirSync(srcDir).filter((n) => n.endsWith('.wat'))) {
  const features = { simd: true, bulk_memory: true, threads: true };
  const mod = wabt.parseWat(f, fs.readFileSync(path.join(srcDir, f), 'utf8'), features);
  mod.validate(features);
  const { buffer } = mod.toBinary({});
  fs.writeFileSync(path.join(outDir, f.replace(/\.wat$/, '.wasm')), buffer);
  mod.destroy();
}
