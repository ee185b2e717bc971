// The architecture registry: an explicit table (no import side effects), refusing duplicate names. Unknown names are
// ProbityErrors that list the known ones.
import { ProbityError } from '../../errors.js';
import type { SaeArchitecture } from './types.js';
import { standard } from './standard.js';
import { topk } from './topk.js';
import { batchtopk } from './batchtopk.js';
import { jumprelu } from './jumprelu.js';
import { gated } from './gated.js';

const table = new Map<string, SaeArchitecture>();

/** Add an architecture; a name that is already registered is refused. */
export function registerArchitecture(arch: SaeArchitecture): void {
  if (table.has(arch.name)) throw new ProbityError('SAE_ARCHITECTURE_DUPLICATE', `SAE architecture "${arch.name}" is already registered`);
  table.set(arch.name, arch);
}

export function architectureNames(): string[] {
  return [...table.keys()];
}

export function hasArchitecture(name: string): boolean {
  return table.has(name);
}

/** The architecture called `name`; `where` prefixes the error (e.g. a file and field). */
export function getArchitecture(name: string, where?: string): SaeArchitecture {
  const a = table.get(name);
  if (!a) {
    const what = `unknown SAE architecture ${JSON.stringify(name)}; known architectures: ${architectureNames().join(', ')}`;
    throw new ProbityError('SAE_ARCHITECTURE_UNKNOWN', where ? `${where}: ${what}` : what);
  }
  return a;
}

for (const a of [standard, topk, batchtopk, jumprelu, gated]) registerArchitecture(a);
