// How files probity writes name other files: relative to the project root when inside it (so a results file, an SAE's
// cfg.json or a model card holds no machine's absolute paths), otherwise the path exactly as the user gave it. Code
// that reads files keeps whatever path it needs; only what is written goes through displayPath.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Root of the probity project (the folder holding package.json and models/). Same as PACKAGE_ROOT in models/load.ts. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The form of `p` to write into a file: relative to the project root (forward slashes, '.' for the root itself) when
 * `p` names something inside the project, otherwise `p` unchanged. A relative `p` is taken relative to the working
 * directory, and rebased onto the root only if it exists there (so a shipped model's name like 'organism' stays a
 * name). Never makes a path absolute.
 */
export function displayPath(p: string, root: string = PROJECT_ROOT): string {
  if (!p) return p;
  if (!path.isAbsolute(p) && !fs.existsSync(p)) return p;
  const rel = path.relative(root, path.resolve(p));
  if (rel === '') return '.';
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return p;
  return rel.split(path.sep).join('/');
}

/**
 * How a written file names a model: a model shipped with probity (PROJECT_ROOT/models/<name> with a config.json) by
 * its name, which `loadModel` accepts from any directory; anything else by displayPath.
 */
export function displayModel(source: string, root: string = PROJECT_ROOT): string {
  if (path.isAbsolute(source) || fs.existsSync(source)) {
    const abs = path.resolve(source);
    if (path.dirname(abs) === path.join(root, 'models') && fs.existsSync(path.join(abs, 'config.json'))) return path.basename(abs);
  }
  return displayPath(source, root);
}

/** `git describe --always --dirty` of the project's code, or null outside a git checkout. */
export function codeVersion(root: string = PROJECT_ROOT): string | null {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}
